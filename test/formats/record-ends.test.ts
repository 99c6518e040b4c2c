/**
 * The SIMD search for records that end in a delimiter (wasm/record-ends.wat): it agrees with a
 * plain regex on random text, finds ends split across read chunks, and the committed module is
 * the one its .wat source compiles to. The strict CSV check relies on it to send such files to the
 * full tokenizer (DuckDB would silently drop the extra empty field).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCsvForDuckdb } from '../../src/formats/csv-duckdb.ts';
import { createDelimiterEndScanner } from '../../src/formats/delimiter-ends.ts';
import fc from '../helpers/fc.ts';
import { tempDir } from '../helpers/tmp.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const dir = tempDir('record-ends');
const CHUNK = 4 * 1024 * 1024; // the strict check's read size

/** Where the regex finds the first `,\n` or `,\r\n` ending at or after `from` (offset of the LF). */
function oracle(text: string, from: number): number {
  const re = /,\r?\n/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const lf = m.index + m[0].length - 1;
    if (lf >= from) return lf;
  }
  return -1;
}

describe('delimiter-end scanner', () => {
  it('the committed module is what record-ends.wat compiles to', () => {
    execFileSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build-wasm.mjs'), '--check'], {
      cwd: REPO_ROOT,
      stdio: 'pipe',
    });
  });

  it('agrees with a regex on random text, split into two chunks anywhere', () => {
    const scanner = createDelimiterEndScanner();
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', ',', '\r', '\n', '"', 'é'), maxLength: 120 }),
        fc.nat(),
        (text, cutAt) => {
          const bytes = Buffer.from(text, 'latin1');
          const cut = bytes.length === 0 ? 0 : cutAt % (bytes.length + 1);
          // First chunk, then the second with the first one's last two bytes before it.
          scanner.setBytesBefore(0, 0);
          bytes.copy(scanner.buffer, 0, 0, cut);
          const first = scanner.find(0, cut);
          scanner.setBytesBefore(cut >= 2 ? bytes[cut - 2]! : 0, cut >= 1 ? bytes[cut - 1]! : 0);
          bytes.copy(scanner.buffer, 0, cut);
          const second = scanner.find(0, bytes.length - cut);
          const found = first >= 0 ? first : second >= 0 ? cut + second : -1;
          expect(found).toBe(oracle(text, 0));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds an end in every position of a long run of vectors', () => {
    const scanner = createDelimiterEndScanner();
    for (let at = 1; at < 200; at++) {
      scanner.buffer.fill(0x61, 0, 256);
      scanner.setBytesBefore(0, 0);
      scanner.buffer[at - 1] = 0x2c;
      scanner.buffer[at] = 0x0a;
      expect(scanner.find(0, 256)).toBe(at);
      expect(scanner.find(0, at)).toBe(-1); // the LF itself is outside the range
    }
  });
});

describe('the strict check refuses an extra empty field at a read-chunk boundary', () => {
  // Rows of `1,2`, a padding row, then one row `3,4,` (three fields) whose end the chunk splits.
  function fileWithSplitEnd(name: string, end: string, bytesBeforeCut: number) {
    const header = 'a,b\n';
    const row = '1,2\n';
    const filler = Math.floor((CHUNK - header.length - 64) / row.length);
    // `p,xxx…\n` fills the chunk up to `3,4` and the first bytes of `end`.
    const padLength = CHUNK - (header.length + filler * row.length) - 'p,\n3,4'.length - bytesBeforeCut;
    const body = `${header}${row.repeat(filler)}p,${'x'.repeat(padLength)}\n3,4${end}1,2\n`;
    expect(body.slice(CHUNK - bytesBeforeCut, CHUNK)).toBe(end.slice(0, bytesBeforeCut));
    const file = path.join(dir, name);
    writeFileSync(file, body);
    return { file, line: filler + 3 };
  }

  for (const [label, end, beforeCut] of [
    ['`,` | `\\n`', ',\n', 1],
    ['`,\\r` | `\\n`', ',\r\n', 2],
    ['`,` | `\\r\\n`', ',\r\n', 1],
  ] as const) {
    it(`${label}`, async () => {
      const { file, line } = fileWithSplitEnd(`split-${beforeCut}-${end.length}.csv`, end, beforeCut);
      const error = await checkCsvForDuckdb(file, {}).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message?: string },
      );
      expect(error?.code).toBe('E021');
      expect(error?.message).toBe(`CSV ${file} line ${line}: 3 fields, but the header has 2`);
    });
  }
});
