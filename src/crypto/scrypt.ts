/**
 * The age scrypt (passphrase) recipient and identity on node:crypto. age-encryption ships its
 * own, but in JavaScript: native scrypt is several times faster at the default work factor, and
 * runs on the libuv pool instead of blocking the event loop. Both plug into age-encryption's
 * Encrypter/Decrypter through its Recipient/Identity interfaces, so header encoding, parsing
 * and the header MAC stay age-encryption's.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import type { Identity, Recipient } from 'age-encryption';
import { Stanza } from 'age-encryption';
import { EncryptionError } from '../errors.ts';

const LABEL = 'age-encryption.org/v1/scrypt';

/** age's default work factor (log2 N), the one the age CLI uses. */
export const DEFAULT_SCRYPT_WORK_FACTOR = 18;
/** Highest work factor accepted on decryption (as the age CLI): bounds CPU and memory an attacker can make us spend. */
export const MAX_SCRYPT_WORK_FACTOR = 22;

function deriveWrapKey(passphrase: string, salt: Uint8Array, logN: number): Promise<Buffer> {
  const N = 2 ** logN;
  return new Promise((resolve, reject) => {
    scrypt(
      passphrase,
      Buffer.concat([Buffer.from(LABEL), salt]),
      32,
      { N, r: 8, p: 1, maxmem: 256 * N * 8 + 1024 * 1024 },
      (error, key) => (error ? reject(error) : resolve(key)),
    );
  });
}

const ZERO_NONCE = Buffer.alloc(12);

/** Seals the 16-byte file key under a wrap key (ChaCha20-Poly1305, all-zero nonce, as the spec fixes). */
export function sealFileKey(fileKey: Uint8Array, wrapKey: Uint8Array): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', wrapKey, ZERO_NONCE, { authTagLength: 16 });
  return Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()]);
}

/** Opens a sealed file key; null when the key does not fit (wrong passphrase). */
export function openFileKey(body: Uint8Array, wrapKey: Uint8Array): Buffer | null {
  const decipher = createDecipheriv('chacha20-poly1305', wrapKey, ZERO_NONCE, { authTagLength: 16 });
  decipher.setAuthTag(body.subarray(16));
  const out = decipher.update(body.subarray(0, 16));
  try {
    decipher.final();
  } catch {
    return null;
  }
  return out;
}

/** Canonical unpadded base64 (the spec requires decoders to reject anything else). */
export function decodeBase64NoPad(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]*$/.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64').replace(/=+$/, '') === text ? bytes : null;
}

export function encodeBase64NoPad(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64').replace(/=+$/, '');
}

export class NodeScryptRecipient implements Recipient {
  readonly #passphrase: string;
  readonly #logN: number;

  constructor(passphrase: string, logN = DEFAULT_SCRYPT_WORK_FACTOR) {
    this.#passphrase = passphrase;
    this.#logN = logN;
  }

  async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
    const salt = randomBytes(16);
    const key = await deriveWrapKey(this.#passphrase, salt, this.#logN);
    return [new Stanza(['scrypt', encodeBase64NoPad(salt), String(this.#logN)], sealFileKey(fileKey, key))];
  }
}

export class NodeScryptIdentity implements Identity {
  readonly #passphrase: string;
  readonly #maxLogN: number;

  constructor(passphrase: string, maxLogN = MAX_SCRYPT_WORK_FACTOR) {
    this.#passphrase = passphrase;
    this.#maxLogN = maxLogN;
  }

  async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
    for (const s of stanzas) {
      if (s.args[0] !== 'scrypt') continue;
      // A passphrase file must not also be readable by someone else's key (spec: scrypt stanza alone).
      if (stanzas.length !== 1)
        throw new EncryptionError('the age header mixes a passphrase stanza with others');
      const [, saltText = '', logText = ''] = s.args;
      const salt = decodeBase64NoPad(saltText);
      if (
        s.args.length !== 3 ||
        salt?.length !== 16 ||
        !/^[1-9][0-9]*$/.test(logText) ||
        s.body.length !== 32
      ) {
        throw new EncryptionError('the age header has a malformed scrypt stanza');
      }
      const logN = Number(logText);
      if (logN > this.#maxLogN) {
        throw new EncryptionError(
          `the file's scrypt work factor ${logN} exceeds the maximum ${this.#maxLogN}; refusing to spend that much CPU and memory`,
        );
      }
      return openFileKey(s.body, await deriveWrapKey(this.#passphrase, salt, logN));
    }
    return null;
  }
}
