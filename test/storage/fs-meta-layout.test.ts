/**
 * Issue #20.2: sluice's object metadata stays out of the data folders. A writer's task folder, a
 * partitioned output, saved API responses and the pipeline's landing Parquet (which carry
 * sha256 metadata) are read back with DuckDB globs `**\/*.parquet`, `**\/*.json` and `**`, which
 * skip nothing (hidden and `_` folders included): they see data files only, with the rows
 * sluice wrote. The metadata itself lives in the root's `_sluice/meta/` and still round-trips.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import { flushIngestLineage, saveToFile } from '../../src/ingest/index.ts';
import { DataIngester } from '../../src/pipeline/ingester.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { listKeys } from '../../src/storage/scoped.ts';
import { DataWriter } from '../../src/writer/data-writer.ts';
import { tempDir } from '../helpers/tmp.ts';
import { project, SEED_SCHEMA, seedCsv, writeFile } from '../pipeline/helpers.ts';

const engine = await Engine.create({ threads: 1 });
afterAll(() => engine.close());

/** Files a DuckDB glob matches, relative to `base`. */
async function globbed(base: string, pattern: string): Promise<string[]> {
  const rows = await engine.query<{ file: string }>(
    `SELECT file FROM glob(${quoteLiteral(path.join(base, pattern))}) ORDER BY file`,
  );
  return rows.map((r) => path.relative(base, r.file).split(path.sep).join('/'));
}

async function count(sql: string): Promise<number> {
  const [row] = await engine.query<{ n: bigint }>(`SELECT count(*) AS n FROM ${sql}`);
  return Number(row?.n);
}

const isSluice = (p: string) => p.split('/').some((s) => s === '_sluice' || s === '.sluice-meta');

