/** A temporary local file that rows or bytes are staged through, removed on `close()`. */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { removeAtExit } from '../util/exit-cleanup.ts';
import type { ByteSource } from './types.ts';

/**
 * A private (0700) directory, removed on `close()` or, if the process exits first (an error
 * path, SIGINT/SIGTERM through the CLI), by the exit hook: staged rows never outlive the process.
 */
export class TempDir {
  readonly dir: string;
  private closed = false;
  private readonly forget: () => void;

  private constructor(dir: string) {
    this.dir = dir;
    this.forget = removeAtExit(dir);
  }

  /** Creates a private directory under `base` (default: the OS temp dir). */
  static async create(label: string, base: string = tmpdir()): Promise<TempDir> {
    return new TempDir(await fsp.mkdtemp(path.join(base, `sluice-${label}-`)));
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await fsp.rm(this.dir, { recursive: true, force: true });
    this.forget();
  }
}

/** Streams an async iterable of chunks into a local file, readable by its owner only (0600). */
export async function spoolToFile(file: string, chunks: ByteSource): Promise<number> {
  const handle = await fsp.open(file, 'w', 0o600);
  let size = 0;
  try {
    for await (const chunk of chunks) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.byteLength;
      await handle.write(buf);
    }
  } finally {
    await handle.close();
  }
  return size;
}

/** Reads a local file as chunks, removing `cleanup` (if given) once done or abandoned. */
export async function* fileChunks(file: string, cleanup?: TempDir): AsyncIterable<Uint8Array> {
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 256 * 1024 })) yield chunk as Buffer;
  } finally {
    await cleanup?.close();
  }
}

export function uniqueName(ext: string): string {
  return `${Date.now()}-${randomBytes(6).toString('hex')}.${ext}`;
}
