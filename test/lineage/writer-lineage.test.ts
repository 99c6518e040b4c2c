/**
 * The DataWriter's lineage records: every file a call writes — each partition of a partitioned
 * table, JSON, dictionaries, metrics, charts, encrypted and gzipped files — has its intent stored
 * before the file is visible and a commit with the sha256 of the bytes as stored; a failed write
 * leaves an abort, no commit and no file; `lineage: false` and SLUICE_LINEAGE=0 record nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  currentWrite,
  LINEAGE_PREFIX,
  type LineageIndex,
  lineageUrl,
  readLineage,
  verifyLineage,
} from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import type { Storage } from '../../src/storage/types.ts';
import { DataWriter } from '../../src/writer/index.ts';
import { mountTmpfs, unmount } from '../helpers/full-disk.ts';
import { tempDir } from '../helpers/tmp.ts';

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
const THIS_FILE = import.meta.filename;
const dir = tempDir('writer-lineage');

const rows = Array.from({ length: 300 }, (_, i) => ({
  id: i,
  region: ['north', 'south', 'east'][i % 3] as string,
  v: i / 2,
}));

async function lineageOfTask(taskDir: string): Promise<LineageIndex> {
  return readLineage(createFsStorage({ root: taskDir }));
}

/** The task storage, checking at every put of an output that its intent is already in the log. */
function checkedStorage(taskDir: string, seen: string[]): Storage {
  const inner = createFsStorage({ root: taskDir });
  return new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'put') return Reflect.get(target, prop, receiver);
      return async (key: string, ...rest: unknown[]) => {
        if (!key.startsWith('_sluice/')) {
          const index = await readLineage(inner);
          const intents = index.byOutput.get(lineageUrl(path.join(taskDir, key))) ?? [];
          if (!intents.some((w) => !w.commit && !w.aborted)) throw new Error(`${key} put before its intent`);
          seen.push(key);
        }
        return (target.put as (...a: unknown[]) => Promise<unknown>)(key, ...rest);
      };
    },
  });
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('DataWriter lineage', { timeout: 60_000 }, () => {
  it('records every partition: its intent before the file is put, a commit with the sha256, size and rows of the bytes on disk', async () => {
    const taskDir = path.join(dir, 'partitions');
    const seen: string[] = [];
    const writer = new DataWriter({
      taskDir: checkedStorage(taskDir, seen),
      lineage: true,
      openLineage: false,
    });
    const result = await writer.writeDataframe(rows, 'sales', { format: 'parquet', partitionBy: 'region' });
    await writer.close();

    const files = result.files ?? [];
    expect(files.map((f) => f.path).sort()).toEqual([
      'output/sales/region=east/part-0.parquet',
      'output/sales/region=north/part-0.parquet',
      'output/sales/region=south/part-0.parquet',
    ]);
    expect(seen.sort()).toEqual(files.map((f) => f.path).sort());
    const index = await lineageOfTask(taskDir);
    expect(index.writes).toHaveLength(3);
    const runs = new Set<string | undefined>();
    for (const f of files) {
      const file = path.join(taskDir, f.path);
      const write = currentWrite(index, lineageUrl(file));
      expect(write?.intent.operation, f.path).toBe('writer.writeDataframe');
      expect(write?.commit).toMatchObject({
        sha256: sha(readFileSync(file)),
        size: statSync(file).size,
        rows: 100,
      });
      expect(write?.commit?.sha256).toBe(f.sha256);
      // In-memory rows: the input is the code that called the writer, by the sha256 of its file.
      expect(write?.intent.inputs).toEqual([
        {
          kind: 'model',
          name: expect.stringMatching(/^writer-lineage\.test\./),
          url: lineageUrl(THIS_FILE),
          sha256: sha(readFileSync(THIS_FILE)),
        },
      ]);
      runs.add(write?.intent.run);
    }
    expect(runs.size).toBe(1);
    expect((await verifyLineage(createFsStorage({ root: taskDir }))).corrupt).toEqual([]);
  });

  it('records every kind of output; a read-modify-write names the version it read; verify fails naming an edited file', async () => {
    const taskDir = path.join(dir, 'kinds');
    const passphrase = 'correct horse battery staple';
    const writer = new DataWriter({ taskDir, lineage: true, openLineage: false });
    const outputs = [
      await writer.writeDataframe(rows, 'table', { format: 'csv' }),
      await writer.writeDataframe(rows, 'zipped', { format: 'jsonl', compression: 'gzip' }),
      await writer.writeDataframe(rows.slice(0, 10), 'secret', { format: 'csv', encryption: { passphrase } }),
      await writer.writeJson({ a: 1 }, 'doc'),
      await writer.writeDictionary({ north: 'N', south: 'S' }, 'codes', { format: 'csv' }),
      await writer.writeMetrics({ accuracy: 0.9 }, 'quality'),
      await writer.writeVisualization(
        {
          $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
          data: { values: [{ x: 1, y: 2 }] },
          mark: 'point',
          encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
        },
        'chart',
        { format: 'svg' },
      ),
      await writer.appendToJsonArray({ n: 1 }, 'events'),
    ];
    const before = readFileSync(path.join(taskDir, 'events.json'));
    outputs.push(await writer.appendToJsonArray({ n: 2 }, 'events'));
    outputs.push(await writer.mergeJsonObjects({ b: { c: 2 } }, 'doc', { subdir: 'output' }));
    await writer.close();

    const index = await lineageOfTask(taskDir);
    const operations = new Map<string, string>();
    for (const o of outputs) {
      const file = path.join(taskDir, o.path);
      const write = currentWrite(index, lineageUrl(file));
      expect(write?.commit?.sha256, o.path).toBe(sha(readFileSync(file)));
      expect(write?.commit?.size, o.path).toBe(statSync(file).size);
      operations.set(o.path, write?.intent.operation ?? '');
    }
    expect(outputs.map((o) => o.path)).toContain('output/secret.csv.age');
    expect(operations.get('output/table.csv')).toBe('writer.writeDataframe');
    expect(operations.get('visualizations/chart.svg')).toBe('writer.writeVisualization');
    expect(operations.get('dictionaries/codes.csv')).toBe('writer.writeDictionary');
    expect([...operations.values()]).toContain('writer.writeMetrics');
    expect(currentWrite(index, lineageUrl(path.join(taskDir, 'output/table.csv')))?.commit?.rows).toBe(300);
    // The second append was made from the first version: its input is that version's sha256.
    const events = currentWrite(index, lineageUrl(path.join(taskDir, 'events.json')));
    expect(events?.intent.operation).toBe('writer.appendToJsonArray');
    expect(events?.commit?.rows).toBe(2);
    expect(events?.intent.inputs).toContainEqual({
      kind: 'file',
      url: lineageUrl(path.join(taskDir, 'events.json')),
      sha256: sha(before),
      size: before.length,
    });

    const storage = createFsStorage({ root: taskDir });
    expect((await verifyLineage(storage)).corrupt).toEqual([]);
    // One byte of the ciphertext changed: verify names that file, and only it.
    const secret = path.join(taskDir, 'output/secret.csv.age');
    const bytes = readFileSync(secret);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    writeFileSync(secret, bytes);
    const report = await verifyLineage(storage);
    expect(report.corrupt).toEqual([
      { output: lineageUrl(secret), status: 'changed', expected: outputs[2]?.sha256, actual: sha(bytes) },
    ]);
  });

  it('a write that fails mid-stream leaves its intent and an abort: no commit, no file, nothing verify calls corrupt', async () => {
    const taskDir = path.join(dir, 'failing');
    const writer = new DataWriter({ taskDir, lineage: true, openLineage: false });
    async function* broken() {
      for (let i = 0; i < 50_000; i++) {
        if (i === 40_000) throw new Error('upstream source failed at row 40000');
        yield { i, text: `row ${i}` };
      }
    }
    const failed = writer.writeDataframe(broken(), 'broken', { format: 'csv' });
    await expect(failed).rejects.toMatchObject({ code: 'E040' });
    await expect(failed).rejects.toThrow('upstream source failed at row 40000');
    await writer.close();

    const file = path.join(taskDir, 'output/broken.csv');
    expect(existsSync(file)).toBe(false);
    const writes = (await lineageOfTask(taskDir)).byOutput.get(lineageUrl(file)) ?? [];
    expect(writes).toHaveLength(1);
    expect(writes[0]?.commit).toBeUndefined();
    expect(writes[0]?.aborted).toContain('upstream source failed at row 40000');
    const report = await verifyLineage(createFsStorage({ root: taskDir }));
    expect(report.outputs).toEqual([{ output: lineageUrl(file), status: 'never-landed' }]);
    expect(report.corrupt).toEqual([]);
  });

  it('a write into a read-only folder is E012 naming it, with an abort record and no file', async () => {
    const taskDir = path.join(dir, 'read-only');
    const writer = new DataWriter({ taskDir, lineage: true, openLineage: false });
    await writer.init();
    const output = path.join(taskDir, 'output');
    mountTmpfs(output, 'ro,size=1m');
    try {
      const failed = writer.writeDataframe(rows, 'sales', { format: 'parquet', partitionBy: 'region' });
      await expect(failed).rejects.toMatchObject({ code: 'E012' });
      await expect(failed).rejects.toThrow(output);
      const json = writer.writeJson({ a: 1 }, 'doc', { subdir: 'output' });
      await expect(json).rejects.toMatchObject({ code: 'E012' });
    } finally {
      unmount(output);
      await writer.close();
    }
    const index = await lineageOfTask(taskDir);
    // Three partitions and the JSON were declared; none was committed, each was aborted.
    expect(index.writes).toHaveLength(4);
    for (const w of index.writes) {
      expect(w.commit, w.intent.output).toBeUndefined();
      expect(w.aborted, w.intent.output).toMatch(/read-only|EROFS/);
      expect(existsSync(w.intent.output.slice('file://'.length))).toBe(false);
    }
    expect((await verifyLineage(createFsStorage({ root: taskDir }))).corrupt).toEqual([]);
  });

  it('a rewrite with fewer partitions records the dropped files as deleted before they go', async () => {
    const taskDir = path.join(dir, 'rewrite');
    const writer = new DataWriter({ taskDir, lineage: true, openLineage: false });
    await writer.writeDataframe(rows, 'sales', { format: 'csv', partitionBy: 'region' });
    await writer.writeDataframe(
      rows.filter((r) => r.region === 'north'),
      'sales',
      { format: 'csv', partitionBy: 'region' },
    );
    await writer.close();
    const report = await verifyLineage(createFsStorage({ root: taskDir }));
    expect(report.corrupt).toEqual([]);
    expect(report.outputs.map((o) => [path.basename(path.dirname(o.output)), o.status])).toEqual([
      ['region=east', 'deleted'],
      ['region=north', 'ok'],
      ['region=south', 'deleted'],
    ]);
  });

  it('records nothing with lineage: false, nor with SLUICE_LINEAGE=0', async () => {
    const off = path.join(dir, 'off');
    const writer = new DataWriter({ taskDir: off, lineage: false });
    await writer.writeDataframe(rows, 'sales', { format: 'parquet', partitionBy: 'region' });
    await writer.writeJson({ a: 1 }, 'doc');
    await writer.close();
    expect(existsSync(path.join(off, LINEAGE_PREFIX))).toBe(false);

    for (const value of ['0', 'false', 'off', 'no']) {
      vi.stubEnv('SLUICE_LINEAGE', value);
      const envOff = path.join(dir, `env-off-${value}`);
      const fromEnv = new DataWriter({ taskDir: envOff });
      await fromEnv.writeDataframe(rows, 'sales', { format: 'csv' });
      await fromEnv.close();
      expect(existsSync(path.join(envOff, 'output/sales.csv'))).toBe(true);
      expect(existsSync(path.join(envOff, LINEAGE_PREFIX)), value).toBe(false);
    }
    vi.stubEnv('SLUICE_LINEAGE', '1');
    const on = path.join(dir, 'env-on');
    const fromEnv = new DataWriter({ taskDir: on });
    expect(fromEnv.recordsLineage).toBe(true);
    await fromEnv.writeDataframe(rows, 'sales', { format: 'csv' });
    await fromEnv.close();
    expect(existsSync(path.join(on, LINEAGE_PREFIX))).toBe(true);
  });

  it('inputs given by the caller are recorded instead of the calling code', async () => {
    const taskDir = path.join(dir, 'inputs');
    const source = { kind: 'object' as const, url: 's3://raw/sales/2026.csv', etag: '"abc123"', size: 10 };
    const writer = new DataWriter({ taskDir, lineage: true, openLineage: false });
    const result = await writer.writeDataframe(rows, 'sales', {
      format: 'csv',
      inputs: Promise.resolve([source]),
    });
    await writer.close();
    const write = currentWrite(await lineageOfTask(taskDir), lineageUrl(result.location));
    expect(write?.intent.inputs).toEqual([source]);
  });
});
