/**
 * Missing versus empty on local disk. `list()` keeps S3's meaning on every driver (a prefix with
 * no objects lists nothing, whether or not a folder of that name exists), so the conformance
 * suite holds for all drivers; commands that read a local root check it with
 * assertLocalRootExists first. Also: the fs driver's OS errors name the object's path.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { createMemoryStorage } from '../../src/storage/drivers/memory/memory-storage.ts';
import { assertLocalRootExists } from '../../src/storage/local-root.ts';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { tempDir } from '../helpers/tmp.ts';

async function keys(storage: Storage, prefix?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of storage.list(prefix === undefined ? {} : { prefix }))
    if (e.type === 'object') out.push(e.key);
  return out;
}

describe('a local root that does not exist', () => {
  const dir = tempDir('local-root');

  it('is E011 naming the folder; a file there is E011 too; an empty folder passes', async () => {
    const missing = path.join(dir, 'nosuchdir');
    await expect(assertLocalRootExists(openStorage(missing))).rejects.toMatchObject({
      code: 'E011',
      message: `folder ${missing} does not exist`,
    });
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'x');
    await expect(assertLocalRootExists(openStorage(file), 'store')).rejects.toMatchObject({
      code: 'E011',
      message: `${file} is a file, not a store`,
    });
    mkdirSync(path.join(dir, 'empty'));
    await expect(assertLocalRootExists(openStorage(path.join(dir, 'empty')))).resolves.toBeUndefined();
  });

  it('memory storage (and S3) pass: a prefix exists only through its objects', async () => {
    await expect(assertLocalRootExists(createMemoryStorage())).resolves.toBeUndefined();
  });

  it('list() of a missing root or prefix stays empty at the library level, as on S3', async () => {
    expect(await keys(openStorage(path.join(dir, 'nosuchdir')))).toEqual([]);
    const fs = createFsStorage({ root: dir });
    await fs.put('real/x.csv', 'a\n');
    expect(await keys(fs, 'nope/')).toEqual([]);
    // A prefix is a key prefix, not a folder: `rea` matches `real/x.csv`.
    expect(await keys(fs, 'rea')).toEqual(['real/x.csv']);
  });
});

describe('fs driver errors name the object', () => {
  const dir = tempDir('fs-errors');
  const fs = createFsStorage({ root: dir });

  it('a folder read as an object: get and getStream E012 "is a directory", stat E011', async () => {
    mkdirSync(path.join(dir, 'folder'));
    const where = path.join(dir, 'folder');
    await expect(fs.get('folder')).rejects.toMatchObject({
      code: 'E012',
      message: `${where} is a directory, not a file`,
    });
    await expect(fs.getStream('folder')).rejects.toMatchObject({
      code: 'E012',
      message: `${where} is a directory, not a file`,
    });
    await expect(fs.stat('folder')).rejects.toMatchObject({
      code: 'E011',
      message: `No file at ${where}: it is a directory`,
    });
  });

  it('a file in the way of a key: reads E011, writes E012, both naming the file', async () => {
    await fs.put('file', 'x');
    const file = path.join(dir, 'file');
    await expect(fs.get('file/x')).rejects.toMatchObject({
      code: 'E011',
      message: `${path.join(file, 'x')} does not exist: ${file} is not a directory`,
    });
    await expect(fs.put('file/sub/x', 'y')).rejects.toMatchObject({
      code: 'E012',
      message: `cannot write ${path.join(file, 'sub/x')}: ${file} is not a directory`,
      context: expect.objectContaining({ key: 'file/sub/x' }),
    });
  });

  it('a missing object stays E011 "No file at" (the storage contract)', async () => {
    await expect(fs.get('nope/x')).rejects.toMatchObject({
      code: 'E011',
      message: `No file at ${path.join(dir, 'nope/x')}`,
    });
  });
});
