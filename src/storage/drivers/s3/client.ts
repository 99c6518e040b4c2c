/**
 * The AWS SDK, loaded on first use (users of local storage never load it), and its clients: one
 * per endpoint/region/credentials within a process, as the SDK recommends, built once and cached.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigurationError } from '../../../errors.ts';
import { maskSecretsInString } from '../../../secrets/mask.ts';
import { installFastListing } from './fast-list.ts';
import type { S3StorageOptions } from './options.ts';

export type SdkModule = typeof import('@aws-sdk/client-s3');
const require = createRequire(import.meta.url);

/** One client per endpoint/region/credentials within a process, as the SDK recommends. */
const clients = new Map<string, Promise<{ sdk: SdkModule; client: S3Client }>>();

/**
 * Keys in the environment, as the SDK's default chain would read them first (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) unless AWS_PROFILE names a profile, which the chain
 * prefers. Handing them over directly spares the chain, whose providers load lazily on the
 * first request of every process; without them, the chain runs (profiles, SSO, instance roles).
 */
function credentialsFromEnv(): S3StorageOptions['credentials'] {
  // The chain prefers a named profile to keys in the environment; so do we.
  if (process.env.AWS_PROFILE) return undefined;
  const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = process.env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** The custom endpoint: the option, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL (empty = unset). */
export function endpointOf(options: S3StorageOptions): string | undefined {
  return options.endpoint ?? (process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined);
}

/** Throws ConfigurationError, naming where it came from, when the endpoint is not a URL. */
function assertEndpointUrl(options: S3StorageOptions, endpoint: string | undefined): void {
  if (endpoint === undefined || URL.canParse(endpoint)) return;
  const from =
    options.endpoint !== undefined
      ? 'the endpoint option'
      : process.env.AWS_ENDPOINT_URL_S3
        ? 'AWS_ENDPOINT_URL_S3'
        : 'AWS_ENDPOINT_URL';
  throw new ConfigurationError(
    `S3 endpoint ${JSON.stringify(maskSecretsInString(endpoint))} (from ${from}) is not a URL; expected e.g. http://127.0.0.1:9000`,
    {
      context: { source: from },
    },
  );
}

/** What a client is made of; storages whose settings are equal share one client. */
interface ClientSettings {
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  credentials: S3StorageOptions['credentials'];
  maxAttempts: number | undefined;
}

/**
 * The SDK and the cached client for these options; the first call per client loads the SDK.
 * Reads the environment on every call; throws (synchronously) on an endpoint that is not a URL.
 */
export function clientFor(options: S3StorageOptions): Promise<{ sdk: SdkModule; client: S3Client }> {
  const endpoint = endpointOf(options);
  const region = options.region ?? (process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1');
  assertEndpointUrl(options, endpoint);
  const settings: ClientSettings = {
    endpoint,
    region,
    forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
    credentials: options.credentials ?? credentialsFromEnv(),
    maxAttempts: options.maxAttempts,
  };
  const cacheKey = cacheKeyOf(settings);
  let entry = clients.get(cacheKey);
  if (!entry) {
    entry = createClient(settings);
    clients.set(cacheKey, entry);
  }
  return entry;
}

function cacheKeyOf({ endpoint, region, forcePathStyle, credentials, maxAttempts }: ClientSettings): string {
  return JSON.stringify([
    endpoint,
    region,
    forcePathStyle,
    credentials?.accessKeyId,
    // Two storages with the same key id but other secrets must not share a client; the secret
    // itself is only kept hashed.
    credentials
      ? createHash('sha256')
          .update(`${credentials.secretAccessKey}\0${credentials.sessionToken ?? ''}`)
          .digest('hex')
      : undefined,
    maxAttempts,
  ]);
}

/**
 * Loads the SDK (a no-op after the first client) and makes a client. It runs at once when
 * called; being async, it turns a failure into the cached promise's rejection.
 */
async function createClient(settings: ClientSettings): Promise<{ sdk: SdkModule; client: S3Client }> {
  const { endpoint, region, forcePathStyle, credentials, maxAttempts } = settings;
  // require(), not import(): the SDK is CommonJS, and import() first scans its 1 MB entry
  // file for export names, ~10 % of the SDK's load time.
  const sdk = require('@aws-sdk/client-s3') as SdkModule;
  const client = new sdk.S3Client({
    region,
    forcePathStyle,
    maxAttempts: maxAttempts ?? 5,
    retryMode: 'standard',
    ...(endpoint ? { endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    // Custom endpoints often store aws-chunked trailing checksums literally (ENVIRONMENT.md):
    // only send checksums where the API requires them.
    ...(endpoint
      ? { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
  });
  // The SDK's logger middleware runs a schema-driven copy of every response (1,000 objects
  // per listing page) to hand to a logger that, by default, drops it: ~10 % of a no-op sync's
  // CPU. sluice logs its own operations, so the middleware goes.
  client.middlewareStack.remove('loggerMiddleware');
  // Listing pages are read by a fast reader of their plain XML shape (list-xml.ts).
  installFastListing(client);
  return { sdk, client };
}

/** Destroys cached clients (tests, and processes that are about to exit). */
export async function closeS3Clients(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  for (const entry of all) (await entry).client.destroy();
}
