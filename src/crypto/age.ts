/**
 * age-format encryption (age-encryption.org/v1) with streaming and bounded memory.
 *
 * The header — recipient stanzas, file-key wrapping, the header MAC, parsing and verification —
 * is age-encryption's (with native scrypt plugged in through its Recipient/Identity
 * interfaces); the payload runs on node:crypto (stream.ts). Files decrypt with `age -d` and
 * files from the age CLI decrypt here.
 */
import { randomBytes } from 'node:crypto';
import { armor, Decrypter, Encrypter, type Recipient, type Stanza } from 'age-encryption';
import { EncryptionError, SluiceError, ValidationError } from '../errors.ts';
import { NodeScryptIdentity, NodeScryptRecipient } from './scrypt.ts';
import {
  decryptPayloadParts,
  encryptPayloadParts,
  PAYLOAD_NONCE_SIZE,
  payloadKey,
  TAG_SIZE,
} from './stream.ts';

export interface EncryptOptions {
  /** Public keys to encrypt to (`age1…`); any one identity among them can decrypt. @default [] */
  recipients?: readonly string[];
  /** Passphrase (scrypt). age allows a passphrase only on its own, never with recipients. */
  passphrase?: string;
  /** log2 of the scrypt work factor for passphrase files (10–22). @default 18 */
  scryptWorkFactor?: number;
}

export interface DecryptOptions {
  /** Secret keys (`AGE-SECRET-KEY-1…`), tried in turn. @default [] */
  identities?: readonly string[];
  /** Passphrase for scrypt-encrypted files. */
  passphrase?: string;
  /** Highest scrypt work factor accepted from a file. @default 22 */
  maxScryptWorkFactor?: number;
  /** Name of the input in error messages (a path or key). @default 'the age file' */
  label?: string;
}

const MAGIC = Buffer.from('age-encryption.org/v1\n');
const ARMOR_MAGIC = Buffer.from('-----BEGIN AGE ENCRYPTED FILE-----');
/** A header larger than this is not an age header we will parse (bounds memory on garbage input). */
const MAX_HEADER_BYTES = 1024 * 1024;
/** Armored files are decoded whole; keep that bounded. */
const MAX_ARMORED_BYTES = 64 * 1024 * 1024;

/** True when the bytes start like a binary or armored age file. */
export function isAgeEncrypted(head: Uint8Array): boolean {
  const buf = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  return (
    buf.subarray(0, MAGIC.length).equals(MAGIC) || buf.subarray(0, ARMOR_MAGIC.length).equals(ARMOR_MAGIC)
  );
}

/** Checks options before any work; messages name the option, never a secret value. */
export function validateEncryptOptions(options: EncryptOptions): void {
  const recipients = options.recipients ?? [];
  if (recipients.length === 0 && options.passphrase === undefined) {
    throw new ValidationError('encryption needs `recipients` (age1… public keys) or a `passphrase`');
  }
  if (recipients.length > 0 && options.passphrase !== undefined) {
    throw new ValidationError(
      'encryption takes `recipients` or a `passphrase`, not both: age files with a passphrase have no other recipients',
    );
  }
  if (options.passphrase !== undefined && options.passphrase.length === 0) {
    throw new ValidationError('`passphrase` is empty');
  }
  const logN = options.scryptWorkFactor;
  if (logN !== undefined && (!Number.isInteger(logN) || logN < 10 || logN > 22)) {
    throw new ValidationError(`\`scryptWorkFactor\` must be an integer from 10 to 22, got ${logN}`);
  }
  for (const [i, r] of recipients.entries()) {
    if (typeof r !== 'string' || !/^age1[02-9ac-hj-np-z]+$/.test(r)) {
      throw new ValidationError(
        `\`recipients[${i}]\` is not an age public key (age1…): ${String(r).slice(0, 80)}`,
      );
    }
  }
}

