export {
  createHeader,
  type DecryptOptions,
  decryptBuffer,
  decryptStream,
  type EncryptOptions,
  encryptBuffer,
  encryptStream,
  isAgeEncrypted,
  validateEncryptOptions,
} from './age.ts';
export { decryptFile, encryptFile, type FileCryptoOptions } from './file.ts';
export {
  formatIdentityFile,
  generateIdentity,
  identityToRecipient,
  parseIdentities,
  readIdentityFile,
  readPassphraseEnv,
  readPassphraseFile,
} from './keys.ts';
export { DEFAULT_SCRYPT_WORK_FACTOR, MAX_SCRYPT_WORK_FACTOR } from './scrypt.ts';
export { CHUNK_SIZE, encryptedPayloadSize } from './stream.ts';
