/**
 * One JSONL file that whole batches are appended to (O_APPEND), by this process and possibly
 * others. A batch either lands whole (and is fdatasynced) or is taken back: a write that stops
 * short (a full disk) or whose fdatasync fails is truncated off again, so none of its lines is
 * visible and the next batch starts on a clean line.
 *
 * Taking a batch back is safe only while its bytes are still the file's tail: another process may
 * have appended after them (which needs space freed in that very moment). The tail is compared
 * with the batch before it is cut; if it is not the batch, nothing is cut, and the next batch
 * starts with a newline so the torn line cannot swallow its first point (readers skip the torn
 * line). A file left unterminated by a killed writer is treated the same way on open.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { IngestError, type SluiceError } from '../errors.ts';
import { diskFull, fromOsError } from '../os-errors.ts';
import { makeDirectory, syncDirectory } from '../util/fsync-dir.ts';

const NEWLINE = Buffer.from('\n');

/** An OS failure on `file` in the user's words (E012 `disk full writing …`), else E030. */
function appendError(error: unknown, file: string, action: string, outcome: string): SluiceError {
  return (
    fromOsError(error, { path: file, access: 'write', outcome }) ??
    new IngestError(`Cannot ${action} ${file}: ${(error as Error).message}; ${outcome}`, {
      cause: error,
      context: { path: file },
    })
  );
}

/**
 * Whether the file's last line lacks its newline (a killed writer's torn line). Another process's
 * append may be in progress: a reader can see its first bytes before its last (the size grows as
 * the write copies), so an unterminated tail counts as torn only once it has stopped growing.
 */
async function endsTorn(handle: fsp.FileHandle): Promise<boolean> {
  const last = Buffer.alloc(1);
  let previous = -1;
  for (let check = 0; check < 50; check++) {
    const { size } = await handle.stat();
    if (size === 0) return false;
    if ((await handle.read(last, 0, 1, size - 1)).bytesRead === 1 && last[0] === 0x0a) return false;
    if (size === previous) return true;
    previous = size;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

export class AppendFile {
  readonly path: string;
  private readonly handle: fsp.FileHandle;
  private readonly durable: boolean;
  /** The file's last line has no newline (a killed writer, or a batch that could not be taken back). */
  private torn: boolean;

  private constructor(file: string, handle: fsp.FileHandle, durable: boolean, torn: boolean) {
    this.path = file;
    this.handle = handle;
    this.durable = durable;
    this.torn = torn;
  }

  /** Opens `file` for appending, creating it (and its folders, durably when `durable`). */
  static async open(file: string, durable: boolean): Promise<AppendFile> {
    let handle: fsp.FileHandle | undefined;
    try {
      await makeDirectory(path.dirname(file), durable);
      const existed = await fsp.stat(file).then(
        () => true,
        () => false,
      );
      // a+: appends, and reads back the tail to check it before cutting it off.
      handle = await fsp.open(file, 'a+');
      // A new file is durable only once its directory entry is.
      if (!existed && durable) await syncDirectory(path.dirname(file));
      return new AppendFile(file, handle, durable, await endsTorn(handle));
    } catch (error) {
      await handle?.close().catch(() => undefined);
      throw appendError(error, file, 'open', 'nothing was written');
    }
  }

  /**
   * Appends `chunks` (whole lines, `size` bytes) as one write and fdatasyncs them when durable;
   * on failure nothing of them stays in the file (see the file comment for the one exception).
   */
  async append(chunks: Buffer[], size: number): Promise<void> {
    const parts = this.torn ? [NEWLINE, ...chunks] : chunks;
    const total = this.torn ? size + 1 : size;
    let written = 0;
    try {
      // One writev: still one O_APPEND write, so batches of several processes never interleave.
      ({ bytesWritten: written } = await this.handle.writev(parts));
      if (written !== total) throw diskFull(this.path);
      if (this.durable) await this.handle.datasync();
    } catch (error) {
      await this.takeBack(parts, written);
      throw appendError(
        error,
        this.path,
        'append to',
        'the batch was not stored (none of its lines is in the file); free space and write it again',
      );
    }
    this.torn = false;
  }

  /** Cuts off the `written` bytes of `parts` that landed, if they are still the file's tail. */
  private async takeBack(parts: Buffer[], written: number): Promise<void> {
    if (written === 0) return;
    try {
      const { size } = await this.handle.stat();
      const start = size - written;
      const tail = Buffer.alloc(written);
      if (start >= 0 && (await this.handle.read(tail, 0, written, start)).bytesRead === written) {
        if (tail.equals(Buffer.concat(parts).subarray(0, written))) {
          // Shrinking needs no space, so this works on the full disk that stopped the write.
          await this.handle.truncate(start);
          if (this.durable) await this.handle.datasync();
          return;
        }
      }
    } catch {
      // Fall through: the file could not be checked, so it is not cut.
    }
    this.torn = true;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
