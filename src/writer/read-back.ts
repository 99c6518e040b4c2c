/** Reading outputs back, decrypting `.age` files: the writer can always open what it wrote. */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { decryptStream } from '../crypto/age.ts';
import { ValidationError } from '../errors.ts';
import { formatFromKey, getFormat } from '../formats/registry.ts';
import type { Row } from '../formats/types.ts';
import type { Storage } from '../storage/types.ts';
import type { WriterEncryption } from './types.ts';

function decryptionFor(key: string, encryption: WriterEncryption | undefined) {
  if (!encryption || ((encryption.identities ?? []).length === 0 && encryption.passphrase === undefined)) {
    throw new ValidationError(
      `${key} is encrypted: pass encryption.identities (or the passphrase) to read it`,
    );
  }
  return {
    identities: encryption.identities ?? [],
    label: key,
    ...(encryption.passphrase === undefined ? {} : { passphrase: encryption.passphrase }),
  };
}

/** The plaintext bytes of one output, as a stream. */
export async function openOutput(
  storage: Storage,
  key: string,
  encryption?: WriterEncryption,
): Promise<AsyncIterable<Uint8Array>> {
  const stream = (await storage.getStream(key)) as AsyncIterable<Uint8Array>;
  return key.endsWith('.age') ? decryptStream(stream, decryptionFor(key, encryption)) : stream;
}

export async function readOutputBytes(
  storage: Storage,
  key: string,
  encryption?: WriterEncryption,
): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of await openOutput(storage, key, encryption)) parts.push(part);
  return Buffer.concat(parts);
}

/** Rows of an output file by its extension: `.csv`, `.parquet`, `.json`, `.jsonl`, then optionally `.gz`, `.age`. */
export async function* readOutputRows(
  storage: Storage,
  key: string,
  encryption?: WriterEncryption,
): AsyncIterable<Row> {
  const unsealed = key.replace(/\.age$/, '');
  const gzipped = unsealed.endsWith('.gz');
  const format = formatFromKey(gzipped ? unsealed.slice(0, -3) : unsealed);
  if (!format) throw new ValidationError(`cannot tell the format of ${key} from its extension`);
  let bytes = await openOutput(storage, key, encryption);
  if (gzipped) {
    const gunzip = createGunzip();
    pipeline(Readable.from(bytes, { objectMode: false }), gunzip).catch((error: unknown) =>
      gunzip.destroy(error as Error),
    );
    bytes = gunzip;
  }
  yield* getFormat(format).reader.decode(bytes, { source: key } as object);
}
