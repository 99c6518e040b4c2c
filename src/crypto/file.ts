/**
 * File-to-file encryption and decryption on local disk. Output is written to a temp file beside
 * the target and renamed into place, so a failed decryption (wrong key, tampered chunk) never
 * leaves a partial plaintext under the target name.
 */
import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { EncryptionError, NotFoundError, SluiceError } from '../errors.ts';
import type { ProgressFn } from '../util/progress.ts';
import { type DecryptOptions, decryptStreamParts, type EncryptOptions, encryptStreamParts } from './age.ts';

export interface FileCryptoOptions {
  signal?: AbortSignal;
  /** Flush the output to disk before it is renamed into place (crash-durable). @default true */
  fsync?: boolean;
  /** Called with input bytes read so far. */
  onProgress?: ProgressFn<'bytes'>;
}

export async function encryptFile(
  input: string,
  output: string,
  options: EncryptOptions & FileCryptoOptions,
): Promise<{ bytesIn: number; bytesOut: number }> {
  return transformFile(input, output, 'encrypt', (src) => encryptStreamParts(src, options), options);
}

export async function decryptFile(
  input: string,
  output: string,
  options: DecryptOptions & FileCryptoOptions,
): Promise<{ bytesIn: number; bytesOut: number }> {
  return transformFile(
    input,
    output,
    'decrypt',
    (src) => decryptStreamParts(src, { label: input, ...options }),
    options,
  );
}

async function transformFile(
  input: string,
  output: string,
  operation: string,
  transform: (source: AsyncIterable<Uint8Array>) => AsyncIterable<Buffer[]>,
  options: FileCryptoOptions,
): Promise<{ bytesIn: number; bytesOut: number }> {
  let total: number;
  try {
    total = (await stat(input)).size;
  } catch {
    throw new NotFoundError(`input file ${input} does not exist`, { context: { path: input } });
  }
  const temp = path.join(
    path.dirname(output),
    `.${path.basename(output)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  let bytesIn = 0;
  let bytesOut = 0;
  // Two read buffers, alternating: the next read runs while the current piece is transformed,
  // and nothing is allocated per read (at hundreds of MB/s the garbage collector was the
  // bottleneck). Safe because the transforms copy what they keep before asking for more.
  const counted = async function* (): AsyncGenerator<Uint8Array> {
    const reader = await open(input, 'r');
    let current = Buffer.allocUnsafe(1024 * 1024);
    let spare = Buffer.allocUnsafe(1024 * 1024);
    let position = 0;
    const readInto = (buffer: Buffer) => {
      const at = position;
      return reader.read(buffer, 0, buffer.length, at).then(({ bytesRead }) => {
        position = at + bytesRead;
        return bytesRead;
      });
    };
    let pending: Promise<number> = readInto(current);
    try {
      for (;;) {
        const bytesRead = await pending;
        if (bytesRead === 0) return;
        const piece = current.subarray(0, bytesRead);
        pending = readInto(spare);
        bytesIn += bytesRead;
        options.onProgress?.({ operation, done: bytesIn, total, unit: 'bytes' });
        yield piece;
        [current, spare] = [spare, current];
      }
    } finally {
      // A read may still be in flight if the consumer stopped early.
      await pending.catch(() => 0);
      await reader.close();
    }
  };
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx');
    // Positioned writes, up to four in flight while the next piece is transformed: CPU and
    // disk overlap, and the file's order does not depend on completion order.
    const inFlight: Promise<unknown>[] = [];
    let position = 0;
    let transformError: unknown;
    try {
      for await (const parts of transform(counted())) {
        options.signal?.throwIfAborted();
        let size = 0;
        for (const part of parts) size += part.length;
        if (inFlight.length >= 4) await inFlight.shift();
        const write = handle.writev(parts, position);
        write.catch(() => {}); // awaited below; this keeps an early failure from being "unhandled"
        inFlight.push(write);
        position += size;
        bytesOut += size;
      }
    } catch (error) {
      transformError = error ?? new Error('transform failed');
    }
    // Every write settles before the handle is closed, on success and on failure.
    const failed = (await Promise.allSettled(inFlight)).find((r) => r.status === 'rejected');
    if (transformError !== undefined) throw transformError;
    if (failed) throw failed.reason;
    if (options.fsync !== false) await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, output);
  } catch (error) {
    await handle?.close().catch(() => {});
    await rm(temp, { force: true });
    if (error instanceof SluiceError) throw error;
    throw new EncryptionError(`cannot ${operation} ${input} to ${output}: ${(error as Error).message}`, {
      cause: error,
      context: { input, output },
    });
  }
  return { bytesIn, bytesOut };
}
