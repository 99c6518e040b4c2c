/** Reading outputs back, decrypting `.age` files: the writer can always open what it wrote. */
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

/** Rows of an output file, by its extension (`.csv`, `.parquet`, `.json`, `.jsonl`, each optionally `.age`). */
export async function* readOutputRows(
  storage: Storage,
  key: string,
  encryption?: WriterEncryption,
): AsyncIterable<Row> {
  const plainKey = key.replace(/\.age$/, '');
  const format = formatFromKey(plainKey);
  if (!format) throw new ValidationError(`cannot tell the format of ${key} from its extension`);
  yield* getFormat(format).reader.decode(await openOutput(storage, key, encryption), {
    source: key,
  } as object);
}
