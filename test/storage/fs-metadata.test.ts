import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('fs driver metadata sidecars', () => {
  const root = tempDir('sluice-fs-meta');
  const storage = createFsStorage({ root });
  const sidecar = (dir: string, name: string) => path.join(root, '_sluice', 'meta', dir, `${name}.json`);

  it('removes the old sidecar when an object is replaced without metadata', async () => {
    await storage.put('a/x.bin', 'v1', { metadata: { sha256: 'old' }, contentType: 'text/old' });
    expect(existsSync(sidecar('a', 'x.bin'))).toBe(true);
    await storage.put('a/x.bin', 'v2');
    expect(existsSync(sidecar('a', 'x.bin'))).toBe(false);
    expect(await storage.stat('a/x.bin')).toMatchObject({ metadata: {} });
    // The old type is gone: the extension's type (as S3 would store it) is reported.
    expect((await storage.stat('a/x.bin')).contentType).toBe('application/octet-stream');
  });

  it('ignores a sidecar once the file was rewritten in place by another program (same inode)', async () => {
    await storage.put('b/y.csv', 'a,b\n1,2\n', { metadata: { sha256: 'abc' } });
    expect((await storage.stat('b/y.csv')).metadata).toEqual({ sha256: 'abc' });
    writeFileSync(path.join(root, 'b/y.csv'), 'a,b\n1,2\n3,4\n');
    expect((await storage.stat('b/y.csv')).metadata).toEqual({});
  });

  it('a move onto an object with metadata does not inherit that metadata', async () => {
    await storage.put('c/target.txt', 'target', { metadata: { owner: 'target' } });
    await storage.put('c/source.txt', 'source');
    await storage.move('c/source.txt', 'c/target.txt');
    expect((await storage.stat('c/target.txt')).metadata).toEqual({});
    expect((await storage.get('c/target.txt')).toString()).toBe('source');
  });
});
