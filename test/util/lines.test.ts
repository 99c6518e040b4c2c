import { describe, expect, it } from 'vitest';
import { FormatError, type SluiceError } from '../../src/errors.ts';
import { LineSplitter, splitLines } from '../../src/util/lines.ts';
import fc from '../helpers/fc.ts';

function split(bytes: Buffer, size: number, options = {}): string[] {
  const splitter = new LineSplitter(options);
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...splitter.push(bytes.subarray(i, i + size)));
  out.push(...splitter.end());
  return out;
}

function errorOf(run: () => unknown): SluiceError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FormatError);
    return error as SluiceError;
  }
  throw new Error('expected a FormatError');
}

describe('LineSplitter', () => {
  it('splits on LF and CRLF; the last line may lack its line end; a leading BOM is skipped', () => {
    const text = Buffer.from('\uFEFFa\r\nb\n\nc é😀\r\nlast');
    for (const size of [1, 2, 3, 4, 100]) {
      expect(split(text, size)).toEqual(['a', 'b', '', 'c é😀', 'last']);
    }
    expect(split(Buffer.from(''), 1)).toEqual([]);
    expect(split(Buffer.from('\n'), 1)).toEqual(['']);
    expect(split(Buffer.from('x\n'), 1)).toEqual(['x']);
    // Only at the start: elsewhere a BOM is data.
    expect(split(Buffer.from('a\n\uFEFFb'), 1)).toEqual(['a', '\uFEFFb']);
  });

  it('property: any text, any chunking, gives the lines String#split gives', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.integer({ min: 1, max: 20 }), (text, size) => {
        const body = text.replace(/^\uFEFF/, '');
        const expected = body === '' ? [] : body.split('\n').map((l) => l.replace(/\r$/, ''));
        if (body.endsWith('\n')) expected.pop();
        expect(split(Buffer.from(body), size)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses invalid UTF-8 with the line and column, whatever the chunking', () => {
    const bytes = Buffer.concat([
      Buffer.from('ok\r\né\nabé'),
      Buffer.from([0xe2, 0x28, 0xa1]),
      Buffer.from('\nz'),
    ]);
    for (const size of [1, 2, 5, 100]) {
      const error = errorOf(() => split(bytes, size, { label: 'JSONL', source: 'f.jsonl' }));
      expect(error.message).toBe(
        'JSONL f.jsonl line 3 column 4: invalid UTF-8 (byte 0xe2 at byte offset 11): the file must be UTF-8 encoded',
      );
      expect(error.context).toMatchObject({ file: 'f.jsonl', line: 3, column: 4, offset: 11 });
    }
    // A sequence cut by the end of the input is invalid too.
    expect(errorOf(() => split(Buffer.from([0x61, 0x0a, 0xc3]), 1)).context).toMatchObject({ line: 2 });
    // Readers that skip broken lines get an empty line in its place, and the others intact.
    expect(split(bytes, 3, { skipInvalidUtf8: true })).toEqual(['ok', 'é', '', 'z']);
  });

  it('refuses a line longer than maxLineBytes before holding it whole', () => {
    let pulled = 0;
    function* endless() {
      yield Buffer.from('{"a":1}\n');
      for (;;) {
        pulled++;
        yield Buffer.alloc(64 * 1024, 0x61);
      }
    }
    const splitter = new LineSplitter({ maxLineBytes: 1024 * 1024, label: 'JSONL', source: 'big' });
    const error = errorOf(() => {
      for (const chunk of endless()) splitter.push(chunk);
    });
    expect(error.message).toBe(
      'JSONL big line 2: line is longer than the limit of 1048576 bytes (maxLineBytes; raise it, or check the file has line ends)',
    );
    expect(pulled).toBe(17);
    // A long line inside one chunk is measured in bytes, not characters.
    const wide = Buffer.from(`${'é'.repeat(600)}\nx\n`);
    expect(errorOf(() => split(wide, 10_000, { maxLineBytes: 1000 })).context).toMatchObject({ line: 1 });
    expect(split(wide, 10_000, { maxLineBytes: 1200 })).toHaveLength(2);
  });

  it('is linear: a 64 MB line in 64 KB chunks is split in well under a second (it took minutes)', async () => {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    async function* input() {
      for (let i = 0; i < 1024; i++) yield chunk;
      yield Buffer.from('\nnext\n');
    }
    const started = performance.now();
    const lengths: number[] = [];
    for await (const { text, line } of splitLines(input(), { maxLineBytes: 64 * 1024 * 1024 })) {
      lengths.push(line, text.length);
    }
    expect(lengths).toEqual([1, 64 * 1024 * 1024, 2, 4]);
    // Linear work is ~0.2 s here; the quadratic splitter it replaces took minutes.
    expect(performance.now() - started).toBeLessThan(10_000);
  });
});