/** Every file under `dir` (relative), as a glob of `**` would see it on any tool. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

const people = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, region: ['north', 'south', 'east'][i % 3], v: i * 1.5 }));

describe('metadata out of the data folders (DuckDB globs see data only)', () => {
  it('a writer task folder and its partitioned output', async () => {
    const task = tempDir('meta-task');
    const writer = new DataWriter({ taskDir: task });
    try {
      await writer.writeDataframe(people(30), 'users', { format: 'parquet', timestampInName: false });
      await writer.writeDataframe(people(12), 'users_p', {
        format: 'parquet',
        partitionBy: 'region',
        timestampInName: false,
      });
      await writer.writeDataframe(people(7), 'events', { format: 'json', timestampInName: false });
      await writer.writeJson({ ok: true }, 'summary', { subdir: 'output', timestampInName: false });
      // The writer keeps no metadata of its own: under `_sluice/` only its lineage log (docs/lineage.md).
      const bookkeeping = filesUnder(task).filter(isSluice);
      expect(bookkeeping.length).toBeGreaterThan(0);
      expect(
        bookkeeping.filter((f) => !/^_sluice\/lineage\/\d{4}-\d{2}-\d{2}\/[\w-]+\.jsonl$/.test(f)),
      ).toEqual([]);

      // Metadata through the task's storage, as sync or a user of writer.storage keeps it.
      const storage = writer.storage;
      const users = 'output/users.parquet';
      await storage.copy(users, 'output/users_copy.parquet', { metadata: { sha256: 'feed', rows: '30' } });
      for (const key of (await listKeys(storage, { prefix: 'output/users_p/' })).filter((k) =>
        k.endsWith('.parquet'),
      ))
        await storage.copy(key, key, { metadata: { rows: 'some' } });
      await storage.put('output/notes.json', '[{"n":1},{"n":2}]', {
        metadata: { source: 'api' },
        contentType: 'application/x-custom',
      });
      expect(existsSync(path.join(task, '_sluice', 'meta', 'output', 'users_copy.parquet.json'))).toBe(true);

      const out = path.join(task, 'output');
      const all = await globbed(out, '**');
      expect(all.length).toBeGreaterThan(5);
      expect(all.filter(isSluice)).toEqual([]);
      expect(all.every((f) => /\.(parquet|json)$/.test(f))).toBe(true);
      expect(await globbed(out, '**/*.json')).toEqual(['events.json', 'notes.json', 'summary.json']);
      const parquet = await globbed(out, '**/*.parquet');
      expect(parquet.filter((f) => !f.startsWith('users_p/'))).toEqual([
        'users.parquet',
        'users_copy.parquet',
      ]);
      expect(parquet.filter((f) => f.startsWith('users_p/'))).toHaveLength(3);

      // Row counts equal to what the API wrote, through the globs users write.
      const q = (p: string) => quoteLiteral(path.join(out, p));
      expect(await count(`read_parquet(${q('users.parquet')})`)).toBe(30);
      expect(await count(`read_parquet(${q('users_p/**')}, hive_partitioning = true)`)).toBe(12);
      expect(await count(`read_parquet(${q('**/*.parquet')}, union_by_name = true)`)).toBe(30 + 30 + 12);
      expect(await count(`read_json_auto(${q('events.json')})`)).toBe(7);
      expect(await count(`read_json_auto(${q('**/*.json')}, union_by_name = true)`)).toBe(7 + 2 + 1);

      // The metadata round-trips through stat, copy and move.
      expect((await storage.stat('output/users_copy.parquet')).metadata).toEqual({
        sha256: 'feed',
        rows: '30',
      });
      expect(await storage.stat('output/notes.json')).toMatchObject({
        metadata: { source: 'api' },
        contentType: 'application/x-custom',
      });
      await storage.move('output/notes.json', 'output/moved/notes.json');
      expect(await storage.stat('output/moved/notes.json')).toMatchObject({
        metadata: { source: 'api' },
        contentType: 'application/x-custom',
      });
      await storage.copy('output/moved/notes.json', 'output/notes2.json');
      expect((await storage.stat('output/notes2.json')).metadata).toEqual({ source: 'api' });
      expect(existsSync(path.join(task, '_sluice', 'meta', 'output', 'notes.json.json'))).toBe(false);
      // Listings never show sluice's folder.
      expect((await listKeys(storage)).filter(isSluice)).toEqual([]);
      expect(await listKeys(storage, { recursive: false })).not.toContain('_sluice/');
    } finally {
      await writer.close();
    }
  });

  it('an ingest folder (saved API responses) and the pipeline landing folder with sha256 metadata', async () => {
    const base = tempDir('meta-ingest');
    const storage = createFsStorage({ root: base });
    const records = Array.from({ length: 25 }, (_, i) => ({ id: i, name: `n${i}` }));
    await saveToFile('people', records, { storage, sourceName: 'crm', fileFormat: 'json' });
    await saveToFile('people', records.slice(0, 10), { storage, sourceName: 'crm', fileFormat: 'parquet' });
    // Saves on a storage of the caller's defer their lineage commits: store them before the folder goes.
    await flushIngestLineage(storage);
    const crm = path.join(base, 'crm');
    expect((await globbed(crm, '**')).filter(isSluice)).toEqual([]);
    expect(await count(`read_json_auto(${quoteLiteral(`${crm}/**/*.json`)})`)).toBe(25);
    expect(await count(`read_parquet(${quoteLiteral(`${crm}/**/*.parquet`)})`)).toBe(10);

    const { dir, config, lake } = await project('fs', 'meta-landing');
    const ingester = new DataIngester(config, { lake });
    try {
      const csv = writeFile(path.join(dir, 'data/raw/sdg/SDG_DATA.csv'), seedCsv(40));
      const r = await ingester.ingestCsv(csv, 'sdg', SEED_SCHEMA);
      const csv2 = writeFile(path.join(dir, 'data/raw/wdi/WDI_DATA.csv'), seedCsv(15));
      await ingester.ingestCsv(csv2, 'wdi', SEED_SCHEMA);
      const landing = path.join(config.lakeRoot, 'dev', 'landing');
      expect(await globbed(landing, '**')).toEqual(['sdg/SDG_DATA.parquet', 'wdi/WDI_DATA.parquet']);
      expect(await count(`read_parquet(${quoteLiteral(`${landing}/**/*.parquet`)})`)).toBe(55);
      expect(await globbed(landing, '**/*.json')).toEqual([]);
      // The sha256 is kept, in the lake's one reserved folder.
      expect((await lake.stat('dev/landing/sdg/SDG_DATA.parquet')).metadata.sha256).toBe(r.sha256);
      const sidecar = path.join(
        config.lakeRoot,
        '_sluice',
        'meta',
        'dev',
        'landing',
        'sdg',
        'SDG_DATA.parquet.json',
      );
      const kept = JSON.parse(readFileSync(sidecar, 'utf8'));
      expect(kept).toMatchObject({
        metadata: { sha256: r.sha256 },
        ino: statSync(path.join(landing, 'sdg/SDG_DATA.parquet')).ino,
      });
    } finally {
      await ingester.close();
    }
  });

  it('a folder inside a root, opened as a root of its own, keeps its _sluice/ out of the outer listing', async () => {
    const outer = tempDir('meta-nested');
    const inner = createFsStorage({ root: path.join(outer, 'task') });
    await inner.put('output/a.csv', 'x\n1\n', { metadata: { sha256: 'abc' } });
    expect(existsSync(path.join(outer, 'task', '_sluice', 'meta', 'output', 'a.csv.json'))).toBe(true);
    const storage = createFsStorage({ root: outer });
    expect(await listKeys(storage)).toEqual(['task/output/a.csv']);
    // The name is sluice's at any depth: no key may use it.
    await expect(storage.put('task/_sluice/meta/x.json', '{}')).rejects.toMatchObject({ code: 'E010' });
    await expect(inner.put('_sluice/meta/x', '{}')).rejects.toMatchObject({ code: 'E010' });
  });

  it('an object without metadata has no file in _sluice/meta; removing metadata removes its file and emptied folders', async () => {
    const root = tempDir('meta-none');
    const storage = createFsStorage({ root });
    await storage.put('a/plain.csv', 'x\n1\n');
    await storage.put('a/typed.csv', 'x\n1\n', { contentType: 'text/csv; charset=utf-8' });
    expect(existsSync(path.join(root, '_sluice'))).toBe(false);
    await storage.put('deep/er/kept.csv', 'x\n1\n', { metadata: { k: 'v' } });
    await storage.put('b/c.csv', 'x\n1\n', { metadata: { k: 'v' } });
    expect(filesUnder(path.join(root, '_sluice'))).toEqual([
      'meta/.migrated',
      'meta/b/c.csv.json',
      'meta/deep/er/kept.csv.json',
    ]);
    await storage.delete('deep/er/kept.csv');
    await storage.put('b/c.csv', 'x\n2\n');
    expect(filesUnder(path.join(root, '_sluice'))).toEqual(['meta/.migrated']);
    expect(readdirSync(path.join(root, '_sluice', 'meta'))).toEqual(['.migrated']);
  });
});
