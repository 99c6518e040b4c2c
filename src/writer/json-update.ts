/**
 * Read-modify-write of JSON outputs (appendToJsonArray, mergeJsonObjects). The stored file is
 * never changed unless the new document is complete: the write is an atomic put, and a file
 * that is corrupt or of the wrong shape is left byte for byte as it was.
 */
import { decryptStream } from '../crypto/age.ts';
import { DataWriteError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { parseJson } from '../util/json-parse.ts';
import { decodeUtf8, locateInvalidUtf8 } from '../util/utf8.ts';
import type {
  AppendJsonArrayOptions,
  CommonWriteOptions,
  MergeJsonOptions,
  WriterEncryption,
  WriterResult,
} from './types.ts';

/** A JSON output read back; `stored` is its bytes as stored (the ciphertext when encrypted). */
export type JsonDoc = { exists: false } | { exists: true; value: unknown; stored: Buffer };

/** Reads and parses a JSON output (decrypting `.age` files); DataWriteError if it cannot be used. */
export async function readJsonDoc(
  storage: Storage,
  key: string,
  encryption: WriterEncryption | undefined,
): Promise<JsonDoc> {
  if (!(await storage.exists(key))) return { exists: false };
  const stored: Buffer = await storage.get(key);
  let bytes = stored;
  if (key.endsWith('.age')) {
    if (!encryption || ((encryption.identities ?? []).length === 0 && encryption.passphrase === undefined)) {
      throw new DataWriteError(
        `${key} is encrypted and the writer has no identity or passphrase to read it back; pass encryption.identities`,
        { context: { path: key } },
      );
    }
    const parts: Buffer[] = [];
    const options = {
      identities: encryption.identities ?? [],
      label: key,
      ...(encryption.passphrase === undefined ? {} : { passphrase: encryption.passphrase }),
    };
    async function* once(): AsyncGenerator<Uint8Array> {
      yield bytes;
    }
    try {
      for await (const part of decryptStream(once(), options)) parts.push(part);
    } catch (error) {
      throw new DataWriteError(`cannot read ${key} back: ${(error as Error).message}`, {
        cause: error,
        context: { path: key },
      });
    }
    bytes = Buffer.concat(parts);
  }
  // Strict: a lenient decode would turn bad bytes into U+FFFD, and the rewrite would store that.
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    const at = locateInvalidUtf8(bytes, 1);
    throw new DataWriteError(
      `${key} is not valid UTF-8 (byte 0x${at.byte.toString(16).padStart(2, '0')} at line ${at.line}, column ${at.column}); it was left unchanged — fix or remove it`,
      { context: { path: key, line: at.line, column: at.column } },
    );
  }
  try {
    // parseJson, not JSON.parse: Node 24's JSON.parse can return wrong keys that contain escapes,
    // and a read-modify-write would then store the corruption.
    return { exists: true, value: parseJson(text), stored };
  } catch (error) {
    throw new DataWriteError(
      `${key} is not valid JSON (${(error as Error).message}); it was left unchanged — fix or remove it`,
      { cause: error, context: { path: key } },
    );
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Merges `update` into `base`; returns a new object. */
export function mergeObjects(
  base: Record<string, unknown>,
  update: Record<string, unknown>,
  options: { recursive: boolean; overwrite: boolean },
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(update)) {
    // Keys that would reach the prototype are data here, never structure.
    if (k === '__proto__') {
      Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      continue;
    }
    const current = out[k];
    if (!(k in out)) out[k] = v;
    else if (options.recursive && isPlainObject(current) && isPlainObject(v))
      out[k] = mergeObjects(current, v, options);
    else if (options.overwrite) out[k] = v;
  }
  return out;
}

export function requireArray(doc: JsonDoc, key: string): unknown[] | undefined {
  if (!doc.exists) return undefined;
  if (!Array.isArray(doc.value)) {
    throw new DataWriteError(
      `${key} holds a JSON ${doc.value === null ? 'null' : typeof doc.value}, not an array; it was left unchanged`,
      { context: { path: key } },
    );
  }
  return doc.value;
}

export function requireObject(doc: JsonDoc, key: string): Record<string, unknown> | undefined {
  if (!doc.exists) return undefined;
  if (!isPlainObject(doc.value)) {
    throw new DataWriteError(
      `${key} holds JSON ${Array.isArray(doc.value) ? 'array' : doc.value === null ? 'null' : typeof doc.value}, not an object; it was left unchanged`,
      { context: { path: key } },
    );
  }
  return doc.value;
}

/** What the JSON read-modify-writes need from the writer. */
export interface JsonContext {
  storage: Storage;
  putJson(
    key: string,
    data: unknown,
    pretty: boolean,
    encryption: WriterEncryption | undefined,
    options: CommonWriteOptions,
    rows?: number,
    /** The stored bytes of the version read, which the new one is made from (lineage). */
    read?: Buffer,
  ): Promise<WriterResult>;
}

function missing(key: string): never {
  throw new DataWriteError(`${key} does not exist and createIfMissing is false`, { context: { path: key } });
}

/** appendToJsonArray's body; the caller holds the lock. */
export async function appendItem(
  ctx: JsonContext,
  key: string,
  item: unknown,
  options: AppendJsonArrayOptions,
  encryption: WriterEncryption | undefined,
): Promise<WriterResult> {
  const doc = await readJsonDoc(ctx.storage, key, encryption);
  const existing = requireArray(doc, key);
  if (!existing && options.createIfMissing === false) missing(key);
  const array = [...(existing ?? []), item];
  return ctx.putJson(key, array, options.pretty ?? true, encryption, options, array.length, storedOf(doc));
}

/** mergeJsonObjects' body; the caller holds the lock. */
export async function mergeInto(
  ctx: JsonContext,
  key: string,
  data: Record<string, unknown>,
  options: MergeJsonOptions,
  encryption: WriterEncryption | undefined,
): Promise<WriterResult> {
  const doc = await readJsonDoc(ctx.storage, key, encryption);
  const existing = requireObject(doc, key);
  if (!existing && options.createIfMissing === false) missing(key);
  const merged = mergeObjects(existing ?? {}, data, {
    recursive: options.recursiveMerge ?? true,
    overwrite: options.overwriteExisting ?? true,
  });
  return ctx.putJson(key, merged, options.pretty ?? true, encryption, options, undefined, storedOf(doc));
}

const storedOf = (doc: JsonDoc): Buffer | undefined => (doc.exists ? doc.stored : undefined);
