/**
 * The write-ahead log's files as recovery sees them: their names (`wal-<first seq>.log`) and the
 * records in them, read back in order with a torn tail cut off.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { TimeSeriesError } from '../errors.ts';
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

/** Bytes read between two calls of readWal's `onBytes`: a call per record would cost more than the report. */
const REPORT_BYTES = 256 << 10;

/**
 * Reads every log file in order; a torn or corrupt tail is cut off (when `repair`) or ignored.
 * `onBytes` is told, now and then, how many more bytes of the files were read (every byte of
 * each file is counted once, a zero or torn tail included, so the counts add up to the files' sizes).
 */
export async function readWal(
  dir: string,
  repair: boolean,
  onBytes?: (bytes: number) => void,
): Promise<RecoveredWal> {
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
    let reported = 0;
    // Each file numbers its names and metadata texts anew (log-dictionary.ts).
    const dict = new LogDictionary();
    while (offset < buf.length) {
      if (onBytes && offset - reported >= REPORT_BYTES) {
        onBytes(offset - reported);
        reported = offset;
      }
      const r = decodeRecord(buf, offset, dict);
      if (!r.ok) {
        if (r.intact) throw refusedRecord(file, offset, r.reason);
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
    onBytes?.(buf.length - reported);
    files.push({ name, lastSeq, size: offset });
  }
  return { batches, files, truncated };
}

/** The log files' size on disk in `dir` (0 when it has none): what readWal will read. */
export async function walFilesBytes(dir: string): Promise<number> {
  const names = await fsp.readdir(dir).catch(() => [] as string[]);
  let bytes = 0;
  for (const name of names.filter((n) => WAL_FILE_RE.test(n)))
    bytes += (await fsp.stat(path.join(dir, name)).catch(() => undefined))?.size ?? 0;
  return bytes;
}

function isZero(buf: Buffer, from: number): boolean {
  for (let at = from; at < buf.length; at += ZEROS.length) {
    const end = Math.min(buf.length, at + ZEROS.length);
    if (!buf.subarray(at, end).equals(ZEROS.subarray(0, end - at))) return false;
  }
  return true;
}

/**
 * A whole record (CRC intact) this sluice cannot read: a newer sluice's, most likely. Refused
 * before anything is truncated or written, so the store is left for the sluice that wrote it.
 */
export function refusedRecord(
  file: string,
  offset: number,
  reason: string,
): InstanceType<typeof TimeSeriesError> {
  return new TimeSeriesError(
    `${file}: the record at byte ${offset} is whole but cannot be read (${reason}); nothing was truncated or written: open the store with the sluice version that wrote it`,
    { context: { file, offset } },
  );
}
