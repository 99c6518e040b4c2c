/**
 * Import from and export to the seed's layout (`<dir>/<variable>.jsonl`, one
 * `{"timestamp", "value", "metadata"}` object per line), CSV and Parquet. A file is imported all
 * or nothing: every line is validated before the first point is stored.
 */

import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import type { Connections } from '../engine/duckdb.ts';
import { FormatError, InvalidPointError, SluiceError, ValidationError } from '../errors.ts';
import { rowFrom } from '../formats/csv.ts';
import { CsvScanner } from '../formats/csv-scan.ts';
import { fromOsError } from '../os-errors.ts';
import { isDecimalLiteral, isNonFiniteWord, readDecimal } from '../util/decimal-text.ts';
import { parseJson } from '../util/json-parse.ts';
import { parseStrictJson } from '../util/json-strict.ts';
import { isBlankLine, LineSplitter } from '../util/lines.ts';
import { progressCounter, throttleProgress } from '../util/progress.ts';
import { buildBatch } from './batch.ts';
import { writeParquet } from './export-parquet.ts';
import type { SeriesReader } from './series-reader.ts';
import type { DataPointInput, ProgressEvent } from './types.ts';

export interface ImportOptions {
  /** Points per stored batch. @default 10000 */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (event: ProgressEvent) => void;
}

export interface ImportResult {
  files: number;
  points: number;
}

/** Where imported points go: the store's write path. */
export interface PointSink {
  storeDataPoints(points: readonly DataPointInput[]): Promise<void>;
}

/** What an export reads points through. */
export type ExportSource = Pick<SeriesReader, 'variables' | 'query' | 'scan'>;

/** Imports a directory of `<variable>.jsonl` files, or one .jsonl / .csv file. */
export async function importPath(store: PointSink, target: string, options: ImportOptions = {}) {
  const st = await fsp.stat(target).catch((error: unknown) => {
    throw (
      fromOsError(error, { path: target, access: 'read' }) ??
      new ValidationError(`Cannot import ${target}: ${(error as Error).message}`, { cause: error })
    );
  });
  const files = st.isDirectory()
    ? (await fsp.readdir(target))
        .filter((n) => n.endsWith('.jsonl'))
        .sort()
        .map((n) => path.join(target, n))
    : [target];
  let points = 0;
  // Bytes read and checked (most of the work), then points stored, a few times a second.
  const report = throttleProgress(options.onProgress);
  const sizes = report ? await Promise.all(files.map(async (f) => (await fsp.stat(f)).size)) : [];
  const total = sizes.reduce((a, b) => a + b, 0);
  let before = 0;
  options.onProgress?.({ operation: 'ts-import', done: 0, total: files.length, unit: 'files' });
  for (const [i, file] of files.entries()) {
    options.signal?.throwIfAborted();
    const detail = path.basename(file);
    const read = (n: number) =>
      report?.({ operation: 'ts-import', done: before + n, total, unit: 'bytes', detail });
    const parsed = file.endsWith('.csv') ? await readCsv(file, read) : await readJsonl(file, read);
    before += sizes[i] ?? 0;
    points += await storeFile(store, file, parsed, { ...options, onProgress: report });
    options.onProgress?.({ operation: 'ts-import', done: i + 1, total: files.length, unit: 'files' });
  }
  return { files: files.length, points } satisfies ImportResult;
}

interface Parsed {
  points: DataPointInput[];
  lines: number[];
}

async function storeFile(store: PointSink, file: string, parsed: Parsed, options: ImportOptions) {
  try {
    buildBatch(parsed.points);
  } catch (error) {
    if (error instanceof InvalidPointError) {
      const line = parsed.lines[Number(error.context.index)] ?? '?';
      throw new InvalidPointError(`${file} line ${line}: ${error.message.replace(/^Point \d+ /, '')}`, {
        context: { ...error.context, file, line },
        cause: error,
      });
    }
    throw error;
  }
  const size = options.batchSize ?? 10_000;
  const total = parsed.points.length;
  for (let i = 0; i < total; i += size) {
    options.signal?.throwIfAborted();
    await store.storeDataPoints(parsed.points.slice(i, i + size));
    const done = Math.min(total, i + size);
    options.onProgress?.({
      operation: 'ts-import',
      done,
      total,
      unit: 'points',
      detail: path.basename(file),
    });
  }
  return parsed.points.length;
}

