/**
 * Whether an S3 endpoint honours conditional writes (`If-None-Match: *` and `If-Match` on
 * PutObject). AWS S3 does; s3rver, and some S3-compatible servers, accept the headers and
 * overwrite anyway, so nothing may rely on them untested. The probe writes one small object under
 * the storage's prefix (`_sluice/cas-probe-<random>`, sluice's reserved folder) four times —
 * create-if-absent (must succeed), create-if-absent again (must be refused), If-Match with a wrong
 * ETag (must be refused), If-Match with its ETag (must succeed) — then deletes it. The verdict is
 * kept per endpoint and bucket for the life of the process; a probe that fails (network, access)
 * throws and is tried again next time.
 */
import { randomBytes } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SdkModule } from './client.ts';
import { runS3, type S3Context } from './context.ts';

const verdicts = new Map<string, boolean>();
const running = new Map<string, Promise<boolean>>();

function cacheKey(ctx: S3Context): string {
  return JSON.stringify([ctx.endpoint ?? 'aws', ctx.bucket]);
}

/** The verdict already found for this endpoint and bucket, if a probe has run. */
export function probedConditionalWrites(ctx: S3Context): boolean | undefined {
  return verdicts.get(cacheKey(ctx));
}

/** Probes once per endpoint and bucket (concurrent callers share the probe). */
export function probeConditionalWrites(ctx: S3Context): Promise<boolean> {
  const key = cacheKey(ctx);
  const known = verdicts.get(key);
  if (known !== undefined) return Promise.resolve(known);
  let probe = running.get(key);
  if (!probe) {
    probe = runProbe(ctx)
      .then((verdict) => {
        verdicts.set(key, verdict);
        return verdict;
      })
      .finally(() => running.delete(key));
    running.set(key, probe);
  }
  return probe;
}

type Answer = 'written' | 'refused' | 'unsupported';

async function runProbe(ctx: S3Context): Promise<boolean> {
  const key = `${ctx.base}_sluice/cas-probe-${randomBytes(8).toString('hex')}`;
  return runS3(ctx, key, 'probe conditional writes with', async (sdk, client) => {
    const put = (condition: { IfNoneMatch?: string; IfMatch?: string }) =>
      attempt(sdk, client, {
        Bucket: ctx.bucket,
        Key: key,
        Body: 'sluice conditional-write probe',
        ...condition,
      });
    try {
      const first = await put({ IfNoneMatch: '*' });
      if (first.answer !== 'written') return false;
      if ((await put({ IfNoneMatch: '*' })).answer !== 'refused') return false;
      if ((await put({ IfMatch: '"00000000000000000000000000000000"' })).answer !== 'refused') return false;
      // A server that refuses its own current ETag would make every compare-and-swap fail.
      return (await put({ IfMatch: first.etag ?? '"?"' })).answer === 'written';
    } finally {
      await client.send(new sdk.DeleteObjectCommand({ Bucket: ctx.bucket, Key: key })).catch(() => {});
    }
  });
}

/**
 * One PutObject: written, refused by its condition (412, or 409 ConditionalRequestConflict), or
 * refused because the server does not implement the header (501, 400 NotImplemented). Anything
 * else throws.
 */
async function attempt(
  sdk: SdkModule,
  client: S3Client,
  input: { Bucket: string; Key: string; Body: string; IfNoneMatch?: string; IfMatch?: string },
): Promise<{ answer: Answer; etag?: string | undefined }> {
  try {
    const out = await client.send(new sdk.PutObjectCommand(input));
    return { answer: 'written', etag: out.ETag };
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    if (status === 412 || (status === 409 && e.name === 'ConditionalRequestConflict'))
      return { answer: 'refused' };
    if (status === 501 || e.name === 'NotImplemented') return { answer: 'unsupported' };
    throw error;
  }
}
