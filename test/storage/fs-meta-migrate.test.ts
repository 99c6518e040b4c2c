/**
 * Roots written by earlier versions (`.sluice-meta/` sidecars beside the data) are migrated to
 * `<root>/_sluice/meta/` the first time sluice meets a legacy sidecar (a listing, a stat) or
 * writes the root's first metadata: metadata intact, exactly one log line, no tree walked when
 * there is nothing to move.
 */
import { existsSync, mkdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLogger, getLogger, setLogger } from '../../src/logging/logger.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { collectGarbage } from '../../src/storage/gc.ts';
import { listKeys } from '../../src/storage/scoped.ts';
import { tempDir } from '../helpers/tmp.ts';
import { filesUnder, writeLegacyObject } from './legacy-meta.ts';

const logs: { level: number; msg: string; moved?: number; dropped?: number; folders?: number }[] = [];
const previous = getLogger();
beforeAll(() => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line));
      cb();
    },
  });
  setLogger(createLogger({ level: 'info', destination: sink }));
});
afterAll(() => setLogger(previous));
beforeEach(() => {
  logs.length = 0;
});

const migrationLines = () => logs.filter((l) => /metadata sidecars|metadata out of/.test(l.msg));

/** A root as the old driver left it: kept, stale, orphaned and type-only sidecars, and a killed put's temp file. */
function oldRoot(label: string) {
  const root = tempDir(label);
  writeLegacyObject(root, { key: 'a/x.parquet', body: 'PAR1', metadata: { sha256: 'aa' } });
  writeLegacyObject(root, {
    key: 'a/y.csv',
    body: 'x\n1\n',
    metadata: { owner: 'me' },
    contentType: 'text/x-special',
  });
  writeLegacyObject(root, { key: 'b/c/z.json', body: '{}', metadata: { sha256: 'zz' } });
  writeLegacyObject(root, { key: 'top.bin', body: 'top', contentType: 'application/x-top' });
  // Only the type its extension implies: nothing to keep.
  writeLegacyObject(root, { key: 'b/c/plain.json', body: '[]', contentType: 'application/json' });
  // Deleted behind the old driver's back, and rewritten by another program: both describe nothing.
  writeLegacyObject(root, { key: 'b/gone.csv', body: 'g', metadata: { sha256: 'gg' } });
  unlinkSync(path.join(root, 'b', 'gone.csv'));
  writeLegacyObject(root, { key: 'b/rewritten.csv', body: 'r', metadata: { sha256: 'rr' } });
  writeFileSync(path.join(root, 'b', 'rewritten.csv'), 'rewritten by another tool');
  writeFileSync(path.join(root, 'a', '.sluice-meta', '.y.csv.json.0123456789ab.sluice-tmp'), '{"torn');
  return root;
}

const DATA = ['a/x.parquet', 'a/y.csv', 'b/c/plain.json', 'b/c/z.json', 'b/rewritten.csv', 'top.bin'];
const KEPT = ['a/x.parquet.json', 'a/y.csv.json', 'b/c/z.json.json', 'top.bin.json'];

async function expectMetadataIntact(root: string): Promise<void> {
  const storage = createFsStorage({ root });
  expect((await storage.stat('a/x.parquet')).metadata).toEqual({ sha256: 'aa' });
  expect(await storage.stat('a/y.csv')).toMatchObject({
    metadata: { owner: 'me' },
    contentType: 'text/x-special',
  });
  expect((await storage.stat('b/c/z.json')).metadata).toEqual({ sha256: 'zz' });
  expect((await storage.stat('top.bin')).contentType).toBe('application/x-top');
  expect((await storage.stat('b/c/plain.json')).contentType).toBe('application/json');
  expect((await storage.stat('b/rewritten.csv')).metadata).toEqual({});
}

