import { createHash } from 'node:crypto';
import type { WrittenOutput } from './log.ts';

/** What a commit says about bytes written from memory (a JSON record, a manifest, a segment). */
export function writtenText(text: string | Buffer, rows?: number): WrittenOutput {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    ...(rows === undefined ? {} : { rows }),
  };
}