function lineError(file: string, line: number, what: string): SluiceError {
  return new InvalidPointError(`${file} line ${line}: ${what}; nothing of this file was stored`, {
    context: { file, line },
  });
}

/** A number the file spells but a double cannot hold as written (E021: the file is wrong, not the store). */
function numberError(file: string, line: number, text: string, problem: string): SluiceError {
  return new FormatError(`${file} line ${line}: value ${text} ${problem}; nothing of this file was stored`, {
    context: { file, line, value: text },
  });
}

/**
 * JSON.parse rounds 9007199254740993 and turns 1e999 into Infinity without a word. For the rare
 * value that may be one of those, the line is parsed again to see the literal as written.
 */
function checkJsonValue(file: string, line: number, text: string, value: unknown): void {
  if (typeof value !== 'number' || Math.abs(value) < 2 ** 53) return;
  // The reviver sees every `value` key; the one whose holder is the line's object is the point's.
  const sources = new Map<object, string>();
  const root: unknown = JSON.parse(text, function (this: object, key, v, context?: { source?: string }) {
    if (key === 'value' && context?.source !== undefined) sources.set(this, context.source);
    return v;
  });
  const source = root !== null && typeof root === 'object' ? sources.get(root) : undefined;
  if (source === undefined) return;
  const read = readDecimal(source);
  if (read.problem !== undefined) throw numberError(file, line, source, read.problem);
}

/**
 * The seed's JSONL layout, read strictly (util/json-strict.ts) through the bounded line splitter:
 * invalid UTF-8, broken JSON, nesting over 512 and integers beyond ±(2^53 − 1) (a point's value
 * is a double, so they would be rounded) are E021 naming the file and line; blank lines are skipped.
 */
async function readJsonl(file: string, onBytes?: (bytes: number) => void): Promise<Parsed> {
  const fallback = path.basename(file).replace(/\.jsonl$/, '');
  const out: Parsed = { points: [], lines: [] };
  const splitter = new LineSplitter({ label: 'JSONL', source: file });
  const at = { label: 'JSONL', source: file, line: 0, column: 1 };
  const strict = { bigIntegers: 'refuse', after: 'JSON Lines has one value per line' } as const;
  const take = (lines: string[]) => {
    for (const text of lines) {
      at.line++;
      if (isBlankLine(text)) continue;
      const obj = parseStrictJson(text, at, strict) as Record<string, unknown>;
      if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
        throw lineError(file, at.line, 'is not a JSON object');
      checkJsonValue(file, at.line, text, obj.value);
      const variable = typeof obj.variable === 'string' ? obj.variable : fallback;
      out.points.push({
        variable,
        timestamp: obj.timestamp as never,
        value: (obj.value === undefined ? null : obj.value) as never,
        metadata: obj.metadata as never,
      });
      out.lines.push(at.line);
    }
  };
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    take(splitter.push(chunk as Buffer));
    bytes += (chunk as Buffer).length;
    onBytes?.(bytes);
  }
  take(splitter.end());
  return out;
}

async function readCsv(file: string, onBytes?: (bytes: number) => void): Promise<Parsed> {
  // The strict reader: a broken CSV is E021 naming the file and line, and line numbers are
  // exact (quoted newlines and blank lines included).
  const rows: { row: Record<string, string>; line: number }[] = [];
  const scanner = new CsvScanner({ source: file });
  const take = (records: { fields: string[]; line: number }[]) => {
    const names = scanner.columns ?? [];
    for (const r of records)
      rows.push({ row: rowFrom(names, r.fields, false) as Record<string, string>, line: r.line });
  };
  let bytes = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) {
    take(scanner.push(chunk as Buffer));
    bytes += (chunk as Buffer).length;
    onBytes?.(bytes);
  }
  take(scanner.end());
  const out: Parsed = { points: [], lines: [] };
  rows.forEach(({ row: r, line }) => {
    if (r.variable === undefined || r.timestamp === undefined) {
      throw lineError(file, line, 'needs the columns variable, timestamp, value[, metadata]');
    }
    let metadata: Record<string, unknown> | undefined;
    if (r.metadata) {
      try {
        metadata = parseJson(r.metadata) as Record<string, unknown>;
      } catch {
        throw lineError(file, line, 'metadata is not JSON');
      }
    }
    const ts = /^-?\d+(\.\d+)?$/.test(r.timestamp) ? Number(r.timestamp) : r.timestamp;
    out.points.push({
      variable: r.variable,
      timestamp: ts,
      value: csvValue(file, line, r.value ?? ''),
      metadata,
    });
    out.lines.push(line);
  });
  return out;
}

