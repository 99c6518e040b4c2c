/**
 * Reading a storage's lineage log back: every log object, every line, strictly (a torn or edited
 * line is E021 naming the object and line — a lineage log that lies is worse than none), joined
 * into one index of writes: each intent with its commit, abort or neither.
 */
import { FormatError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { decodeUtf8 } from '../util/utf8.ts';
import { LINEAGE_PREFIX, outputUrl } from './log.ts';
import { type CommitRecord, type IntentRecord, type LineageRecord, parseLineageLine } from './record.ts';

/** One write as the log tells it. */
export interface LineageWrite {
  intent: IntentRecord;
  commit?: CommitRecord;
  aborted?: string;
}

export interface LineageIndex {
  /** Every write, in the order of its intent's time (then id). */
  writes: LineageWrite[];
  /** Per output URL, its writes in time order (the last is the current one). */
  byOutput: Map<string, LineageWrite[]>;
  /** Per output URL, when a sluice operation last deleted it. */
  deletedAt: Map<string, string>;
  /** Per input URL, the writes that read it (for `--downstream`). */
  consumers: Map<string, LineageWrite[]>;
}

export async function readLineage(storage: Storage): Promise<LineageIndex> {
  const records: LineageRecord[] = [];
  for await (const entry of storage.list({ prefix: LINEAGE_PREFIX, recursive: true })) {
    if (entry.type !== 'object' || !entry.key.endsWith('.jsonl')) continue;
    const source = outputUrl(storage, entry.key);
    const text = decodeUtf8(await storage.get(entry.key));
    // A log whose bytes are not UTF-8 was damaged: refused, not repaired into U+FFFD.
    if (text === undefined)
      throw new FormatError(`${source}: a lineage log object that is not valid UTF-8`, {
        context: { file: source },
      });
    let line = 0;
    for (const row of text.split('\n')) {
      line++;
      if (row.trim() === '') continue;
      records.push(parseLineageLine(row, source, line));
    }
  }
  return indexRecords(records);
}

export function indexRecords(records: readonly LineageRecord[]): LineageIndex {
  const byId = new Map<string, LineageWrite>();
  const deletedAt = new Map<string, string>();
  for (const r of records) if (r.kind === 'intent') byId.set(r.id, { intent: r });
  for (const r of records) {
    if (r.kind === 'delete') {
      const before = deletedAt.get(r.output);
      if (before === undefined || before < r.at) deletedAt.set(r.output, r.at);
      continue;
    }
    const write = byId.get(r.id);
    if (!write || r.kind === 'intent') continue;
    if (r.kind === 'commit') write.commit = r;
    else write.aborted = r.error;
  }
  const writes = [...byId.values()].sort(
    (a, b) => a.intent.at.localeCompare(b.intent.at) || a.intent.id.localeCompare(b.intent.id),
  );
  const byOutput = new Map<string, LineageWrite[]>();
  const consumers = new Map<string, LineageWrite[]>();
  for (const w of writes) {
    push(byOutput, w.intent.output, w);
    for (const input of w.intent.inputs) if (input.url !== undefined) push(consumers, input.url, w);
  }
  return { writes, byOutput, deletedAt, consumers };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The write that made the output's current bytes: its last committed write (undefined: none). */
export function currentWrite(index: LineageIndex, output: string): LineageWrite | undefined {
  const writes = index.byOutput.get(output) ?? [];
  for (let i = writes.length - 1; i >= 0; i--) if (writes[i]?.commit) return writes[i];
  return undefined;
}
