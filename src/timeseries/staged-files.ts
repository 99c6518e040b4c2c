/**
 * Local copies of a remote store's segment files, for DuckDB (which reads local files only). A
 * file of many variables is read once per variable in it, so a copy is kept for the next reader
 * while the copies stay under a byte budget (least recently used go first). Keys are never reused,
 * so a copy never goes stale.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import type { Storage } from '../storage/types.ts';

interface Copy {
  staged: Promise<{ file: string; bytes: number }>;
  users: number;
  /** In `copies` (false once evicted or forgotten: its last reader removes it). */
  listed: boolean;
  removed: boolean;
}

export interface StagedFile {
  file: string;
  release: () => Promise<void>;
}

export class StagedFiles {
  private readonly storage: Storage;
  private readonly dir: () => Promise<string>;
  private readonly maxBytes: number;
  /** In use order: least recently used first. */
  private readonly copies = new Map<string, Copy>();
  private bytes = 0;

  constructor(storage: Storage, dir: () => Promise<string>, maxBytes = 256 << 20) {
    this.storage = storage;
    this.dir = dir;
    this.maxBytes = maxBytes;
  }

  /** A local path of `key` for DuckDB; release it once read. */
  async acquire(key: string): Promise<StagedFile> {
    if (this.storage.capabilities.localFiles && this.storage.localPath)
      return { file: this.storage.localPath(key), release: async () => {} };
    let copy = this.copies.get(key);
    if (copy) this.copies.delete(key);
    else copy = { staged: this.download(key), users: 0, listed: true, removed: false };
    this.copies.set(key, copy);
    copy.users++;
    const held = copy;
    try {
      const { file } = await held.staged;
      return { file, release: () => this.release(held) };
    } catch (error) {
      held.users--;
      held.removed = true;
      held.listed = false;
      if (this.copies.get(key) === held) this.copies.delete(key);
      throw error;
    }
  }

  private async download(key: string): Promise<{ file: string; bytes: number }> {
    const file = path.join(await this.dir(), `read-${randomBytes(6).toString('hex')}.parquet`);
    const body = await this.storage.get(key);
    await fsp.writeFile(file, body);
    this.bytes += body.length;
    return { file, bytes: body.length };
  }

  private async release(copy: Copy): Promise<void> {
    copy.users--;
    // Forgotten (its file deleted) while in use: removed by its last reader.
    if (!copy.listed) await this.remove(copy);
    for (const [key, c] of this.copies) {
      if (this.bytes <= this.maxBytes) break;
      if (c.users > 0) continue;
      this.copies.delete(key);
      c.listed = false;
      await this.remove(c);
    }
  }

  private async remove(copy: Copy): Promise<void> {
    if (copy.users > 0 || copy.removed) return;
    copy.removed = true;
    const staged = await copy.staged.catch(() => undefined);
    if (!staged) return;
    this.bytes -= staged.bytes;
    await fsp.rm(staged.file, { force: true });
  }

  /** Drops the copies of deleted files (each once its readers are done). */
  async forget(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const copy = this.copies.get(key);
      if (!copy) continue;
      this.copies.delete(key);
      copy.listed = false;
      await this.remove(copy);
    }
  }
}
