/**
 * JSONTestSuite (test/fixtures/json-test-suite) through every JSON reader: y_ files accepted with
 * JSON.parse's values, n_ files refused with E021 (never another error), i_ files either.
 */
import { describe, expect, it } from 'vitest';
import { findJsonProblem } from '../../src/util/json-check.ts';
import { ENTRY_POINTS, formatErrorOf, suiteFiles } from './json-entry-points.ts';

const y = suiteFiles('y_');
const n = suiteFiles('n_');
const i = suiteFiles('i_');
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const textOf = (bytes: Buffer) => decoder.decode(bytes);
const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);

// Files that are empty, a space or a BOM: no JSON document, but a valid JSON Lines file with no
// records (an empty JSONL file is what the writers produce for zero rows).
const BLANK_AS_JSONL = [
  'n_single_space.json',
  'n_structure_UTF8_BOM_no_data.json',
  'n_structure_no_data.json',
];

/** One line, so a JSONL reader sees the whole file as one record (a final line end is allowed). */
const isOneLine = (bytes: Buffer) => !bytes.subarray(0, bytes.length - 1).includes(10);

describe('JSONTestSuite test_parsing', () => {
  it('has every file of the suite', () => {
    expect([y.length, n.length, i.length]).toEqual([95, 188, 35]);
  });

  it('y_: the poller reads every file as one record equal to JSON.parse of it', async () => {
    for (const f of y) {
      expect(await ENTRY_POINTS.pollerJson(f.bytes, f.name), f.name).toEqual([JSON.parse(textOf(f.bytes))]);
    }
  });

  it('y_: the table reader gives JSON.parse’s rows, or E021 when the file is not a table', async () => {
    let tables = 0;
    for (const f of y) {
      const value = JSON.parse(textOf(f.bytes));
      const rows = isObject(value)
        ? [value]
        : Array.isArray(value) && value.every(isObject)
          ? value
          : undefined;
      if (rows) {
        tables++;
        expect(await ENTRY_POINTS.table(f.bytes, f.name), f.name).toEqual(rows);
      } else {
        const error = await formatErrorOf(() => ENTRY_POINTS.table(f.bytes, f.name), f.name);
        expect(error.message).toMatch(/not an object|not a table: a table is an array of objects/);
        expect(error.context.file).toBe(f.name);
      }
    }
    expect(tables).toBe(14);
  });

  it('n_: the table reader and the poller refuse every file with E021 naming it', async () => {
    for (const f of n) {
      const table = await formatErrorOf(() => ENTRY_POINTS.table(f.bytes, f.name), `table ${f.name}`);
      expect(table.message).toContain(`JSON ${f.name} line `);
      expect(table.context).toMatchObject({ file: f.name, line: expect.any(Number) });
      const poller = await formatErrorOf(() => ENTRY_POINTS.pollerJson(f.bytes, f.name), `poller ${f.name}`);
      expect(poller.message).toContain(`${f.name}.json: `);
      expect(poller.context).toMatchObject({ key: `${f.name}.json` });
    }
  });

  it('n_: the JSONL readers refuse every one-line file as a line with E021 naming file and line', async () => {
    const lines = n.filter((f) => isOneLine(f.bytes) && !BLANK_AS_JSONL.includes(f.name));
    expect(lines.length).toBeGreaterThan(170);
    for (const f of lines) {
      const jsonl = await formatErrorOf(() => ENTRY_POINTS.jsonl(f.bytes, f.name), `jsonl ${f.name}`);
      expect(jsonl.message).toContain(`JSONL ${f.name} line 1`);
      expect(jsonl.context).toMatchObject({ file: f.name, line: 1 });
      const poller = await formatErrorOf(() => ENTRY_POINTS.pollerJsonl(f.bytes, f.name), `poller ${f.name}`);
      expect(poller.context).toMatchObject({ key: `${f.name}.jsonl`, line: 1, row: 1 });
    }
    for (const name of BLANK_AS_JSONL) {
      const f = n.find((x) => x.name === name);
      expect(f, name).toBeDefined();
      expect(await ENTRY_POINTS.jsonl(f?.bytes ?? Buffer.alloc(0), name)).toEqual([]);
    }
  });

  it('i_: every reader accepts with JSON.parse’s values or refuses with E021, never anything else', async () => {
    for (const f of i) {
      let expected: unknown;
      try {
        expected = JSON.parse(textOf(f.bytes.subarray(f.name.includes('BOM_empty') ? 3 : 0)));
      } catch {
        expected = undefined; // not UTF-8, or not JSON once decoded
      }
      for (const [name, read] of Object.entries(ENTRY_POINTS)) {
        let got: unknown[];
        try {
          got = await read(f.bytes, f.name);
        } catch (error) {
          await formatErrorOf(() => Promise.reject(error), `${name} ${f.name}`);
          continue;
        }
        expect(expected, `${name} ${f.name} accepted what JSON.parse refuses`).not.toBeUndefined();
        const one = name === 'table' && Array.isArray(expected) ? expected : [expected];
        expect(got, `${name} ${f.name}`).toEqual(one);
      }
    }
  });

  it('i_: the implementation-defined choices', async () => {
    const file = (name: string) => i.find((f) => f.name === name)?.bytes ?? Buffer.alloc(0);
    // Lone surrogate escapes are accepted, as JSON.parse accepts them.
    expect(await ENTRY_POINTS.pollerJson(file('i_string_1st_surrogate_but_2nd_missing.json'), 's')).toEqual([
      ['\uDADA'],
    ]);
    expect(await ENTRY_POINTS.pollerJson(file('i_object_key_lone_2nd_surrogate.json'), 's')).toEqual([
      { '\uDFAA': 0 },
    ]);
    // A leading BOM is skipped; 500 levels are within the limit of 512.
    expect(await ENTRY_POINTS.table(file('i_structure_UTF-8_BOM_empty_object.json'), 'b')).toEqual([{}]);
    expect(await ENTRY_POINTS.pollerJson(file('i_structure_500_nested_arrays.json'), 'd')).toHaveLength(1);
    // Invalid UTF-8 (and so UTF-16) is refused, naming the line.
    for (const name of [
      'i_string_invalid_utf-8.json',
      'i_string_UTF-16LE_with_BOM.json',
      'i_string_iso_latin_1.json',
    ]) {
      const error = await formatErrorOf(() => ENTRY_POINTS.pollerJson(file(name), name), name);
      expect(error.message).toMatch(/line 1 column \d+: invalid UTF-8/);
    }
    // Numbers that a double cannot hold: too large is refused everywhere; a big integer is kept as
    // BigInt by the format readers and refused by the poller (its records become JSON payloads).
    await formatErrorOf(() => ENTRY_POINTS.pollerJson(file('i_number_huge_exp.json'), 'h'), 'huge exp');
    const big = await formatErrorOf(
      () => ENTRY_POINTS.pollerJson(file('i_number_too_big_pos_int.json'), 'b'),
      'big',
    );
    expect(big.message).toContain('integer 100000000000000000000 at $[0] is beyond ±9007199254740991');
  });

  it('the validator that explains refusals agrees with JSON.parse on every file', () => {
    for (const f of [...y, ...n, ...i]) {
      let text: string;
      try {
        text = textOf(f.bytes);
      } catch {
        continue; // not UTF-8: refused before any JSON is parsed
      }
      let parses = true;
      try {
        JSON.parse(text);
      } catch {
        parses = false;
      }
      expect(findJsonProblem(text, { maxDepth: 100_000 }) === undefined, f.name).toBe(parses);
    }
  });
});
