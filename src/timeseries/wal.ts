/**
 * Write-ahead log on local disk: append-only files of CRC-checked batch records. Concurrent
 * appends share one write and one fsync (group commit); a promise resolves only once its record
 * is durable, and the store applies a batch to memory only then, so a query never sees a point
 * that a crash could take back.
 */
import { closeSync, constants, fsyncSync, openSync, writevSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { TimeSeriesError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { DISK_FULL_CODES, fromOsError } from '../os-errors.ts';
import { decodeRecord, type PointBatch } from './codec.ts';
import { LogDictionary } from './log-dictionary.ts';
import { encodeRecord, recordBytesEstimate } from './record-encode.ts';
import { type RecoveredWal, refusedRecord, walFileName, ZEROS } from './wal-files.ts';

export interface WalOptions {
  durability: 'fsync' | 'os';
  groupCommitMs: number;
  groupCommitBytes: number;
  segmentBytes: number;
  /** Called with committed batches, in log order, before their promises resolve. */
  onCommit: (batches: PointBatch[]) => void;
  /**
   * Called once a commit's fsync is issued, before waiting for it: work the main thread would
   * otherwise do later, done while the disk works (the fsync runs on libuv's threads).
   */
  whileSyncing?: () => void;
}

interface Pending {
  batch: PointBatch;
  resolve: () => void;
  reject: (error: Error) => void;
}

const PREALLOCATE = 8 << 20;
const LARGE_GROUP = 64 << 10;

export class WriteAheadLog {
  readonly dir: string;
  private readonly options: WalOptions;
  private fd: fsp.FileHandle | undefined;
  private fileName = '';
  private fileSize = 0;
  /** Physical size: the zero-filled space past fileSize is preallocated. */
  private allocated = 0;
  /** No preallocation before the file reaches this size (set when the disk had no room for it). */
  private preallocateFrom = 0;
  private fileLastSeq = 0;
  /** The names and metadata texts the current file's records have used (record format: codec.ts). */
  private dict = new LogDictionary();
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
  /** The file appends go to now (in `onCommit`: the file the committed group is in). */
  get currentFile(): string {
    return path.join(this.dir, this.fileName);
  }

  /**
   * Logs a batch (records are encoded when written, against the dictionary of the file they go
   * to); resolves once it is durable.
   */
  append(batch: PointBatch): Promise<void> {
    if (this.closed) return Promise.reject(new TimeSeriesError(`Time-series log ${this.dir} is closed`));
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ batch, resolve, reject });
      this.pendingBytes += recordBytesEstimate(batch);
      this.schedule();
    });
  }

  /**
   * The records of `pending`, in order, against the current file's dictionary; a batch that
   * cannot be encoded (a name holding a line break, which validation refuses first) is rejected
   * alone, taking nothing into the dictionary.
   */
  private encode(pending: Pending[]): { group: Pending[]; parts: Buffer[] } {
    const group: Pending[] = [];
    const parts: Buffer[] = [];
    for (const p of pending) {
      try {
        for (const b of encodeRecord(p.batch, this.dict)) parts.push(b);
        group.push(p);
      } catch (error) {
        p.reject(
          new TimeSeriesError(`Cannot log a batch: ${(error as Error).message}; the batch was not stored`, {
            cause: error,
          }),
        );
      }
    }
    return { group, parts };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.chain = this.chain.then(() => this.flushPending());
    };
    if (this.pendingBytes >= this.options.groupCommitBytes) queueMicrotask(run);
    else if (this.options.groupCommitMs > 0) setTimeout(run, this.options.groupCommitMs);
    // A large record (a batch call) is written at once: waiting a turn for company buys little
    // at its size, and that turn is where V8 runs the scavenge it has scheduled (a batch of parsed
    // points fills the young generation), delaying the write; after the write it overlaps the
    // fdatasync instead.
    else if (this.pendingBytes >= LARGE_GROUP) queueMicrotask(run);
    else setImmediate(run);
  }

  private async flushPending(): Promise<void> {
    this.scheduled = false;
    let group = this.pending;
    if (group.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    const fd = this.fd;
    const mark = this.dict.mark();
    try {
      if (this.failed) throw this.failed;
      if (!fd) throw new TimeSeriesError(`Time-series log ${this.dir} is closed`);
      const encoded = this.encode(group);
      group = encoded.group;
      if (group.length === 0) return;
      const parts = encoded.parts;
      const bytes = parts.reduce((s, b) => s + b.length, 0);
      // Many small records (single-point writers) cost less as one copied buffer than as iovecs.
      const bufs = parts.length > 16 && bytes < 1 << 20 ? [Buffer.concat(parts, bytes)] : parts;
      try {
        await this.ensureSpace(fd, bytes);
        // The write only copies into the page cache (the fsync below waits for the disk): done
        // here, it saves a round trip through libuv's thread pool per commit, which on a busy
        // machine costs a scheduling delay each (about a fifth of the append time here).
        let written = 0;
        while (written < bytes) {
          const rest = written === 0 ? bufs : [Buffer.concat(bufs).subarray(written)];
          written += writevSync(fd.fd, rest, this.fileSize + written);
        }
        if (this.options.durability === 'fsync') {
          const synced = fd.datasync();
          // Awaited whatever the work does: a failed fsync must fail this commit, never go unheard.
          try {
            this.options.whileSyncing?.();
          } finally {
            await synced;
          }
        }
      } catch (error) {
        // Cut the partial group off so later records are not hidden behind a torn one, and forget
        // the names and texts only its records brought: the next records write them again.
        this.dict.rollback(mark);
        try {
          await fd.truncate(this.fileSize);
          this.allocated = this.fileSize;
        } catch {
          this.failed = new TimeSeriesError(
            `Time-series log ${path.join(this.dir, this.fileName)} is damaged and cannot be repaired; reopen the store`,
            { cause: error },
          );
        }
        const file = path.join(this.dir, this.fileName);
        throw (
          fromOsError(error, { path: file, access: 'write', outcome: 'the batch was not stored' }) ??
          new TimeSeriesError(
            `Cannot write time-series log ${file}: ${(error as Error).message}; the batch was not stored`,
            { cause: error, context: { file } },
          )
        );
      }
      this.fileSize += bytes;
      if (this.fileSize > this.allocated) this.allocated = this.fileSize;
      const last = group[group.length - 1]?.batch;
      if (last) this.fileLastSeq = last.firstSeq + last.count - 1;
      this.options.onCommit(group.map((p) => p.batch));
      for (const p of group) p.resolve();
      if (this.fileSize >= this.options.segmentBytes) await this.rotateAfterCommit();
    } catch (error) {
      for (const p of group) p.reject(error as Error);
    } finally {
      if (this.pending.length > 0) this.schedule();
    }
  }

  private async openFile(firstSeq: number): Promise<void> {
    await this.adopt(await this.createFile(firstSeq));
  }

  /** Opens (creating) the log file that starts at `firstSeq`; nothing changes if that fails. */
  private async createFile(
    firstSeq: number,
  ): Promise<{ fd: fsp.FileHandle; name: string; size: number; firstSeq: number }> {
    const name = walFileName(firstSeq);
    const file = path.join(this.dir, name);
    // Positional writes (not O_APPEND): records overwrite preallocated zeros.
    const fd = await fsp.open(file, constants.O_RDWR | constants.O_CREAT, 0o644).catch((error) => {
      throw fromOsError(error, { path: file, access: 'write' }) ?? error;
    });
    try {
      const { size } = await fd.stat();
      fsyncDir(this.dir);
      return { fd, name, size, firstSeq };
    } catch (error) {
      await fd.close();
      throw error;
    }
  }

  private async adopt(next: { fd: fsp.FileHandle; name: string; size: number; firstSeq: number }) {
    this.fd = next.fd;
    this.fileName = next.name;
    this.fileSize = next.size;
    this.allocated = next.size;
    this.fileLastSeq = next.firstSeq - 1;
    this.preallocateFrom = 0;
    // A file that already holds records (a new file is empty: its name is the next seq) goes on
    // with the dictionary they built.
    this.dict = next.size > 0 ? await dictionaryOf(path.join(this.dir, next.name)) : new LogDictionary();
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
    // Preallocation failed for lack of space: the commits extend the file until it has grown
    // by another step, then it is tried again (each try writes at most what is free).
    if (this.fileSize < this.preallocateFrom) return;
    const target = this.fileSize + bytes + PREALLOCATE;
    try {
      for (let at = this.allocated; at < target; ) {
        const n = Math.min(ZEROS.length, target - at);
        const r = await fd.write(ZEROS, 0, n, at);
        at += r.bytesWritten;
      }
      if (this.options.durability === 'fsync') await fd.datasync();
    } catch (error) {
      if (!DISK_FULL_CODES.has(String((error as NodeJS.ErrnoException).code))) throw error;
      // Give the zeros back (shrinking needs no space): the records may fit where they did not.
      await fd.truncate(this.allocated);
      this.preallocateFrom = this.fileSize + PREALLOCATE;
      return;
    }
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
    // The next file first: if it cannot be made (a full disk), the current one stays in use.
    const next = await this.createFile(nextSeq);
    await this.closeFile();
    this.closedFiles.push({ name: this.fileName, lastSeq: this.fileLastSeq, size: this.fileSize });
    await this.adopt(next);
  }

  /** Rotation at the size limit; the batch is already acknowledged, so a failure only waits for the next try. */
  private async rotateAfterCommit(): Promise<void> {
    try {
      await this.rotateNow(this.fileLastSeq + 1);
    } catch (error) {
      getLogger().warn(
        { err: error, dir: this.dir },
        'cannot start a new write-ahead log file; retrying after the next commit',
      );
    }
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

/** The dictionary the whole records of log file `file` build (reading stops at a torn one). */
async function dictionaryOf(file: string): Promise<LogDictionary> {
  const buf = await fsp.readFile(file);
  const dict = new LogDictionary();
  for (let offset = 0; offset < buf.length; ) {
    const r = decodeRecord(buf, offset, dict);
    if (!r.ok) {
      if (r.intact) throw refusedRecord(file, offset, r.reason);
      break;
    }
    offset += r.length;
  }
  return dict;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
