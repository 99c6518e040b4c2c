/**
 * Reading keys and passphrases from files and the environment. The CLI never takes a secret as
 * an argument (it would land in shell history and `ps`); these helpers are how it gets them.
 */
import { readFile, stat } from 'node:fs/promises';
import { generateX25519Identity, identityToRecipient as toRecipient } from 'age-encryption';
import { EncryptionError, NotFoundError, ValidationError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { shellWord } from '../util/shell-word.ts';

/** Secret keys in an age identity file (`age-keygen` output): one per line, `#` comments. */
export function parseIdentities(text: string, source = 'the identity file'): string[] {
  const keys: string[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (!/^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/.test(line)) {
      // Never quote the line: it may be a mistyped secret.
      throw new ValidationError(`${source} line ${i + 1} is not an age secret key (AGE-SECRET-KEY-1…)`, {
        context: { source, line: i + 1 },
      });
    }
    keys.push(line);
  }
  if (keys.length === 0)
    throw new ValidationError(`${source} contains no age secret key`, { context: { source } });
  return keys;
}

/** Reads an identity file written by `age-keygen` or {@link generateIdentity}. */
export async function readIdentityFile(path: string): Promise<string[]> {
  return parseIdentities(await readSecretFile(path, 'identity file'), path);
}

/** Reads a passphrase from a file: its first line, without the line ending. */
export async function readPassphraseFile(path: string): Promise<string> {
  const text = await readSecretFile(path, 'passphrase file');
  const passphrase = text.split(/\r?\n/)[0] ?? '';
  if (passphrase === '') throw new ValidationError(`passphrase file ${path} is empty`, { context: { path } });
  return passphrase;
}

/** Reads a passphrase from an environment variable. */
export function readPassphraseEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new ValidationError(
      `environment variable ${name} is not set or empty (it should hold the passphrase)`,
    );
  }
  return value;
}

async function readSecretFile(path: string, what: string): Promise<string> {
  try {
    warnIfShared(path, what, (await stat(path)).mode);
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new NotFoundError(`${what} ${path} does not exist`, { context: { path } });
    throw new EncryptionError(`cannot read ${what} ${path}: ${code ?? 'read failed'}`, { context: { path } });
  }
}

/**
 * A secret file others on the machine can read is a leak waiting to happen (ssh refuses such
 * keys; sluice warns, so a shared read-only mount still works).
 */
function warnIfShared(path: string, what: string, mode: number): void {
  if (process.platform === 'win32' || (mode & 0o077) === 0) return;
  const octal = (mode & 0o777).toString(8).padStart(3, '0');
  getLogger().warn(
    { path, mode: octal },
    `${what} ${path} can be read by other users (mode ${octal}); run: chmod 600 ${shellWord(path)}`,
  );
}

/** A new X25519 identity, `AGE-SECRET-KEY-1…`, and its recipient `age1…`. */
export async function generateIdentity(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await toRecipient(identity) };
}

/** The public recipient (`age1…`) of a secret identity. */
export async function identityToRecipient(identity: string): Promise<string> {
  try {
    return await toRecipient(identity);
  } catch {
    throw new ValidationError('not a valid age secret key (AGE-SECRET-KEY-1…)');
  }
}

/** The text of an identity file as age-keygen writes it. */
export function formatIdentityFile(identity: string, recipient: string, created = new Date()): string {
  return `# created: ${created.toISOString()}\n# public key: ${recipient}\n${identity}\n`;
}
