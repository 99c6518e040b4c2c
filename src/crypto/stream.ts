/**
 * The age payload (STREAM, age-encryption.org/v1 §Payload) on node:crypto. age-encryption runs
 * ChaCha20-Poly1305 in JavaScript (≈ 60–80 MB/s here); OpenSSL through node:crypto is an order
 * of magnitude faster, which is what keeps sluice within reach of the age CLI.
 *
 * payload key = HKDF-SHA-256(ikm = file key, salt = 16-byte nonce, info = "payload");
 * plaintext in 64 KiB chunks, each sealed with a 12-byte nonce: an 11-byte big-endian counter
 * and a last-chunk flag (0x01 on the final chunk, 0x00 before). The final chunk is non-empty
 * unless the whole payload is empty. Decryption fails on truncation (no valid final chunk),
 * reordering (counter mismatch), trailing data and any tampered byte.
 */
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { EncryptionError, type SluiceError } from '../errors.ts';

export const CHUNK_SIZE = 64 * 1024;
export const TAG_SIZE = 16;
export const ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + TAG_SIZE;
export const PAYLOAD_NONCE_SIZE = 16;

/** Derives the 32-byte payload key from the 16-byte file key and the payload nonce. */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): KeyObject {
  // A KeyObject, made once: a raw Buffer key would be re-imported for every 64 KiB chunk.
  return createSecretKey(Buffer.from(hkdfSync('sha256', fileKey, nonce, 'payload', 32)));
}

function chunkNonce(counter: number, last: boolean): Buffer {
  // 11-byte big-endian counter: the top 3 bytes stay 0 below 2^64 chunks (far beyond 2^53).
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32BE(Math.floor(counter / 0x1_0000_0000), 3);
  nonce.writeUInt32BE(counter >>> 0, 7);
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Seals one chunk, appending its ciphertext and tag to `parts` (joined once per batch, not per chunk). */
function sealChunk(
  parts: Buffer[],
  key: KeyObject,
  counter: number,
  last: boolean,
  plaintext: Uint8Array,
): void {
  const cipher = createCipheriv('chacha20-poly1305', key, chunkNonce(counter, last), {
    authTagLength: TAG_SIZE,
  });
  parts.push(cipher.update(plaintext));
  cipher.final();
  parts.push(cipher.getAuthTag());
}

function openChunk(key: KeyObject, counter: number, last: boolean, sealed: Uint8Array): Buffer | null {
  const decipher = createDecipheriv('chacha20-poly1305', key, chunkNonce(counter, last), {
    authTagLength: TAG_SIZE,
  });
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_SIZE));
  const body = decipher.update(sealed.subarray(0, sealed.length - TAG_SIZE));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return body;
}

/**
 * Encrypts a plaintext byte stream into STREAM chunks. Memory stays at about one chunk plus one
 * input piece: a full chunk is held back until more input shows it is not the last. The sealed
 * chunks of one input piece are yielded together, which keeps per-chunk async overhead out of
 * the hot loop.
 */
export async function* encryptPayload(
  source: AsyncIterable<Uint8Array>,
  key: KeyObject,
): AsyncGenerator<Buffer> {
  for await (const parts of encryptPayloadParts(source, key)) yield Buffer.concat(parts);
}

/** encryptPayload without joining: the ciphertext and tag buffers of each input piece, for writev. */
export async function* encryptPayloadParts(
  source: AsyncIterable<Uint8Array>,
  key: KeyObject,
): AsyncGenerator<Buffer[]> {
  const chunker = new Chunker(CHUNK_SIZE);
  let counter = 0;
  for await (const piece of source) {
    const sealed: Buffer[] = [];
    chunker.push(piece, (chunk) => {
      sealChunk(sealed, key, counter, false, chunk);
      counter++;
    });
    if (sealed.length > 0) yield sealed;
  }
  const last: Buffer[] = [];
  sealChunk(last, key, counter, true, chunker.rest());
  yield last;
}

/**
 * Decrypts STREAM chunks back to plaintext. A chunk is released only once authenticated, so
 * a consumer never sees unauthenticated bytes; the stream fails at its end unless a valid final
 * chunk closed it.
 */
export async function* decryptPayload(
  source: AsyncIterable<Uint8Array>,
  key: KeyObject,
  label = 'the age file',
): AsyncGenerator<Buffer> {
  for await (const parts of decryptPayloadParts(source, key, label)) {
    yield parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  }
}

/** decryptPayload without joining the plaintext chunks of each input piece. */
export async function* decryptPayloadParts(
  source: AsyncIterable<Uint8Array>,
  key: KeyObject,
  label = 'the age file',
): AsyncGenerator<Buffer[]> {
  const chunker = new Chunker(ENCRYPTED_CHUNK_SIZE);
  let counter = 0;
  for await (const piece of source) {
    const opened: Buffer[] = [];
    chunker.push(piece, (chunk) => {
      const plain = openChunk(key, counter, false, chunk);
      if (plain === null) throw damaged(label, counter);
      opened.push(plain);
      counter++;
    });
    if (opened.length > 0) yield opened;
  }
  const last = chunker.rest();
  if (last.length < TAG_SIZE || (last.length === TAG_SIZE && counter > 0)) {
    throw new EncryptionError(
      `${label} is truncated: its payload ends without a final chunk (chunk ${counter}); the file is incomplete`,
      { context: { chunk: counter } },
    );
  }
  const plain = openChunk(key, counter, true, last);
  if (plain === null) throw damaged(label, counter);
  yield [plain];
}

/**
 * Cuts a byte stream into fixed-size chunks, handing out every chunk known not to be the last
 * (more bytes follow it). Whole chunks inside a piece are passed without copying.
 */
class Chunker {
  private readonly size: number;
  private readonly held: Buffer;
  private filled = 0;

  constructor(size: number) {
    this.size = size;
    this.held = Buffer.allocUnsafe(size);
  }

  push(piece: Uint8Array, emit: (chunk: Uint8Array) => void): void {
    let offset = 0;
    while (offset < piece.length) {
      if (this.filled === this.size) {
        emit(this.held);
        this.filled = 0;
      }
      if (this.filled === 0 && piece.length - offset > this.size) {
        emit(piece.subarray(offset, offset + this.size));
        offset += this.size;
        continue;
      }
      const n = Math.min(this.size - this.filled, piece.length - offset);
      this.held.set(piece.subarray(offset, offset + n), this.filled);
      this.filled += n;
      offset += n;
    }
  }

  /** What is left at the end of input: the final chunk (possibly full, possibly empty). */
  rest(): Buffer {
    return this.held.subarray(0, this.filled);
  }
}

function damaged(label: string, chunk: number): SluiceError {
  return new EncryptionError(
    `${label} failed authentication at payload chunk ${chunk}: it is truncated, reordered, tampered with or was encrypted with another key`,
    { context: { chunk } },
  );
}

/** Size of the encrypted payload (without header and nonce) for a plaintext of `size` bytes. */
export function encryptedPayloadSize(size: number): number {
  const chunks = size === 0 ? 1 : Math.ceil(size / CHUNK_SIZE);
  return size + chunks * TAG_SIZE;
}
