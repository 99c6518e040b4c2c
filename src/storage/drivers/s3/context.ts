/**
 * What every S3 operation shares, made explicit: the options, the bucket, the key prefix the
 * storage is rooted at and the endpoint errors name; with the key mapping, and `runS3`, which
 * gets the lazily loaded SDK and client (client.ts) and turns whatever fails into a sluice error.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SluiceError } from '../../../errors.ts';
import { assertValidKey, assertValidPrefix } from '../../keys.ts';
import { clientFor, endpointOf, type SdkModule } from './client.ts';
import { mapS3Error } from './errors.ts';
import { MiB, type S3StorageOptions } from './options.ts';

export interface S3Context {
  readonly options: S3StorageOptions;
  readonly bucket: string;
  /** Key prefix inside the bucket: '' or ending in '/'. Every full key starts with it. */
  readonly base: string;
  /** Bodies at least this large are sent as multipart uploads. */
  readonly threshold: number;
  /** The custom endpoint as it was at creation, named in messages about the network. */
  readonly endpoint: string | undefined;
}

/** Throws on an invalid prefix; touches neither the SDK nor the network. */
export function createS3Context(options: S3StorageOptions): S3Context {
  const base = options.prefix ? options.prefix.replace(/^\/+/, '').replace(/\/?$/, '/') : '';
  if (base) assertValidPrefix(base);
  return {
    options,
    bucket: options.bucket,
    base,
    threshold: options.multipartThreshold ?? 16 * MiB,
    endpoint: endpointOf(options),
  };
}

/** The key in the bucket (base included); throws on an invalid key. */
export function fullKey(ctx: S3Context, key: string): string {
  return ctx.base + assertValidKey(key);
}

/** The object's s3:// URL, for messages; `key` is the storage's key (base not included). */
export function where(ctx: S3Context, key: string): string {
  return `s3://${ctx.bucket}/${ctx.base}${key}`;
}

/** `key` is the full key (base included). */
export function failS3(ctx: S3Context, error: unknown, key: string, action: string): SluiceError {
  return mapS3Error(error, ctx.bucket, key, action, ctx.endpoint);
}

/**
 * Runs `fn` with the SDK and client; its failures come out as sluice errors about the full
 * `key`. A client that cannot be made (a bad endpoint) throws as it is.
 */
export async function runS3<T>(
  ctx: S3Context,
  key: string,
  action: string,
  fn: (sdk: SdkModule, client: S3Client) => Promise<T>,
): Promise<T> {
  const { sdk, client } = await clientFor(ctx.options);
  try {
    return await fn(sdk, client);
  } catch (error) {
    throw failS3(ctx, error, key, action);
  }
}
