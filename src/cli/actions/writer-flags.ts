/**
 * The secret flags of `sluice write|convert|decrypt`. Secrets never come from arguments (they
 * would land in shell history and `ps`): passphrases from a file or an environment variable,
 * identities from a key file.
 */
import { readPassphraseEnv, readPassphraseFile } from '../../crypto/keys.ts';
import { UsageError } from '../../errors.ts';
import type { WriterEncryption } from '../../writer/types.ts';

export interface SecretOptions {
  encryptTo: string[];
  passphraseFile?: string;
  passphraseEnv?: string;
}

export async function passphraseFrom(opts: {
  passphraseFile?: string;
  passphraseEnv?: string;
}): Promise<string | undefined> {
  if (opts.passphraseFile && opts.passphraseEnv) {
    throw new UsageError('use --passphrase-file or --passphrase-env, not both');
  }
  if (opts.passphraseFile) return readPassphraseFile(opts.passphraseFile);
  if (opts.passphraseEnv) return readPassphraseEnv(opts.passphraseEnv);
  return undefined;
}

export async function encryptionFrom(opts: SecretOptions): Promise<WriterEncryption | undefined> {
  const passphrase = await passphraseFrom(opts);
  if (opts.encryptTo.length > 0 && passphrase !== undefined) {
    throw new UsageError('age files take --encrypt-to recipients or a passphrase, not both');
  }
  if (passphrase !== undefined) return { passphrase };
  return opts.encryptTo.length > 0 ? { recipients: opts.encryptTo } : undefined;
}
