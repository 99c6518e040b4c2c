/**
 * Armored age files with whitespace around the PEM block. The age spec allows "whitespace before
 * and after the PEM block"; age ≥ 1.3 reads up to 1024 bytes of blank lines before BEGIN and less
 * than 1024 bytes of whitespace after END, and refuses anything else (spaces on the BEGIN line,
 * text before or after). The files come from the real `age -a`; the cases sluice must refuse are
 * the ones age refuses. (Debian's age 1.1.1 refuses any leading whitespace in its CLI, though its
 * armor reader accepts it: the CLI only looked for BEGIN at byte 0 until 1.3.)
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decryptBuffer, decryptStream, isAgeEncrypted, readIdentityFile } from '../../src/crypto/index.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ageKeygen, requireAgeCli } from './helpers.ts';

const nl = (n: number) => '\n'.repeat(n);

/** Whitespace age accepts around the block: [before, after]. */
const ACCEPTED: [string, string, string][] = [
  ['one blank line', '\n', ''],
  ['blank lines with spaces and tabs, as in age’s own test', '\n   \n\n', '\n   \n'],
  ['CRLF blank lines', '\r\n \t\r\n', ''],
  ['form feed and vertical tab lines', '\f\n\v\n', ''],
  ['Unicode space lines (NBSP, U+3000)', '\u00a0\n\u3000\n', ''],
  ['1024 bytes of blank lines (the limit)', nl(1024), ''],
  ['1023 bytes of whitespace after END (the limit)', '', nl(1023)],
];

/** What age refuses around the block, with the reason sluice gives. */
const REFUSED: [string, string, string, RegExp][] = [
  ['spaces on the BEGIN line', '   ', '', /invalid first line/],
  ['a tab on the BEGIN line', '\t', '', /invalid first line/],
  ['a BOM line (not whitespace to age)', '\ufeff\n', '', /is not an age file/],
  ['text before', 'x\n', '', /is not an age file/],
  ['1025 bytes of blank lines', nl(1025), '', /is not an age file/],
  ['text after END', '', 'garbage\n', /data after the END line/],
  ['1024 bytes of whitespace after END', '', nl(1024), /after the END line/],
];

describe('age armor with whitespace around it', { timeout: 60_000 }, () => {
  const dir = tempDir('armor-ws');
  const plain = randomBytes(5000);
  let key: { file: string; recipient: string };
  let armored: string;
  let identities: string[];
  beforeAll(async () => {
    requireAgeCli();
    key = ageKeygen(dir);
    writeFileSync(path.join(dir, 'plain.bin'), plain);
    execFileSync('age', [
      '-a',
      '-r',
      key.recipient,
      '-o',
      path.join(dir, 'armored.age'),
      path.join(dir, 'plain.bin'),
    ]);
    armored = readFileSync(path.join(dir, 'armored.age'), 'latin1');
    identities = await readIdentityFile(key.file);
  });

  const withSpace = (before: string, after: string, crlf = false) =>
    Buffer.concat([
      Buffer.from(before, 'utf8'),
      Buffer.from(crlf ? armored.replaceAll('\n', '\r\n') : armored, 'latin1'),
      Buffer.from(after, 'utf8'),
    ]);

  it.each(ACCEPTED)(
    'sluice decrypt reads age -a output with %s, to identical bytes',
    async (_, before, after) => {
      const file = path.join(dir, `ok-${before.length}-${after.length}.age`);
      writeFileSync(file, withSpace(before, after));
      const out = `${file}.out`;
      const res = await runSluice(['decrypt', file, '-i', key.file, '-o', out]);
      expect(res.code, res.stderr).toBe(0);
      expect(readFileSync(out).equals(plain)).toBe(true);
    },
  );

  it('reads CRLF line endings throughout, blank CRLF lines before', async () => {
    const file = withSpace('\r\n \r\n', '\r\n', true);
    expect((await decryptBuffer(file, { identities })).equals(plain)).toBe(true);
  });

  it('finds the armor one byte at a time, a multi-byte space cut between chunks', async () => {
    const file = withSpace('\u3000\n \n', '');
    const parts: Buffer[] = [];
    async function* bytes() {
      for (let i = 0; i < file.length; i++) yield file.subarray(i, i + 1);
    }
    for await (const p of decryptStream(bytes(), { identities })) parts.push(p);
    expect(Buffer.concat(parts).equals(plain)).toBe(true);
    expect(isAgeEncrypted(file)).toBe(true);
  });

  it.each(REFUSED)(
    'refuses %s with E041 naming the file, writing nothing',
    async (_, before, after, reason) => {
      const file = path.join(dir, `bad-${Buffer.byteLength(before)}-${after.length}.age`);
      writeFileSync(file, withSpace(before, after));
      const out = `${file}.out`;
      const res = await runSluice(['decrypt', file, '-i', key.file, '-o', out]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/^E041: /);
      expect(res.stderr).toContain(file);
      expect(res.stderr).toMatch(reason);
      expect(res.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    },
  );

  it('accepts only what the age CLI accepts once the whitespace is gone: the block itself is age’s', () => {
    // The same bytes without the whitespace decrypt with the installed age CLI, so the block
    // sluice reads after skipping whitespace is the one age wrote, not a looser reading of it.
    const trimmed = path.join(dir, 'trimmed.age');
    writeFileSync(trimmed, withSpace('', '\n\n  \n'));
    expect(execFileSync('age', ['-d', '-i', key.file, trimmed]).equals(plain)).toBe(true);
  });

  it('still refuses garbage, whitespace alone and an empty file with E041 naming the file', async () => {
    for (const [name, bytes] of [
      ['garbage.age', randomBytes(300)],
      ['blank.age', Buffer.from('\n \n\t\n')],
      ['empty.age', Buffer.alloc(0)],
    ] as const) {
      const file = path.join(dir, name);
      writeFileSync(file, bytes);
      const res = await runSluice(['decrypt', file, '-i', key.file, '-o', `${file}.out`]);
      expect(res.code, name).toBe(1);
      expect(res.stderr).toMatch(
        new RegExp(`^E041: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not an age file`),
      );
      expect(existsSync(`${file}.out`)).toBe(false);
    }
  });
});
