/**
 * The storage options a config implies (custom endpoint, region, static keys), shared by the
 * pipeline and sync so that neither reaches into the other for them.
 */
import type { OpenStorageOptions } from '../storage/open.ts';
import type { Config } from './config.ts';

/** Storage options derived from the config: custom endpoint, region, static keys. */
export function storageOptionsFrom(config: Config): OpenStorageOptions {
  const d = config.data;
  return {
    s3: {
      region: d.awsRegion,
      ...(d.s3Endpoint ? { endpoint: d.s3Endpoint } : {}),
      ...(d.awsAccessKeyId && d.awsSecretAccessKey
        ? {
            credentials: {
              accessKeyId: d.awsAccessKeyId,
              secretAccessKey: d.awsSecretAccessKey,
              // Temporary (STS) keys only work with their session token.
              ...(d.awsSessionToken ? { sessionToken: d.awsSessionToken } : {}),
            },
          }
        : {}),
    },
  };
}