/**
 * CSV cells are text: decimal numbers, true/false and the empty cell (null) are recognised, any
 * other text is a string. A cell that reads as a number a double cannot hold as written (1e999,
 * 9007199254740993) or that names a non-finite one (NaN, Infinity) is refused: storing it as text
 * or as a rounded number would both change it.
 */
function csvValue(file: string, line: number, cell: string): DataPointInput['value'] {
  if (cell === '') return null;
  if (cell === 'true' || cell === 'false') return cell === 'true';
  const text = cell.trim();
  if (isNonFiniteWord(text)) throw numberError(file, line, JSON.stringify(cell), 'is not a finite number');
  if (!isDecimalLiteral(text)) return cell;
  const read = readDecimal(text);
  if (read.problem !== undefined) throw numberError(file, line, text, read.problem);
  return read.value;
}

export interface ExportOptions {
  /** @default 'jsonl' */
  format?: 'jsonl' | 'csv' | 'parquet';
  /** A directory for jsonl (one `<variable>.jsonl` per variable), a file for csv and parquet. */
  out: string;
  from?: DataPointInput['timestamp'];
  to?: DataPointInput['timestamp'];
  onProgress?: (event: ProgressEvent) => void;
}

export async function exportStore(
  store: ExportSource,
  engine: Connections,
  variable: string | undefined,
  options: ExportOptions,
) {
  const format = options.format ?? 'jsonl';
  if (!['jsonl', 'csv', 'parquet'].includes(format)) {
    throw new ValidationError(`Option format must be jsonl, csv or parquet, got ${JSON.stringify(format)}`);
  }
  const vars = variable === undefined ? await store.variables() : [variable];
  const files: string[] = [];
  let points = 0;
  const exported = progressCounter(options.onProgress, 'ts-export', 'points');
  const q = {
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
  };
  if (format === 'jsonl') {
    await fsp.mkdir(options.out, { recursive: true });
    options.onProgress?.({ operation: 'ts-export', done: 0, total: vars.length, unit: 'steps' });
    for (const [i, v] of vars.entries()) {
      const lines: string[] = [];
      for await (const p of store.query(v, q)) {
        lines.push(JSON.stringify({ timestamp: p.timestamp, value: p.value, metadata: p.metadata ?? null }));
        exported.add();
      }
      const file = path.join(options.out, `${v}.jsonl`);
      await writeAtomic(file, lines.length > 0 ? `${lines.join('\n')}\n` : '');
      files.push(file);
      points += lines.length;
      options.onProgress?.({ operation: 'ts-export', done: i + 1, total: vars.length, unit: 'steps' });
    }
    exported.end();
    return { files, points };
  }
  await fsp.mkdir(path.dirname(options.out), { recursive: true });
  if (format === 'csv') {
    const rows: unknown[][] = [['variable', 'timestamp', 'value', 'metadata']];
    for (const v of vars) {
      for await (const p of store.query(v, q)) {
        rows.push([
          v,
          p.timestamp,
          p.value === null ? '' : String(p.value),
          p.metadata ? JSON.stringify(p.metadata) : '',
        ]);
        exported.add();
      }
    }
    points = rows.length - 1;
    await writeAtomic(options.out, stringify(rows));
  } else {
    const write = { exported, onProgress: options.onProgress };
    points = await viaTemp(options.out, (tmp) => writeParquet(store, engine, vars, tmp, q, write));
  }
  exported.end();
  files.push(options.out);
  return { files, points };
}

/**
 * Runs `write` on a temp file beside `file`, then renames it into place. A failure (a full disk)
 * removes the temp file and names `file`, not the temp file, in the E012.
 */
async function viaTemp<T>(file: string, write: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const result = await write(tmp);
    await fsp.rename(tmp, file);
    return result;
  } catch (error) {
    await fsp.rm(tmp, { force: true });
    const os = error instanceof SluiceError ? error.context.errno : (error as NodeJS.ErrnoException).code;
    if (typeof os !== 'string') throw error;
    const raw = Object.assign(new Error(String((error as Error).message), { cause: error }), { code: os });
    throw fromOsError(raw, { path: file, access: 'write', outcome: 'nothing was exported there' }) ?? error;
  }
}

async function writeAtomic(file: string, body: string): Promise<void> {
  await viaTemp(file, async (tmp) => {
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}
