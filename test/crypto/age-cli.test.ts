import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decryptFile, encryptFile, readIdentityFile } from '../../src/crypto/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ageKeygen, ageWithPassphrase, requireAgeCli, writeBytes } from './helpers.ts';

const SIZES = [0, 1, 1000, 65_535, 65_536, 65_537, 131_072, 200_001];

describe('age CLI interoperability', { timeout: 120_000 }, () => {
  const dir = tempDir('crypto-cli');
  let alice: { file: string; recipient: string };
  let bob: { file: string; recipient: string };
  beforeAll(() => {
    requireAgeCli();
    alice = ageKeygen(dir, 'alice');
    bob = ageKeygen(dir, 'bob');
  });

  it.each(SIZES)('age -d decrypts what sluice encrypted to X25519 recipients (%i bytes)', async (size) => {
    const data = randomBytes(size);
    const input = writeBytes(path.join(dir, `plain-${size}`), data);
    const output = `${input}.age`;
    await encryptFile(input, output, { recipients: [alice.recipient, bob.recipient] });
    for (const key of [alice, bob]) {
      expect(execFileSync('age', ['-d', '-i', key.file, output]).equals(data)).toBe(true);
    }
  });

  it.each(SIZES)('sluice decrypts what the age CLI encrypted (%i bytes)', async (size) => {
    const data = randomBytes(size);
    const input = writeBytes(path.join(dir, `cli-${size}`), data);
    execFileSync('age', ['-r', alice.recipient, '-o', `${input}.age`, input]);
    await decryptFile(`${input}.age`, `${input}.out`, { identities: await readIdentityFile(alice.file) });
    expect(readFileSync(`${input}.out`).equals(data)).toBe(true);
  });

  it('sluice decrypts armored output of age -a', async () => {
    const data = randomBytes(5000);
    const input = writeBytes(path.join(dir, 'armor'), data);
    execFileSync('age', ['-a', '-r', alice.recipient, '-o', `${input}.age`, input]);
    await decryptFile(`${input}.age`, `${input}.out`, { identities: await readIdentityFile(alice.file) });
    expect(readFileSync(`${input}.out`).equals(data)).toBe(true);
  });

  it('passphrase files go both ways with the age CLI (scrypt, default work factor)', async () => {
    const data = randomBytes(70_000);
    const input = writeBytes(path.join(dir, 'pass'), data);
    const passphrase = 'correct horse battery staple';
    await encryptFile(input, `${input}.sluice.age`, { passphrase });
    expect(readFileSync(`${input}.sluice.age`, 'latin1')).toMatch(
      /^age-encryption\.org\/v1\n-> scrypt \S+ 18\n/,
    );
    expect(
      ageWithPassphrase(['-d', '-o', `${input}.cli.out`, `${input}.sluice.age`], passphrase, false),
    ).toBe(0);
    expect(readFileSync(`${input}.cli.out`).equals(data)).toBe(true);

    expect(ageWithPassphrase(['-p', '-o', `${input}.cli.age`, input], passphrase, true)).toBe(0);
    await decryptFile(`${input}.cli.age`, `${input}.sluice.out`, { passphrase });
    expect(readFileSync(`${input}.sluice.out`).equals(data)).toBe(true);
  });

  it('a wrong identity fails with E041 and leaves no output file', async () => {
    const input = writeBytes(path.join(dir, 'wrong'), randomBytes(100));
    execFileSync('age', ['-r', alice.recipient, '-o', `${input}.age`, input]);
    const bobKeys = await readIdentityFile(bob.file);
    const error = await decryptFile(`${input}.age`, `${input}.out`, { identities: bobKeys }).catch((e) => e);
    expect(error).toMatchObject({ code: 'E041', name: 'EncryptionError' });
    expect(error.message).toContain(`${input}.age`);
    expect(error.message).not.toContain(bobKeys[0]);
    expect(existsSync(`${input}.out`)).toBe(false);
  });
});
