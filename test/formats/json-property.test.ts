/**
 * Random mutations of valid JSON and JSON Lines, through every reader: each either accepts with
 * exactly the values JSON.parse gives (plus the documented number rules) or refuses with E021 —
 * never another error, a hang or a partial answer.
 */

import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.ts';
import fc from '../helpers/fc.ts';
import { ENTRY_POINTS, type EntryPoint } from './json-entry-points.ts';

type Numbers = 'bigint' | 'refuse';
type Outcome = { ok: true; value: unknown } | { ok: false };

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** JSON.parse of `text` with the readers' number rules; no outcome when JSON.parse refuses it. */
function reference(text: string, numbers: Numbers): Outcome {
  try {
    const value = JSON.parse(text, (_key, v, context?: { source?: string }) => {
      if (typeof v !== 'number' || Number.isSafeInteger(v)) return v;
      if (!Number.isFinite(v)) throw new RangeError('too large');
      const source = context?.source ?? '';
      if (!/^-?\d+$/.test(source)) return v;
      if (numbers === 'refuse') throw new RangeError('unsafe integer');
      return BigInt(source);
    });
    return { ok: true, value };
  } catch {
    return { ok: false };
  }
}

function decode(bytes: Buffer): string | undefined {
  const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  try {
    return fatal.decode(bytes.subarray(start));
  } catch {
    return undefined;
  }
}

const isObject = (v: unknown) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What a document reader must give: the table's rows, or the poller's one record. */
function expectedDocument(bytes: Buffer, reader: 'table' | 'pollerJson'): Outcome {
  const text = decode(bytes);
  if (text === undefined) return { ok: false };
  const r = reference(text, reader === 'table' ? 'bigint' : 'refuse');
  if (!r.ok || reader === 'pollerJson') return r.ok ? { ok: true, value: [r.value] } : r;
  if (isObject(r.value)) return { ok: true, value: [r.value] };
  return Array.isArray(r.value) && r.value.every(isObject) ? r : { ok: false };
}

/** What a JSON Lines reader must give: one value per line that is not blank. */
function expectedLines(bytes: Buffer, reader: 'jsonl' | 'pollerJsonl'): Outcome {
  const text = decode(bytes);
  if (text === undefined) return { ok: false };
  const values: unknown[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (/^[ \t\r]*$/.test(line)) continue;
    const r = reference(line, reader === 'jsonl' ? 'bigint' : 'refuse');
    if (!r.ok || (reader === 'jsonl' && !isObject(r.value))) return { ok: false };
    values.push(r.value);
  }
  return { ok: true, value: values };
}

async function check(read: EntryPoint, bytes: Buffer, chunk: number, expected: Outcome, exact: boolean) {
  let got: unknown[];
  try {
    got = await read(bytes, 'm', chunk);
  } catch (error) {
    if (!(error instanceof FormatError) || error.code !== 'E021') throw error;
    expect(expected.ok, `refused what JSON.parse accepts: ${error.message}`).toBe(false);
    return;
  }
  expect(expected.ok, 'accepted what JSON.parse refuses').toBe(true);
  // With a backslash, JSON.parse itself can return a wrong key (a V8 bug the readers work
  // around), so only acceptance is compared then.
  if (expected.ok && exact) expect(got).toEqual(expected.value);
}

// Characters that break JSON in the ways users do, plus some that keep it valid.
const TROUBLE = [
  ',',
  ']',
  '}',
  '[',
  '{',
  '"',
  ':',
  ' ',
  '\n',
  '\r',
  '\t',
  '\f',
  '\v',
  '\u00a0',
  '\u2028',
  '\uFEFF',
];
const MORE = [
  '/',
  '*',
  "'",
  'N',
  'I',
  '0',
  '1',
  '9',
  '-',
  '+',
  '.',
  'e',
  'E',
  'x',
  't',
  'n',
  '\\',
  'u',
  'é',
  '😀',
];
const mutation = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('insert', 'delete', 'replace', 'byte'),
  text: fc.constantFrom(...TROUBLE, ...MORE, '12345678901234567', 'e999', '//c\n', ',]'),
  byte: fc.constantFrom(0xff, 0xc3, 0x80, 0xed, 0xe2, 0x00),
});

interface Mutation {
  at: number;
  kind: string;
  text: string;
  byte: number;
}

function mutate(source: string, mutations: Mutation[]) {
  let bytes = Buffer.from(source);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % (bytes.length + 1);
    const insert = m.kind === 'byte' ? Buffer.from([m.byte]) : Buffer.from(m.text);
    const cut = m.kind === 'delete' || m.kind === 'replace' ? 1 : 0;
    bytes = Buffer.concat([
      bytes.subarray(0, at),
      m.kind === 'delete' ? Buffer.alloc(0) : insert,
      bytes.subarray(at + cut),
    ]);
  }
  return bytes;
}

const value = fc.jsonValue({ maxDepth: 3 });
const row = fc.dictionary(fc.string({ maxLength: 6 }), value, { maxKeys: 4 });
const mutations = fc.array(mutation, { minLength: 0, maxLength: 3 });
const chunk = fc.integer({ min: 1, max: 64 });
const indent = fc.constantFrom(undefined, 0, 1, 2, '\t');

describe('mutated JSON: accepted exactly as JSON.parse reads it, or E021', () => {
  it('documents through the table reader and the poller', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.array(row, { maxLength: 5 }), row, value),
        indent,
        mutations,
        chunk,
        async (doc, space, ms, size) => {
          const bytes = mutate(JSON.stringify(doc, null, space) ?? 'null', ms);
          const exact = !bytes.includes(0x5c);
          await check(ENTRY_POINTS.table, bytes, size, expectedDocument(bytes, 'table'), exact);
          await check(ENTRY_POINTS.pollerJson, bytes, size, expectedDocument(bytes, 'pollerJson'), exact);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('JSON Lines through the JSONL reader and the poller', async () => {
    const lineEnd = fc.constantFrom('\n', '\r\n', '\n\n', '\n \t\n', '\n\r\r\n');
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { maxLength: 5 }),
        lineEnd,
        fc.boolean(),
        mutations,
        chunk,
        async (rows, end, last, ms, size) => {
          const text = rows.map((r) => JSON.stringify(r)).join(end) + (last ? end : '');
          const bytes = mutate(text, ms);
          const exact = !bytes.includes(0x5c);
          await check(ENTRY_POINTS.jsonl, bytes, size, expectedLines(bytes, 'jsonl'), exact);
          await check(ENTRY_POINTS.pollerJsonl, bytes, size, expectedLines(bytes, 'pollerJsonl'), exact);
        },
      ),
      { numRuns: 1500 },
    );
  });
});
