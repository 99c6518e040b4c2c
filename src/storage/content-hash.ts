/**
 * sha256 of object bodies and the metadata key sluice keeps it under. Apart from the lake (and
 * its zod schemas) so that `sync` loads only what a sync needs.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** User-metadata key holding an object's sha256 (hex), written on every sluice upload. */
export const SHA256_META = 'sha256';

export async function sha256Stream(stream: AsyncIterable<Uint8Array | string>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}

export function sha256File(file: string): Promise<string> {
  return sha256Stream(createReadStream(file));
}
