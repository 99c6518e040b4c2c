/**
 * The write-ahead log's files as recovery sees them: their names (`wal-<first seq>.log`) and the
 * records in them, read back in order with a torn tail cut off.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { getLogger } from '../logging/logger.ts';
import { decodeRecord, type PointBatch } from './codec.ts';
import { LogDictionary } from './log-dictionary.ts';

/** Zeros to compare a preallocated tail with (and, in wal.ts, to preallocate with). */
export const ZEROS = Buffer.alloc(1 << 20);

export const WAL_FILE_RE = /^wal-(\d{16})\.log$/;
export const walFileName = (firstSeq: number) => `wal-${String(firstSeq).padStart(16, '0')}.log`;

export interface RecoveredWal {
  batches: PointBatch[];
  files: { name: string; lastSeq: number; size: number }[];
  truncated: number;
}

/** Reads every log file in order; a torn or corrupt tail is cut off (when `repair`) or ignored. */
export async function readWal(dir: string, repair: boolean): Promise<RecoveredWal> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).filter((n) => WAL_FILE_RE.test(n)).sort();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { batches: [], files: [], truncated: 0 };
    throw error;
  }
  const batches: PointBatch[] = [];
  const files: RecoveredWal['files'] = [];
  let truncated = 0;
  for (const name of names) {
    const file = path.join(dir, name);
    let buf: Buffer;
    try {
      buf = await fsp.readFile(file);
    } catch (error) {
      // A reader may race the writer deleting a compacted file: its points are in segments now.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    let offset = 0;
    let lastSeq = 0;
    // Each file numbers its names and metadata texts anew (log-dictionary.ts).
    const dict = new LogDictionary();
    while (offset < buf.length) {
      const r = decodeRecord(buf, offset, dict);
      if (!r.ok) {
        if (repair) {
          // A zero tail is preallocated space (normal after a crash); anything else was torn.
          if (!isZero(buf, offset)) {
            getLogger().warn({ file, offset, reason: r.reason }, 'truncating torn write-ahead log tail');
            truncated += buf.length - offset;
          }
          await fsp.truncate(file, offset);
        }
        break;
      }
      batches.push(r.batch);
      lastSeq = r.batch.firstSeq + r.batch.count - 1;
      offset += r.length;
    }
    files.push({ name, lastSeq, size: offset });
  }
  return { batches, files, truncated };
}

function isZero(buf: Buffer, from: number): boolean {
  for (let at = from; at < buf.length; at += ZEROS.length) {
    const end = Math.min(buf.length, at + ZEROS.length);
    if (!buf.subarray(at, end).equals(ZEROS.subarray(0, end - at))) return false;
  }
  return true;
}
