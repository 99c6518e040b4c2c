import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { PutBody } from './types.ts';

/** Buffers, strings and streams alike as an async iterable of chunks. */
export async function* bodyChunks(body: PutBody): AsyncIterable<Uint8Array> {
  if (typeof body === 'string') {
    yield Buffer.from(body);
    return;
  }
  if (body instanceof Uint8Array) {
    yield body;
    return;
  }
  for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
    yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  }
}

/** The body as one Buffer when it already is one (or a string); undefined for streams. */
export function bodyBytes(body: PutBody): Buffer | undefined {
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  return undefined;
}

export async function collectBody(body: PutBody): Promise<Buffer> {
  const bytes = bodyBytes(body);
  if (bytes) return bytes;
  const parts: Buffer[] = [];
  for await (const chunk of bodyChunks(body)) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

export function bodyStream(body: PutBody): Readable {
  if (body instanceof Readable) return body;
  return Readable.from(bodyChunks(body), { objectMode: false });
}

export function md5Hex(data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

/** Lower-cases metadata keys and checks they are plain header tokens, as S3 requires. */
export function normalizeMetadata(metadata: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata ?? {})) out[k.toLowerCase()] = String(v);
  return out;
}