describe('migrating a root from .sluice-meta folders to _sluice/meta', () => {
  it('on the first listing: metadata intact, data folders clean, exactly one log line', async () => {
    const root = oldRoot('migrate-list');
    const storage = createFsStorage({ root });
    expect(await listKeys(storage)).toEqual(DATA);
    expect(migrationLines()).toHaveLength(1);
    expect(migrationLines()[0]).toMatchObject({ level: 30, moved: 4, dropped: 3, folders: 4 });
    expect(migrationLines()[0]?.msg).toBe(
      `moved 4 metadata sidecars from 4 .sluice-meta folders to ${path.join(root, '_sluice', 'meta')}; dropped 3 stale or empty ones`,
    );
    expect(filesUnder(root)).toEqual(
      [...KEPT.map((f) => `_sluice/meta/${f}`).sort(), '_sluice/meta/.migrated', ...DATA].sort(),
    );
    await expectMetadataIntact(root);
    // Later stores on the root see the marker: no second migration, no second line.
    expect(await listKeys(createFsStorage({ root }))).toEqual(DATA);
    expect(migrationLines()).toHaveLength(1);
  });

  it('on the first stat, and the first move, of an object with legacy metadata', async () => {
    const root = oldRoot('migrate-stat');
    const storage = createFsStorage({ root });
    expect((await storage.stat('b/c/z.json')).metadata).toEqual({ sha256: 'zz' });
    expect(migrationLines()).toHaveLength(1);
    expect(existsSync(path.join(root, 'a', '.sluice-meta'))).toBe(false);
    await expectMetadataIntact(root);

    const other = oldRoot('migrate-move');
    const moving = createFsStorage({ root: other });
    await moving.move('a/x.parquet', 'moved/x.parquet');
    expect((await moving.stat('moved/x.parquet')).metadata).toEqual({ sha256: 'aa' });
    expect(filesUnder(path.join(other, '_sluice'))).toContain('meta/moved/x.parquet.json');
    expect(filesUnder(path.join(other, '_sluice'))).not.toContain('meta/a/x.parquet.json');
  });

  it('on the first metadata write, before the metadata folder exists', async () => {
    const root = oldRoot('migrate-put');
    const storage = createFsStorage({ root });
    await storage.put('new/n.csv', 'x\n1\n', { metadata: { sha256: 'nn' } });
    expect(migrationLines()).toHaveLength(1);
    expect(filesUnder(path.join(root, '_sluice'))).toEqual(
      ['meta/.migrated', 'meta/new/n.csv.json', ...KEPT.map((f) => `meta/${f}`)].sort(),
    );
    expect(filesUnder(root).filter((f) => f.includes('.sluice-meta'))).toEqual([]);
    await expectMetadataIntact(root);
    // A put without metadata, a delete and a copy leave the rest alone.
    await storage.put('a/x.parquet', 'PAR1 again');
    await storage.delete('b/c/z.json');
    await storage.copy('a/y.csv', 'a/y2.csv');
    expect((await storage.stat('a/y2.csv')).metadata).toEqual({ owner: 'me' });
    expect(filesUnder(path.join(root, '_sluice', 'meta', 'a'))).toEqual(['y.csv.json', 'y2.csv.json']);
  });

  it('a root with nothing to move is never walked again and gets no _sluice/', async () => {
    const root = tempDir('migrate-none');
    const storage = createFsStorage({ root });
    await storage.put('a/b.csv', 'x\n');
    expect(await listKeys(storage)).toEqual(['a/b.csv']);
    expect((await storage.stat('a/b.csv')).metadata).toEqual({});
    expect(existsSync(path.join(root, '_sluice'))).toBe(false);
    expect(migrationLines()).toEqual([]);
  });

  it('a folder that is a root of its own (it has a _sluice/) keeps its legacy sidecars for itself', async () => {
    const outer = tempDir('migrate-nested');
    writeLegacyObject(outer, { key: 'mine/o.csv', body: 'o', metadata: { sha256: 'oo' } });
    mkdirSync(path.join(outer, 'task', '_sluice'), { recursive: true });
    writeLegacyObject(outer, { key: 'task/output/t.csv', body: 't', metadata: { sha256: 'tt' } });
    expect(await listKeys(createFsStorage({ root: outer }))).toEqual(['mine/o.csv', 'task/output/t.csv']);
    expect(existsSync(path.join(outer, 'task', 'output', '.sluice-meta', 't.csv.json'))).toBe(true);
    const task = createFsStorage({ root: path.join(outer, 'task') });
    expect((await task.stat('output/t.csv')).metadata).toEqual({ sha256: 'tt' });
    expect(existsSync(path.join(outer, 'task', '_sluice', 'meta', 'output', 't.csv.json'))).toBe(true);
    expect(migrationLines()).toHaveLength(2);
  });

  it('a root that cannot be changed is read where it is, with one warning', async () => {
    const root = oldRoot('migrate-blocked');
    // A file where the metadata folder would go: every copy fails, as on a read-only mount.
    writeFileSync(path.join(root, '_sluice'), 'not a folder');
    const storage = createFsStorage({ root });
    expect(await listKeys(storage)).toEqual(DATA);
    expect((await storage.stat('a/x.parquet')).metadata).toEqual({ sha256: 'aa' });
    expect((await storage.stat('a/y.csv')).contentType).toBe('text/x-special');
    const lines = migrationLines();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40 });
    expect(lines[0]?.msg).toMatch(
      /^cannot move metadata out of the \.sluice-meta folders under .*; reading it where it is$/,
    );
    expect(existsSync(path.join(root, 'a', '.sluice-meta', 'x.parquet.json'))).toBe(true);
    // Once the obstacle is gone, the next store migrates.
    rmSync(path.join(root, '_sluice'));
    await expectMetadataIntact(root);
    expect(existsSync(path.join(root, 'a', '.sluice-meta'))).toBe(false);
  });

  it('sluice storage gc collects orphans in both layouts', async () => {
    const root = tempDir('migrate-gc');
    const storage = createFsStorage({ root });
    await storage.put('n/new.csv', 'x', { metadata: { k: 'v' } });
    rmSync(path.join(root, 'n', 'new.csv'));
    writeLegacyObject(root, { key: 'o/old.csv', body: 'x', metadata: { k: 'v' } });
    rmSync(path.join(root, 'o', 'old.csv'));
    // The rest of _sluice/ holds objects (a lake's records): only a killed put's temp file goes.
    await storage.put('_sluice/dev/runs/1.json', '{}', { metadata: { k: 'v' } });
    writeFileSync(path.join(root, '_sluice', 'dev', 'runs', '.2.json.0123456789ab.sluice-tmp'), 'torn');
    const result = await collectGarbage(root, { olderThanMs: 0, now: Date.now() + 1000 });
    expect(result.removed.map((e) => [e.path, e.kind])).toEqual([
      ['_sluice/dev/runs/.2.json.0123456789ab.sluice-tmp', 'temp'],
      ['_sluice/meta/n/new.csv.json', 'orphan-metadata'],
      ['o/.sluice-meta/old.csv.json', 'orphan-metadata'],
    ]);
    expect((await storage.stat('_sluice/dev/runs/1.json')).metadata).toEqual({ k: 'v' });
    expect(statSync(path.join(root, '_sluice', 'meta', '.migrated')).isFile()).toBe(true);
  });
});
