import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** Fails loudly when the age CLI is missing: these tests compare against it and cannot be skipped. */
export function requireAgeCli(): void {
  const probe = spawnSync('age', ['--version']);
  if (probe.status !== 0)
    throw new Error('the `age` CLI is not installed (apt-get install -y age); crypto interop tests need it');
}

/** A fresh key pair from age-keygen, written to `<dir>/<name>.txt`. */
export function ageKeygen(dir: string, name = 'key'): { file: string; recipient: string } {
  const file = path.join(dir, `${name}.txt`);
  execFileSync('age-keygen', ['-o', file], { stdio: 'pipe' });
  const recipient = execFileSync('age-keygen', ['-y', file]).toString().trim();
  return { file, recipient };
}

/**
 * age reads passphrases only from a terminal; `script` gives it a pseudo-terminal fed from our
 * stdin. Returns the exit status.
 */
export function ageWithPassphrase(args: string[], passphrase: string, confirm: boolean): number {
  const input = confirm ? `${passphrase}\n${passphrase}\n` : `${passphrase}\n`;
  const command = ['age', ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const result = spawnSync('script', ['-qec', command, '/dev/null'], { input, timeout: 30_000 });
  return result.status ?? -1;
}

export function writeBytes(file: string, data: Uint8Array): string {
  writeFileSync(file, data);
  return file;
}
