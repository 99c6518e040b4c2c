/**
 * Write-ahead log on local disk: append-only files of CRC-checked batch records. Concurrent
 * appends share one write and one fsync (group commit); a promise resolves only once its record
 * is durable, and the store applies a batch to memory only then, so a query never sees a point
 * that a crash could take back.
 */
import { closeSync, constants, fsyncSync, openSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { LockError, TimeSeriesError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { decodeRecord, type PointBatch } from './codec.ts';

export interface WalOptions {
  durability: 'fsync' | 'os';
  groupCommitMs: number;
  groupCommitBytes: number;
  segmentBytes: number;
  /** Called with committed batches, in log order, before their promises resolve. */
  onCommit: (batches: PointBatch[]) => void;
}

interface Pending {
  bufs: Buffer[];
  batch: PointBatch;
  resolve: () => void;
  reject: (error: Error) => void;
}

const PREALLOCATE = 8 << 20;
const LARGE_GROUP = 64 << 10;
const ZEROS = Buffer.alloc(1 << 20);

const FILE_RE = /^wal-(\d{16})\.log$/;
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
    names = (await fsp.readdir(dir)).filter((n) => FILE_RE.test(n)).sort();
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
    while (offset < buf.length) {
      const r = decodeRecord(buf, offset);
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

export class WriteAheadLog {
  readonly dir: string;
  private readonly options: WalOptions;
  private fd: fsp.FileHandle | undefined;
  private fileName = '';
  private fileSize = 0;
  /** Physical size: the zero-filled space past fileSize is preallocated. */
  private allocated = 0;
  private fileLastSeq = 0;
  /** Closed files and the highest seq in each, oldest first. */
  private closedFiles: { name: string; lastSeq: number; size: number }[] = [];
  private pending: Pending[] = [];
  private pendingBytes = 0;
  private scheduled = false;
  private chain: Promise<void> = Promise.resolve();
  private failed: Error | undefined;
  private closed = false;

  private constructor(dir: string, options: WalOptions) {
    this.dir = dir;
    this.options = options;
  }

  static async open(dir: string, options: WalOptions, recovered: RecoveredWal, nextSeq: number) {
    const wal = new WriteAheadLog(dir, options);
    // An empty file left by an earlier open can have the name the new current file gets: it must
    // not also count as a closed file, or compaction would delete the file being appended to.
    const current = walFileName(nextSeq);
    wal.closedFiles = recovered.files.filter((f) => f.name !== current);
    await wal.openFile(nextSeq);
    return wal;
  }

  get walBytes(): number {
    return this.closedFiles.reduce((s, f) => s + f.size, 0) + this.fileSize;
  }
  get walFiles(): number {
    return this.closedFiles.length + 1;
  }

  append(bufs: Buffer[], batch: PointBatch): Promise<void> {
    if (this.closed) return Promise.reject(new TimeSeriesError(`Time-series log ${this.dir} is closed`));
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ bufs, batch, resolve, reject });
      for (const b of bufs) this.pendingBytes += b.length;
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.chain = this.chain.then(() => this.flushPending());
    };
    if (this.pendingBytes >= this.options.groupCommitBytes) queueMicrotask(run);
    else if (this.options.groupCommitMs > 0) setTimeout(run, this.options.groupCommitMs);
    else setImmediate(run);
  }

  private async flushPending(): Promise<void> {
    this.scheduled = false;
    const group = this.pending;
    if (group.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    const fd = this.fd;
    try {
      if (this.failed) throw this.failed;
      if (!fd) throw new TimeSeriesError(`Time-series log ${this.dir} is closed`);
      const parts = group.flatMap((p) => p.bufs);
      const bytes = parts.reduce((s, b) => s + b.length, 0);
      // Many small records (single-point writers) cost less as one copied buffer than as iovecs.
      const bufs = parts.length > 16 && bytes < 1 << 20 ? [Buffer.concat(parts, bytes)] : parts;
      try {
        await this.ensureSpace(fd, bytes);
        let written = 0;
        while (written < bytes) {
          const rest = written === 0 ? bufs : [Buffer.concat(bufs).subarray(written)];
          const r = await fd.writev(rest, this.fileSize + written);
          written += r.bytesWritten;
        }
        if (this.options.durability === 'fsync') await fd.datasync();
      } catch (error) {
        // Cut the partial group off so later records are not hidden behind a torn one.
        try {
          await fd.truncate(this.fileSize);
          this.allocated = this.fileSize;
        } catch {
          this.failed = new TimeSeriesError(
            `Time-series log ${path.join(this.dir, this.fileName)} is damaged and cannot be repaired; reopen the store`,
            { cause: error },
          );
        }
        throw new TimeSeriesError(
          `Cannot write time-series log ${path.join(this.dir, this.fileName)}: ${(error as Error).message}; the batch was not stored`,
          { cause: error, context: { file: path.join(this.dir, this.fileName) } },
        );
      }
      this.fileSize += bytes;
      if (this.fileSize > this.allocated) this.allocated = this.fileSize;
      const last = group[group.length - 1]?.batch;
      if (last) this.fileLastSeq = last.firstSeq + last.count - 1;
      this.options.onCommit(group.map((p) => p.batch));
      for (const p of group) p.resolve();
      if (this.fileSize >= this.options.segmentBytes) await this.rotateNow(this.fileLastSeq + 1);
    } catch (error) {
      for (const p of group) p.reject(error as Error);
    } finally {
      if (this.pending.length > 0) this.schedule();
    }
  }

  private async openFile(firstSeq: number): Promise<void> {
    this.fileName = walFileName(firstSeq);
    // Positional writes (not O_APPEND): records overwrite preallocated zeros.
    this.fd = await fsp.open(path.join(this.dir, this.fileName), constants.O_RDWR | constants.O_CREAT, 0o644);
    this.fileSize = (await this.fd.stat()).size;
    this.allocated = this.fileSize;
    this.fileLastSeq = firstSeq - 1;
    fsyncDir(this.dir);
  }

  /**
   * Keeps zero-filled space ahead of the write position. Overwriting allocated blocks lets each
   * commit's fdatasync skip the inode update an append needs (about 3× faster on ext4 here);
   * recovery treats a zero tail as the end of the log.
   */
  private async ensureSpace(fd: fsp.FileHandle, bytes: number): Promise<void> {
    if (this.fileSize + bytes <= this.allocated) return;
    // A large group just extends the file: one inode update is cheap next to its data, and
    // zero-filling first would double the bytes written.
    if (bytes >= LARGE_GROUP) return;
    const target = this.fileSize + bytes + PREALLOCATE;
    for (let at = this.allocated; at < target; ) {
      const n = Math.min(ZEROS.length, target - at);
      const r = await fd.write(ZEROS, 0, n, at);
      at += r.bytesWritten;
    }
    if (this.options.durability === 'fsync') await fd.datasync();
    this.allocated = target;
  }

  private async closeFile(): Promise<void> {
    if (!this.fd) return;
    // Closed files carry no preallocated tail.
    if (this.allocated > this.fileSize) await this.fd.truncate(this.fileSize);
    await this.fd.close();
    this.fd = undefined;
  }

  private async rotateNow(nextSeq: number): Promise<void> {
    if (this.fileSize === 0) return;
    await this.closeFile();
    this.closedFiles.push({ name: this.fileName, lastSeq: this.fileLastSeq, size: this.fileSize });
    await this.openFile(nextSeq);
  }

  /**
   * Starts a new log file after everything committed so far, runs `atRotation` at that exact
   * point (no commit can interleave) and returns the files that now hold only older records.
   */
  rotate<T>(nextSeq: () => number, atRotation: () => T): Promise<{ files: string[]; result: T }> {
    const op = this.chain.then(async () => {
      await this.rotateNow(nextSeq());
      const result = atRotation();
      return { files: this.closedFiles.map((f) => f.name), result };
    });
    this.chain = op.then(
      () => undefined,
      () => undefined,
    );
    return op;
  }

  /** Deletes closed files whose every record has seq ≤ `seq` (they are in published segments). */
  async dropUpTo(seq: number): Promise<void> {
    const keep: typeof this.closedFiles = [];
    for (const f of this.closedFiles) {
      if (f.lastSeq <= seq) await fsp.rm(path.join(this.dir, f.name), { force: true });
      else keep.push(f);
    }
    this.closedFiles = keep;
  }

  /** Waits until every pending append is written (and fsynced per durability). */
  async flush(): Promise<void> {
    while (this.pending.length > 0 || this.scheduled) {
      if (this.pending.length > 0 && !this.scheduled) this.schedule();
      await new Promise((r) => setImmediate(r));
      await this.chain;
    }
    await this.chain;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    await this.chain;
    await this.closeFile();
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** One writer per log directory: a LOCK file holding the owner's pid; a dead owner's lock is taken over. */
export async function acquireLock(dir: string): Promise<() => Promise<void>> {
  const file = path.join(dir, 'LOCK');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fsp.writeFile(file, String(process.pid), { flag: 'wx' });
      return async () => {
        await fsp.rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await fsp.readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new LockError(
          `Time-series store log ${dir} is open for writing by process ${pid}; open it with readOnly: true or stop that process`,
          { context: { dir, pid } },
        );
      }
      if (pid === process.pid) {
        throw new LockError(
          `Time-series store log ${dir} is already open for writing in this process; reuse that store`,
          {
            context: { dir },
          },
        );
      }
      await fsp.rm(file, { force: true });
    }
  }
  throw new LockError(`Cannot take the lock ${file}`, { context: { dir } });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
