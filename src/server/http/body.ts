/**
 * Request bodies read under a size limit that holds while the bytes arrive: a `Content-Length`
 * over the limit is refused before reading, and a chunked or lying body is cut off at the first
 * byte past it, so memory never holds more than the limit. Gzip bodies (`Content-Encoding: gzip`,
 * as InfluxDB clients send them) are inflated as they stream, and the inflated size obeys the
 * same limit — a small bomb cannot expand into memory.
 */
import { isAscii } from 'node:buffer';
import { once } from 'node:events';
import { createGunzip, type Gunzip } from 'node:zlib';
import { decodeUtf8, locateInvalidUtf8 } from '../../util/utf8.ts';
import { HttpProblem } from './problem.ts';

export interface ReadBodyOptions {
  /** Most bytes accepted, before and after inflating. */
  maxBytes: number;
}

function tooLarge(maxBytes: number, what: string): HttpProblem {
  return new HttpProblem(
    413,
    `request body ${what} is larger than the limit of ${maxBytes} bytes; send smaller batches`,
    {
      details: { maxLength: maxBytes },
    },
  );
}

/** The encoding to undo, or a 415 for one this server does not speak. */
function encodingOf(request: Request): 'identity' | 'gzip' {
  const header = (request.headers.get('content-encoding') ?? '').trim().toLowerCase();
  if (header === '' || header === 'identity') return 'identity';
  if (header === 'gzip' || header === 'x-gzip') return 'gzip';
  throw new HttpProblem(
    415,
    `Content-Encoding ${JSON.stringify(header)} is not supported; send identity or gzip`,
  );
}

/** The whole body as bytes, within `maxBytes` (413 otherwise), inflated when gzip. */
export async function readBody(request: Request, options: ReadBodyOptions): Promise<Buffer> {
  const { maxBytes } = options;
  const encoding = encodingOf(request);
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes)
    throw tooLarge(maxBytes, 'as declared by Content-Length');
  if (!request.body) return Buffer.alloc(0);
  const reader = request.body.getReader();
  const sink = encoding === 'gzip' ? gunzipSink(maxBytes) : plainSink(maxBytes);
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) throw tooLarge(maxBytes, encoding === 'gzip' ? '(compressed)' : '');
      await sink.write(value);
    }
    return await sink.end();
  } catch (error) {
    await reader.cancel().catch(() => {});
    sink.destroy();
    throw error;
  } finally {
    reader.releaseLock();
  }
}

interface Sink {
  write(chunk: Uint8Array): Promise<void>;
  end(): Promise<Buffer>;
  destroy(): void;
}

function plainSink(maxBytes: number): Sink {
  const chunks: Uint8Array[] = [];
  let size = 0;
  return {
    async write(chunk) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes, '');
      chunks.push(chunk);
    },
    async end() {
      return Buffer.concat(chunks, size);
    },
    destroy() {},
  };
}

function gunzipSink(maxBytes: number): Sink {
  const gunzip: Gunzip = createGunzip();
  const chunks: Buffer[] = [];
  let size = 0;
  let failure: unknown;
  gunzip.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (size > maxBytes) {
      failure ??= tooLarge(maxBytes, 'once inflated');
      gunzip.destroy();
      return;
    }
    chunks.push(chunk);
  });
  gunzip.on('error', (error) => {
    failure ??= new HttpProblem(400, `request body is not valid gzip: ${error.message}`);
  });
  const check = () => {
    if (failure) throw failure;
  };
  return {
    async write(chunk) {
      check();
      if (!gunzip.write(chunk))
        await Promise.race([once(gunzip, 'drain'), once(gunzip, 'close')]).catch(() => {});
      check();
    },
    async end() {
      check();
      const closed = once(gunzip, 'close').catch(() => {});
      gunzip.end();
      // An 'error' rejects the wait; `failure` holds what to answer.
      await Promise.race([once(gunzip, 'end'), closed]).catch(() => {});
      check();
      return Buffer.concat(chunks, size);
    },
    destroy() {
      gunzip.destroy();
    },
  };
}

/**
 * The body as UTF-8 text (a leading BOM dropped); bytes that are not UTF-8 are a 400 naming their
 * line, never replaced by U+FFFD.
 */
export function bodyText(bytes: Buffer): string {
  // Line protocol is almost always ASCII: checked by a fast scan, it needs no UTF-8 decoding.
  if (isAscii(bytes)) return bytes.toString('latin1');
  const text = decodeUtf8(bytes);
  if (text === undefined) {
    const at = locateInvalidUtf8(bytes, 1);
    throw new HttpProblem(
      400,
      `line ${at.line}: body is not valid UTF-8 (byte 0x${at.byte.toString(16)} at column ${at.column})`,
      {
        details: { line: at.line },
      },
    );
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