/** Builds a header for a fresh random file key; returns it with the key for the payload. */
export async function createHeader(options: EncryptOptions): Promise<{ header: Buffer; fileKey: Buffer }> {
  validateEncryptOptions(options);
  const encrypter = new Encrypter();
  let fileKey: Buffer | undefined;
  // age-encryption draws the file key itself; a stanza-less recipient lets us see it.
  const capture: Recipient = {
    wrapFileKey(key: Uint8Array): Stanza[] {
      fileKey = Buffer.from(key);
      return [];
    },
  };
  try {
    encrypter.addRecipient(capture);
    if (options.passphrase !== undefined) {
      encrypter.addRecipient(new NodeScryptRecipient(options.passphrase, options.scryptWorkFactor));
    }
    for (const [i, r] of (options.recipients ?? []).entries()) {
      try {
        encrypter.addRecipient(r);
      } catch {
        throw new ValidationError(
          `\`recipients[${i}]\` is not a valid age public key (bad checksum or length): ${r}`,
        );
      }
    }
    // Encrypting nothing yields header || nonce || one empty sealed chunk; we keep the header and
    // draw our own payload nonce (the nonce is not covered by the header MAC).
    const sealed = await encrypter.encrypt(new Uint8Array(0));
    if (fileKey === undefined) throw new Error('file key not captured');
    const header = Buffer.from(sealed.subarray(0, sealed.length - PAYLOAD_NONCE_SIZE - TAG_SIZE));
    return { header, fileKey };
  } catch (error) {
    if (error instanceof SluiceError) throw error;
    // No cause: library messages may quote the key material they failed on.
    throw new EncryptionError(`cannot build the age header: ${safeMessage(error)}`);
  }
}

/** Encrypts a byte stream to an age file stream (header, nonce, sealed 64 KiB chunks). */
export async function* encryptStream(
  source: AsyncIterable<Uint8Array>,
  options: EncryptOptions,
): AsyncGenerator<Buffer> {
  for await (const parts of encryptStreamParts(source, options)) yield Buffer.concat(parts);
}

/** encryptStream as batches of buffers (header and nonce first), for vectored writes. */
export async function* encryptStreamParts(
  source: AsyncIterable<Uint8Array>,
  options: EncryptOptions,
): AsyncGenerator<Buffer[]> {
  const { header, fileKey } = await createHeader(options);
  const nonce = randomBytes(PAYLOAD_NONCE_SIZE);
  yield [header, nonce];
  yield* encryptPayloadParts(source, payloadKey(fileKey, nonce));
}

/** Decrypts an age file stream (binary or armored). Bytes are released only once authenticated. */
export async function* decryptStream(
  source: AsyncIterable<Uint8Array>,
  options: DecryptOptions,
): AsyncGenerator<Buffer> {
  for await (const parts of decryptStreamParts(source, options)) {
    yield parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

/** decryptStream as batches of authenticated plaintext buffers, for vectored writes. */
export async function* decryptStreamParts(
  source: AsyncIterable<Uint8Array>,
  options: DecryptOptions,
): AsyncGenerator<Buffer[]> {
  const label = options.label ?? 'the age file';
  const decrypter = buildDecrypter(options);
  const iterator = source[Symbol.asyncIterator]();
  let buffered = Buffer.alloc(0);
  let done = false;
  const pull = async (): Promise<boolean> => {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      return false;
    }
    buffered = buffered.length === 0 ? Buffer.from(next.value) : Buffer.concat([buffered, next.value]);
    return true;
  };
  try {
    while (buffered.length < ARMOR_MAGIC.length && (await pull()));
    if (buffered.subarray(0, ARMOR_MAGIC.length).equals(ARMOR_MAGIC)) {
      while (!done && buffered.length <= MAX_ARMORED_BYTES) await pull();
      if (!done)
        throw new EncryptionError(`${label} is armored and larger than 64 MiB; decrypt it with the age CLI`);
      buffered = Buffer.from(decodeArmor(buffered, label));
    } else if (!startsWithMagic(buffered)) {
      throw new EncryptionError(
        `${label} is not an age file (it does not start with "age-encryption.org/v1")`,
      );
    }
    let headerEnd = findHeaderEnd(buffered);
    while (headerEnd < 0 && !done && buffered.length <= MAX_HEADER_BYTES) {
      await pull();
      headerEnd = findHeaderEnd(buffered);
    }
    if (headerEnd < 0)
      throw new EncryptionError(`${label} has no complete age header: it is truncated or not an age file`);
    const fileKey = await unwrap(decrypter, buffered.subarray(0, headerEnd), label);
    buffered = buffered.subarray(headerEnd);
    while (buffered.length < PAYLOAD_NONCE_SIZE && (await pull()));
    if (buffered.length < PAYLOAD_NONCE_SIZE) {
      throw new EncryptionError(`${label} is truncated: the payload nonce is missing`);
    }
    const key = payloadKey(fileKey, buffered.subarray(0, PAYLOAD_NONCE_SIZE));
    const rest = buffered.subarray(PAYLOAD_NONCE_SIZE);
    const remaining = async function* (): AsyncGenerator<Uint8Array> {
      if (rest.length > 0) yield rest;
      if (done) return;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
    };
    yield* decryptPayloadParts(remaining(), key, label);
  } finally {
    await iterator.return?.();
  }
}

/** Encrypts bytes in memory. */
export async function encryptBuffer(data: Uint8Array | string, options: EncryptOptions): Promise<Buffer> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return collect(encryptStream(single(bytes), options));
}

