/** Putting one output file: naming, optional age encryption, hashing and size on the way. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { encryptStream } from '../crypto/age.ts';
import { ValidationError } from '../errors.ts';
import type { LineageInput } from '../lineage/index.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import { assertValidKey, joinKey } from '../storage/keys.ts';
import type { Storage } from '../storage/types.ts';
import { fileStamp } from '../util/timestamps.ts';
import type { WriterCall } from './lineage.ts';
import type { WriterEncryption, WrittenFile } from './types.ts';

export { fileStamp };

/** Checks a base name: one path segment, no traversal, no separators, no NUL. */
export function assertValidName(name: string): void {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new ValidationError(
      `output name ${JSON.stringify(name)} is not a plain file name (no '/', '\\', NUL, '.' or '..')`,
      { context: { name } },
    );
  }
}

export interface OutputKeyOptions {
  subdir?: string;
  timestampInName?: boolean;
  encrypted: boolean;
  now?: Date;
}

/** `subdir/name[_stamp].ext[.age]`, validated like any storage key. */
export function outputKey(name: string, extension: string, options: OutputKeyOptions): string {
  assertValidName(name);
  const stamped = options.timestampInName ? `${name}_${fileStamp(options.now)}` : name;
  const file = `${stamped}${extension ? `.${extension}` : ''}${options.encrypted ? '.age' : ''}`;
  const key = options.subdir ? joinKey(options.subdir, file) : file;
  assertValidKey(key);
  return key;
}

export interface PutOutputOptions {
  encryption?: WriterEncryption | undefined;
  overwrite: boolean;
  contentType?: string;
  signal?: AbortSignal;
  /** Plaintext bytes passed so far. */
  onBytes?: (bytes: number) => void;
}

/** Streams `body` (encrypted when asked) into `storage` at `key`, atomically. */
export async function putOutput(
  storage: Storage,
  key: string,
  body: AsyncIterable<Uint8Array>,
  options: PutOutputOptions,
): Promise<WrittenFile> {
  const hash = createHash('sha256');
  let size = 0;
  let plain = 0;
  const counted = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of coalesce(body)) {
      options.signal?.throwIfAborted();
      plain += chunk.byteLength;
      options.onBytes?.(plain);
      yield chunk;
    }
  };
  const stored = options.encryption ? encryptStream(counted(), options.encryption) : counted();
  const tap = async function* (): AsyncGenerator<Uint8Array> {
    for await (const chunk of stored) {
      hash.update(chunk);
      size += chunk.byteLength;
      yield chunk;
    }
  };
  await storage.put(key, Readable.from(tap(), { objectMode: false }), {
    ...(options.contentType && !options.encryption ? { contentType: options.contentType } : {}),
    // The table's type, which a `.age` name implies: no metadata file for it on local disk.
    ...(options.encryption ? { contentType: CONTENT_TYPES.age } : {}),
    ...(options.overwrite ? {} : { ifNotExists: true }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return { path: key, sizeBytes: size, sha256: hash.digest('hex') };
}

/** `putOutput` under a writer call's lineage records: intent before, commit (with `rows`) after. */
export function putRecorded(
  call: WriterCall,
  storage: Storage,
  key: string,
  body: AsyncIterable<Uint8Array>,
  options: PutOutputOptions,
  facts: { rows?: number | undefined; read?: readonly LineageInput[] } = {},
): Promise<WrittenFile> {
  const write = async () => {
    const file = await putOutput(storage, key, body, options);
    return facts.rows === undefined ? file : { ...file, rows: facts.rows };
  };
  return call.put(key, write, facts.read);
}

/**
 * Joins small chunks (csv-stringify emits one per record) into pieces of about `size` bytes, so
 * hashing, encryption and the storage write see a few large buffers instead of one per row.
 */
export async function* coalesce(
  source: AsyncIterable<Uint8Array>,
  size = 256 * 1024,
): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of source) {
    if (chunk.byteLength >= size && length === 0) {
      yield chunk;
      continue;
    }
    parts.push(chunk);
    length += chunk.byteLength;
    if (length >= size) {
      yield Buffer.concat(parts, length);
      parts = [];
      length = 0;
    }
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

export async function* bytesOf(data: Uint8Array | string): AsyncGenerator<Uint8Array> {
  yield typeof data === 'string' ? Buffer.from(data) : data;
}
