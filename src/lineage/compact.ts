/**
 * Compaction of a lineage log: each past day's many small log objects (one per batch of records)
 * become one object. The merged JSONL is written by the storage's atomic put first, then the
 * objects it was made from are deleted; a crash between leaves both, and readers keep one record
 * per kind and id (`indexRecords`), so the log reads the same in that window. Today's folder is
 * never merged (writers still add to it), and an object that lands in a past day's folder after
 * the listing (a commit that waited in memory since before midnight) is left for the next run.
 */
import { randomBytes } from 'node:crypto';
import { FormatError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { decodeUtf8 } from '../util/utf8.ts';
import { LINEAGE_PREFIX, outputUrl } from './log.ts';
import { parseLineageLine } from './record.ts';

export interface CompactLineageOptions {
  /** What "today" is (UTC, as log folders are named). @default new Date() */
  now?: Date;
}

export interface CompactedDay {
  /** The folder's date, `YYYY-MM-DD`. */
  day: string;
  /** Log objects merged (deleted once the merged object was stored). */
  objects: number;
  /** Records in the merged object (a record present in two objects is kept once). */
  records: number;
  /** The merged object's key. */
  key: string;
}

export interface CompactReport {
  /** Days merged, oldest first. */
  compacted: CompactedDay[];
  /** Past days already held in one object. */
  unchanged: number;
  /** Today's (and any later) folders, not touched. */
  skipped: number;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Merges each past day's log objects under `_sluice/lineage/` into one; returns what it did. */
export async function compactLineage(
  storage: Storage,
  options: CompactLineageOptions = {},
): Promise<CompactReport> {
  const today = (options.now ?? new Date()).toISOString().slice(0, 10);
  const days = await logObjectsByDay(storage);
  const report: CompactReport = { compacted: [], unchanged: 0, skipped: 0 };
  for (const [day, keys] of [...days].sort(([a], [b]) => a.localeCompare(b))) {
    if (day >= today) report.skipped++;
    else if (keys.length < 2) report.unchanged++;
    else report.compacted.push(await compactDay(storage, day, keys.sort()));
  }
  return report;
}

async function logObjectsByDay(storage: Storage): Promise<Map<string, string[]>> {
  const days = new Map<string, string[]>();
  for await (const entry of storage.list({ prefix: LINEAGE_PREFIX, recursive: true })) {
    if (entry.type !== 'object' || !entry.key.endsWith('.jsonl')) continue;
    const [day, name, ...deeper] = entry.key.slice(LINEAGE_PREFIX.length).split('/');
    // Only `<day>/<object>.jsonl` is the log's own layout; anything else is left alone.
    if (day === undefined || !DAY.test(day) || name === undefined || deeper.length > 0) continue;
    const keys = days.get(day);
    if (keys) keys.push(entry.key);
    else days.set(day, [entry.key]);
  }
  return days;
}

/**
 * One day: every line of every object, checked strictly (a torn line stops the run before
 * anything is written), kept once per kind and id, stored as one object; then the parts go.
 */
async function compactDay(storage: Storage, day: string, keys: string[]): Promise<CompactedDay> {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const key of keys) {
    const source = outputUrl(storage, key);
    const text = decodeUtf8(await storage.get(key));
    if (text === undefined)
      throw new FormatError(
        `${source}: a lineage log object that is not valid UTF-8; nothing was compacted`,
        {
          context: { file: source },
        },
      );
    let n = 0;
    for (const row of text.split('\n')) {
      n++;
      if (row.trim() === '') continue;
      const record = parseLineageLine(row, source, n);
      const id = `${record.kind}:${record.id}`;
      if (seen.has(id)) continue;
      seen.add(id);
      lines.push(row);
    }
  }
  // A fresh name: a later run merges it with whatever lands in the folder after this one.
  const key = `${LINEAGE_PREFIX}${day}/compacted-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}.jsonl`;
  await storage.put(key, `${lines.join('\n')}\n`, { contentType: 'application/x-ndjson' });
  await storage.deleteMany(keys);
  return { day, objects: keys.length, records: lines.length, key };
}