/** Decrypts bytes in memory. */
export async function decryptBuffer(data: Uint8Array, options: DecryptOptions): Promise<Buffer> {
  return collect(decryptStream(single(data), options));
}

async function* single(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}

function buildDecrypter(options: DecryptOptions): Decrypter {
  const identities = options.identities ?? [];
  if (identities.length === 0 && options.passphrase === undefined) {
    throw new ValidationError('decryption needs `identities` (AGE-SECRET-KEY-1… keys) or a `passphrase`');
  }
  const decrypter = new Decrypter();
  for (const [i, identity] of identities.entries()) {
    try {
      decrypter.addIdentity(identity);
    } catch {
      throw new ValidationError(`\`identities[${i}]\` is not a valid age secret key (AGE-SECRET-KEY-1…)`);
    }
  }
  if (options.passphrase !== undefined) {
    decrypter.addIdentity(new NodeScryptIdentity(options.passphrase, options.maxScryptWorkFactor));
  }
  return decrypter;
}

function startsWithMagic(buf: Buffer): boolean {
  const n = Math.min(buf.length, MAGIC.length);
  return n > 0 && buf.subarray(0, n).equals(MAGIC.subarray(0, n));
}

/** Offset just past the `--- MAC` line, or -1. Stanza lines start with `->` or base64, never `---`. */
function findHeaderEnd(buf: Buffer): number {
  const mark = buf.indexOf('\n--- ');
  if (mark < 0) return -1;
  const eol = buf.indexOf(0x0a, mark + 1);
  return eol < 0 ? -1 : eol + 1;
}

async function unwrap(decrypter: Decrypter, header: Buffer, label: string): Promise<Buffer> {
  try {
    return Buffer.from(await decrypter.decryptHeader(header));
  } catch (error) {
    if (error instanceof SluiceError) throw error;
    const message = safeMessage(error);
    if (message.includes('no identity matched')) {
      throw new EncryptionError(
        `cannot decrypt ${label}: none of the given identities or passphrases opens it (wrong key or passphrase)`,
      );
    }
    if (message.includes('HMAC')) {
      throw new EncryptionError(
        `cannot decrypt ${label}: its header MAC is invalid (the header was tampered with)`,
      );
    }
    throw new EncryptionError(`cannot decrypt ${label}: invalid age header (${message})`);
  }
}

function decodeArmor(buf: Buffer, label: string): Uint8Array {
  try {
    return armor.decode(buf.toString('latin1'));
  } catch (error) {
    throw new EncryptionError(`${label} has invalid age armor: ${safeMessage(error)}`);
  }
}

/** Library messages, cut short and stripped of anything that looks like key material. */
function safeMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/AGE-SECRET-KEY-[0-9A-Z-]+/gi, '[secret key]').slice(0, 200);
}
