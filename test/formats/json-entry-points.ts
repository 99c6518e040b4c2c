/**
 * Every JSON and JSONL reader a user's bytes can reach, as one function each, for the suites
 * that must hold for all of them (JSONTestSuite, the broken-input table, the mutation property).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { FormatError, type SluiceError } from '../../src/errors.ts';
import { jsonlReader, jsonReader } from '../../src/formats/index.ts';
import { parseRecords } from '../../src/poller/parse.ts';

export const SUITE_DIR = new URL('../fixtures/json-test-suite/test_parsing/', import.meta.url).pathname;

/** The JSONTestSuite files whose names start with `prefix` (y_, n_ or i_), with their bytes. */
export function suiteFiles(prefix: 'y_' | 'n_' | 'i_'): { name: string; bytes: Buffer }[] {
  return readdirSync(SUITE_DIR)
    .filter((name) => name.startsWith(prefix) && name.endsWith('.json'))
    .sort()
    .map((name) => ({ name, bytes: readFileSync(SUITE_DIR + name) }));
}

/** Splits bytes into chunks of `size` (so readers see splits inside tokens and UTF-8 sequences). */
export function chunked(bytes: Buffer, size = 7): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export type EntryPoint = (bytes: Buffer, name: string, chunk?: number) => Promise<unknown[]>;

/** The readers, each returning what it yields (rows or records) for a file called `name`. */
export const ENTRY_POINTS: Record<'table' | 'jsonl' | 'pollerJson' | 'pollerJsonl', EntryPoint> = {
  table: (bytes, name, chunk) => collect(jsonReader.decode(chunked(bytes, chunk), { source: name })),
  jsonl: (bytes, name, chunk) => collect(jsonlReader.decode(chunked(bytes, chunk), { source: name })),
  pollerJson: async (bytes, name, chunk) =>
    (await collect(parseRecords(Readable.from(chunked(bytes, chunk)), `${name}.json`))).map((r) => r.record),
  pollerJsonl: async (bytes, name, chunk) =>
    (await collect(parseRecords(Readable.from(chunked(bytes, chunk)), `${name}.jsonl`))).map((r) => r.record),
};

/** The error `run` fails with; fails the test when it succeeds or throws anything but FormatError. */
export async function formatErrorOf(run: () => Promise<unknown>, what: string): Promise<SluiceError> {
  let result: unknown;
  try {
    result = await run();
  } catch (error) {
    expect(error, `${what}: ${String(error)}`).toBeInstanceOf(FormatError);
    expect((error as SluiceError).code, what).toBe('E021');
    return error as SluiceError;
  }
  throw new Error(`${what}: expected E021, got ${JSON.stringify(result, bigintSafe)?.slice(0, 200)}`);
}

const bigintSafe = (_k: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);
