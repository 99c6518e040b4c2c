import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { collectGarbage, removeIfUnchanged } from '../../src/storage/gc.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const HOUR = 3_600_000;

/** A storage root with live objects (one with metadata), two stale temp files, one fresh temp
 * file, an orphaned sidecar and a fresh orphaned sidecar. */
async function litteredRoot() {
  const root = tempDir('sluice-gc');
  const storage = createFsStorage({ root });
  await storage.put('keep/a.json', '{"a":1}', { metadata: { source: 'api' } });
  await storage.put('keep/b.csv', 'x,y\n1,2\n');
  await storage.put('gone/c.json', '{}', { metadata: { source: 'api' } });
  // A killed writer: the object never appeared, its temp file stayed.
  const stale = path.join(root, 'keep', '.d.json.0123456789ab.sluice-tmp');
  writeFileSync(stale, 'x'.repeat(100));
  mkdirSync(path.join(root, 'deep', 'er'), { recursive: true });
  const staleDeep = path.join(root, 'deep', 'er', '.e.bin.ba9876543210.sluice-tmp');
  writeFileSync(staleDeep, 'y'.repeat(50));
  const fresh = path.join(root, 'keep', '.f.json.aaaaaaaaaaaa.sluice-tmp');
  writeFileSync(fresh, 'in flight');
  // The object was removed behind sluice's back: its sidecar is an orphan.
  unlinkSync(path.join(root, 'gone', 'c.json'));
  const orphan = path.join(root, '_sluice', 'meta', 'gone', 'c.json.json');
  const old = (Date.now() - 48 * HOUR) / 1000;
  for (const f of [stale, staleDeep, orphan]) utimesSync(f, old, old);
  return { root, storage, stale, staleDeep, fresh, orphan };
}

describe('storage garbage collection', () => {
  it('lists stale temp files and orphaned metadata in a dry run and changes nothing', async () => {
    const { root, stale, orphan } = await litteredRoot();
    const result = await collectGarbage(root, { dryRun: true });
    expect(result.dryRun).toBe(true);
    expect(result.removed.map((e) => [e.path, e.kind])).toEqual([
      ['_sluice/meta/gone/c.json.json', 'orphan-metadata'],
      ['deep/er/.e.bin.ba9876543210.sluice-tmp', 'temp'],
      ['keep/.d.json.0123456789ab.sluice-tmp', 'temp'],
    ]);
    expect(result.bytes).toBe(150 + result.removed[0]!.bytes);
    expect(existsSync(stale)).toBe(true);
    expect(existsSync(orphan)).toBe(true);
  });

  it('removes only old garbage: live objects, their metadata and in-flight temp files stay', async () => {
    const { root, storage, stale, staleDeep, fresh, orphan } = await litteredRoot();
    const result = await collectGarbage(root);
    expect(result.removed).toHaveLength(3);
    for (const f of [stale, staleDeep, orphan]) expect(existsSync(f)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect((await storage.get('keep/a.json')).toString()).toBe('{"a":1}');
    expect((await storage.stat('keep/a.json')).metadata).toEqual({ source: 'api' });
    expect((await storage.get('keep/b.csv')).toString()).toBe('x,y\n1,2\n');
    // A second run finds nothing.
    expect((await collectGarbage(root)).removed).toEqual([]);
    // With a zero age limit the fresh temp file goes too.
    const all = await collectGarbage(root, { olderThanMs: 0, now: Date.now() + 1000 });
    expect(all.removed.map((e) => e.path)).toEqual(['keep/.f.json.aaaaaaaaaaaa.sluice-tmp']);
    expect(readdirSync(path.join(root, 'keep')).sort()).toEqual(['a.json', 'b.csv']);
  });

  it('fails with E011 on a missing root and E012 on a negative age', async () => {
    const missing = path.join(tempDir('sluice-gc'), 'nope');
    await expect(collectGarbage(missing)).rejects.toMatchObject({ code: 'E011' });
    await expect(collectGarbage(tempDir('sluice-gc'), { olderThanMs: -1 })).rejects.toMatchObject({
      code: 'E012',
    });
  });

  it('sluice storage gc: dry run, removal, JSON, and usage errors for S3 and bad durations', async () => {
    const { root, stale } = await litteredRoot();
    const dry = await runSluice(['storage', 'gc', root, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would remove: keep/.d.json.0123456789ab.sluice-tmp (temp, 100 B)');
    expect(dry.stdout).toContain('would remove 3 files');
    expect(existsSync(stale)).toBe(true);
    const run = await runSluice(['storage', 'gc', root, '--older-than', '1h', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).removed).toHaveLength(3);
    expect(existsSync(stale)).toBe(false);
    const s3 = await runSluice(['storage', 'gc', 's3://some-bucket/prefix/']);
    expect(s3.code).toBe(2);
    expect(s3.stderr).toMatch(/E022: storage gc works on local storage/);
    const bad = await runSluice(['storage', 'gc', root, '--older-than', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--older-than: Invalid duration "soon"/);
  });

  it('never removes a sidecar that was replaced after it was judged orphaned', async () => {
    const dir = tempDir('sluice-gc');
    const file = path.join(dir, 'x.json.json');
    writeFileSync(file, 'old');
    const judged = lstatSync(file);
    // A put renames a fresh sidecar into place between gc's check and its removal.
    writeFileSync(`${file}.new`, 'fresh');
    renameSync(`${file}.new`, file);
    expect(await removeIfUnchanged(file, judged)).toBe(false);
    expect(readFileSync(file, 'utf8')).toBe('fresh');
    expect(readdirSync(dir)).toEqual(['x.json.json']);
    // Unchanged: removed, nothing left beside it.
    expect(await removeIfUnchanged(file, lstatSync(file))).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });
});
