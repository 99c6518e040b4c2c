import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Lake } from '../../src/pipeline/lake.ts';
import { createMemoryStorage } from '../../src/storage/index.ts';
import type { Storage } from '../../src/storage/types.ts';

/**
 * A storage whose first `torn.left` reads of a manifest come back as a server writing it in place
 * can hand them out: the right size, but only the start of the JSON (the rest blank).
 */
function tornManifests(s: Storage, torn: { left: number; seen: number }): Storage {
  const w: Storage = Object.create(s);
  w.scope = (prefix) => tornManifests(s.scope(prefix), torn);
  w.getStream = async (key, options) => {
    if (key.endsWith('manifest.json') && torn.left > 0) {
      torn.left--;
      torn.seen++;
      const { size } = await s.stat(key);
      return Readable.from([Buffer.from('{"versi'.padEnd(size, ' '))]);
    }
    return s.getStream(key, options);
  };
  return w;
}

const manifest = { version: 'v1', createdAt: '2024-01-01T00:00:00.000Z', files: [] };

describe('reading a lake manifest beside a writer', () => {
  it('reads a torn manifest again and returns the whole one', async () => {
    const base = createMemoryStorage();
    await new Lake(base).writeManifest('qa', manifest as never);
    const torn = { left: 2, seen: 0 };
    const read = await new Lake(tornManifests(base, torn)).readManifest('qa');
    expect(torn.seen).toBe(2);
    expect(read).toMatchObject({ version: 'v1' });
  });

  it('a manifest that stays broken is E021 naming it, not a bare SyntaxError', async () => {
    const base = createMemoryStorage();
    await new Lake(base).writeManifest('qa', manifest as never);
    const torn = { left: 10, seen: 0 };
    await expect(new Lake(tornManifests(base, torn)).readManifest('qa')).rejects.toMatchObject({
      code: 'E021',
      message: expect.stringContaining('manifest.json is not valid JSON'),
    });
    expect(torn.seen).toBe(4);
  });
});
