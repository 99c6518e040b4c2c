/**
 * JSON outputs that DuckDB writes (from a query) in the layout the format layer
 * gives rows (formats/json.ts): DuckDB's `ARRAY true` puts each row on one tab-indented line, so
 * the rows are staged as JSON lines and rewritten here into an array, two-space indented like
 * `JSON.stringify(rows, null, 2)` plus a newline, or one compact line with `pretty: false`.
 * Values are re-indented as text, never parsed, so every digit DuckDB wrote is kept.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { indentJson } from '../formats/json-indent.ts';
import { splitLines } from '../util/lines.ts';

const INDENT = 2;
/** DuckDB's own output, not user input: only a JavaScript string's limit applies. */
const MAX_ROW_BYTES = 512 * 1024 * 1024;

/** Rewrites a JSON-lines file into a JSON array file at the same path (mode 0600). */
export async function jsonLinesToArray(file: string, pretty: boolean, signal?: AbortSignal): Promise<void> {
  const target = `${file}.array`;
  await pipeline(Readable.from(arrayText(file, pretty, signal)), createWriteStream(target, { mode: 0o600 }));
  await rename(target, file);
}

async function* arrayText(file: string, pretty: boolean, signal?: AbortSignal): AsyncIterable<string> {
  const pad = ' '.repeat(INDENT);
  let first = true;
  yield '[';
  const lines = splitLines(createReadStream(file), {
    source: file,
    label: 'JSON',
    maxLineBytes: MAX_ROW_BYTES,
    signal,
  });
  for await (const { text } of lines) {
    if (text === '') continue;
    const row = pretty ? `\n${pad}${indentJson(text, INDENT).replaceAll('\n', `\n${pad}`)}` : text;
    yield first ? row : `,${row}`;
    first = false;
  }
  yield pretty ? (first ? ']\n' : '\n]\n') : ']';
}
