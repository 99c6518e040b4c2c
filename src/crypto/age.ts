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
const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const ARMOR_END = '-----END AGE ENCRYPTED FILE-----';
/**
 * Whitespace as age (Go's bytes.TrimSpace, unicode.IsSpace) counts it. age ≥ 1.3 accepts up to
 * 1024 bytes of blank lines before an armored file and less than 1024 bytes of whitespace after
 * it (the spec allows "whitespace before and after the PEM block"); anything else around the
 * block, even spaces on the BEGIN line itself, it refuses, and so does sluice.
 */
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LEADING_SPACE = new RegExp(`^[${GO_SPACE}]*`, 'u');
const BLANK = new RegExp(`^[${GO_SPACE}]*$`, 'u');
const ARMOR_WHITESPACE_BYTES = 1024;
/** How far age looks for the BEGIN line: past at most 1024 bytes of whitespace. */
const ARMOR_PEEK_BYTES = ARMOR_WHITESPACE_BYTES + ARMOR_BEGIN.length;
/** A header larger than this is not an age header we will parse (bounds memory on garbage input). */
const MAX_HEADER_BYTES = 1024 * 1024;
/** Armored files are decoded whole; keep that bounded. */
const MAX_ARMORED_BYTES = 64 * 1024 * 1024;

/** True when the bytes start like a binary or armored age file (armor may follow whitespace). */
export function isAgeEncrypted(head: Uint8Array): boolean {
  const buf = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  return buf.subarray(0, MAGIC.length).equals(MAGIC) || sniffArmor(buf, true) === true;
}

/**
 * Whether a file is armored, the way the age CLI decides: after at most 1024 bytes of whitespace
 * comes the BEGIN line. Undefined while the bytes seen so far are only whitespace or the start of
 * the BEGIN line (read on); `done` says there are no more bytes.
 */
function sniffArmor(buf: Buffer, done: boolean): boolean | undefined {
  const rest = buf.subarray(0, ARMOR_PEEK_BYTES).toString('utf8').replace(LEADING_SPACE, '');
  if (rest.startsWith(ARMOR_BEGIN)) return true;
  if (done || buf.length >= ARMOR_PEEK_BYTES) return false;
  // U+FFFD alone: a multi-byte character (perhaps a space) cut by the end of the chunk.
  return ARMOR_BEGIN.startsWith(rest) || rest === '\uFFFD' ? undefined : false;
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
    let armored = sniffArmor(buffered, done);
    while (armored === undefined) {
      await pull();
      armored = sniffArmor(buffered, done);
    }
    if (armored) {
      while (!done && buffered.length <= MAX_ARMORED_BYTES) await pull();
      if (!done)
        throw new EncryptionError(`${label} is armored and larger than 64 MiB; decrypt it with the age CLI`);
      buffered = Buffer.from(decodeArmor(buffered, label));
    } else if (!startsWithMagic(buffered)) {
      throw new EncryptionError(
        `${label} is not an age file (it starts neither with "age-encryption.org/v1" nor, after blank lines, with "${ARMOR_BEGIN}")`,
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
    return armor.decode(armorBlock(buf.toString('latin1')));
  } catch (error) {
    throw new EncryptionError(`${label} has invalid age armor: ${safeMessage(error)}`);
  }
}

/**
 * The BEGIN…END block of an armored file, once what surrounds it passed age's rules: whole blank
 * lines before it (≤ 1024 bytes, counted as age counts them), whitespace after it (< 1024 bytes).
 * armor.decode checks the block itself strictly; alone it would trim any whitespace, also on the
 * BEGIN line, which age refuses.
 */
function armorBlock(text: string): string {
  let start = 0;
  let skipped = 0;
  for (;;) {
    const eol = text.indexOf('\n', start);
    const line = stripCr(text.slice(start, eol < 0 ? text.length : eol));
    if (!BLANK.test(utf8(line))) break;
    // age adds each blank line's length without its line ending, plus one.
    skipped += line.length + 1;
    if (skipped > ARMOR_WHITESPACE_BYTES || eol < 0)
      throw new Error(`more than ${ARMOR_WHITESPACE_BYTES} bytes of whitespace before the BEGIN line`);
    start = eol + 1;
  }
  const beginEol = text.indexOf('\n', start);
  const first = stripCr(text.slice(start, beginEol < 0 ? text.length : beginEol));
  if (first !== ARMOR_BEGIN) throw new Error(`invalid first line ${JSON.stringify(first.slice(0, 80))}`);
  let end = -1;
  for (let at = beginEol + 1; beginEol >= 0 && at <= text.length; ) {
    const eol = text.indexOf('\n', at);
    const stop = eol < 0 ? text.length : eol;
    if (stripCr(text.slice(at, stop)) === ARMOR_END) {
      end = eol < 0 ? text.length : eol + 1;
      break;
    }
    if (eol < 0) break;
    at = eol + 1;
  }
  if (end < 0) throw new Error('no END line');
  const trailing = text.slice(end);
  if (trailing.length >= ARMOR_WHITESPACE_BYTES || !BLANK.test(utf8(trailing)))
    throw new Error(
      trailing.length >= ARMOR_WHITESPACE_BYTES
        ? `${ARMOR_WHITESPACE_BYTES} bytes or more of whitespace after the END line`
        : 'data after the END line',
    );
  return text.slice(start, end);
}

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);
/** The text was read as latin1 (one char per byte); whitespace tests need the real characters. */
const utf8 = (latin1: string) => Buffer.from(latin1, 'latin1').toString('utf8');

/** Library messages, cut short and stripped of anything that looks like key material. */
function safeMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/AGE-SECRET-KEY-[0-9A-Z-]+/gi, '[secret key]').slice(0, 200);
}
