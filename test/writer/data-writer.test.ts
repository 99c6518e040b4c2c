import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineChart, pngSize } from '../../src/charts/index.ts';
import { parseJson } from '../../src/util/json-parse.ts';
import { DataWriter, type WriterProgressEvent } from '../../src/writer/index.ts';
import { writerFixture } from './fixture.ts';

const ROWS = [
  { id: 1, score: 1.5, name: 'alpha', ok: true, at: new Date('2026-01-01T00:00:00.000Z'), note: null },
  {
    id: 2,
    score: -2.25,
    name: 'b,"quoted"\nline',
    ok: false,
    at: new Date('2026-01-02T03:04:05.123Z'),
    note: 'x',
  },
  { id: 3, score: 1e10, name: 'ünïcødé', ok: null, at: null, note: null },
];

function normalise(rows: Record<string, unknown>[]) {
  return rows.map((r) => ({
    id: Number(r.id),
    score: Number(r.score),
    name: r.name,
    ok: r.ok,
    at: r.at === null ? null : new Date(r.at as string | Date).toISOString(),
    note: r.note,
  }));
}

describe('DataWriter on local disk', () => {
  const fx = writerFixture('writer');

  it('creates the task folders', async () => {
    await fx.writer.init();
    for (const sub of ['output', 'dictionaries', 'logs', 'visualizations', 'metrics']) {
      expect(statSync(path.join(fx.dir, sub)).isDirectory()).toBe(true);
    }
  });

  it.each(['csv', 'parquet', 'json', 'jsonl'] as const)('%s round-trips through DuckDB', async (format) => {
    const result = await fx.writer.writeDataframe(ROWS, `rt-${format}`, { format });
    expect(result).toMatchObject({
      path: `output/rt-${format}.${format}`,
      format,
      rows: 3,
      encrypted: false,
    });
    const bytes = readFileSync(result.location);
    expect(result.sizeBytes).toBe(bytes.length);
    expect(result.sha256).toBe(
      (await import('node:crypto')).createHash('sha256').update(bytes).digest('hex'),
    );
    const back = await fx.engine.query(`SELECT * FROM '${result.location}' ORDER BY id`);
    expect(normalise(back)).toEqual(normalise(ROWS));
    if (format === 'parquet') {
      const types = Object.fromEntries(
        (
          await fx.engine.query<{ column_name: string; column_type: string }>(
            `DESCRIBE SELECT * FROM '${result.location}'`,
          )
        ).map((c) => [c.column_name, c.column_type]),
      );
      expect(types).toEqual({
        id: 'BIGINT',
        score: 'DOUBLE',
        name: 'VARCHAR',
        ok: 'BOOLEAN',
        at: 'TIMESTAMP',
        note: 'VARCHAR',
      });
      const codec = await fx.engine.query(
        `SELECT DISTINCT compression FROM parquet_metadata('${result.location}')`,
      );
      expect(codec.map((c) => c.compression)).toEqual(['ZSTD']);
    }
  });

  it('gzips text formats on request and reads them back; rejects compression that would be ignored', async () => {
    const result = await fx.writer.writeDataframe(ROWS, 'zipped', { format: 'csv', compression: 'gzip' });
    expect(result.path).toBe('output/zipped.csv.gz');
    const back = await fx.engine.query(`SELECT * FROM read_csv('${result.location}') ORDER BY id`);
    expect(back).toHaveLength(3);
    const rows: unknown[] = [];
    for await (const row of fx.writer.readOutputRows(result.path)) rows.push(row);
    expect(rows).toHaveLength(3);
    await expect(
      fx.writer.writeDataframe(ROWS, 'bad', { format: 'csv', compression: 'zstd' }),
    ).rejects.toThrow(/compression/);
    await expect(
      fx.writer.writeDataframe(ROWS, 'bad', { format: 'csv', compression: 'gzip', partitionBy: 'ok' }),
    ).rejects.toThrow(/partitioned/);
  });

  it('streams async iterables and reports progress', async () => {
    const events: WriterProgressEvent[] = [];
    const w = new DataWriter({ taskDir: fx.dir, progress: (e) => events.push(e) });
    async function* gen() {
      for (let i = 0; i < 25_000; i++) yield { i, v: i * 0.5 };
    }
    const result = await w.writeDataframe(gen(), 'streamed', { format: 'jsonl' });
    expect(result.rows).toBe(25_000);
    expect(events.at(-1)).toEqual({ operation: 'write streamed', done: 25_000, total: 25_000, unit: 'rows' });
    // Counted every 10,000 rows, passed on at most every 200 ms (throttleProgress): the first
    // count at once, then as time allows — never one per row.
    const during = events.filter((e) => e.total === undefined).map((e) => e.done);
    expect(during[0]).toBe(10_000);
    expect(during.every((n) => n % 10_000 === 0 && n < 25_000)).toBe(true);
    await w.close();
  });

  it.each(['csv', 'parquet'] as const)(
    'a %s source failing midway leaves the previous file intact',
    async (format) => {
      const first = await fx.writer.writeDataframe([{ a: 1 }], `torn-${format}`, { format });
      const before = readFileSync(first.location);
      async function* failing() {
        for (let i = 0; i < 5000; i++) yield { a: i };
        throw new Error('source broke at row 5000');
      }
      const error = await fx.writer.writeDataframe(failing(), `torn-${format}`, { format }).catch((e) => e);
      expect(error).toMatchObject({ code: 'E040' });
      expect(error.message).toMatch(/source broke/);
      expect(readFileSync(first.location).equals(before)).toBe(true);
    },
  );

  it('writes a DuckDB query over files', async () => {
    const csv = path.join(fx.dir, 'in.csv');
    writeFileSync(csv, 'a,b\n1,x\n2,y\n');
    const result = await fx.writer.writeDataframe(
      { sql: `SELECT a * 10 AS a, b FROM read_csv('${csv}')` },
      'q',
      { format: 'parquet' },
    );
    expect(result.rows).toBe(2);
    expect(await fx.engine.query(`SELECT * FROM '${result.location}' ORDER BY a`)).toEqual([
      { a: 10n, b: 'x' },
      { a: 20n, b: 'y' },
    ]);
  });

  it('timestamps names to the millisecond and honours overwrite=false', async () => {
    const a = await fx.writer.writeJson({ a: 1 }, 'stamped', { timestampInName: true });
    expect(a.path).toMatch(/^stamped_\d{8}T\d{9}Z\.json$/);
    await fx.writer.writeJson({ v: 1 }, 'once', { subdir: 'output' });
    const error = await fx.writer
      .writeJson({ v: 2 }, 'once', { subdir: 'output', overwrite: false })
      .catch((e) => e);
    expect(error).toMatchObject({ code: 'E040', name: 'DataWriteError' });
    expect(error.message).toContain('output/once');
    expect(error.cause).toMatchObject({ code: 'E013' });
    expect(JSON.parse(readFileSync(path.join(fx.dir, 'output/once.json'), 'utf8'))).toEqual({ v: 1 });
    const df = await fx.writer
      .writeDataframe(ROWS, 'once', { overwrite: false, format: 'json' })
      .catch((e) => e);
    expect(df.code).toBe('E040');
  });

  it('honours pretty=false', async () => {
    const compact = await fx.writer.writeJson({ a: [1, 2], b: { c: true } }, 'compact', { pretty: false });
    expect(readFileSync(compact.location, 'utf8')).toBe('{"a":[1,2],"b":{"c":true}}');
    const pretty = await fx.writer.writeJson({ a: 1 }, 'pretty');
    expect(readFileSync(pretty.location, 'utf8')).toBe('{\n  "a": 1\n}\n');
  });

  it('appendToJsonArray keeps a corrupt or non-array file byte for byte and raises', async () => {
    const file = path.join(fx.dir, 'log.json');
    const corrupt = Buffer.from('[{"a": 1}, {"b": tru');
    writeFileSync(file, corrupt);
    const error = await fx.writer.appendToJsonArray({ c: 3 }, 'log').catch((e) => e);
    expect(error).toMatchObject({ code: 'E040' });
    expect(error.message).toContain('log.json');
    expect(readFileSync(file).equals(corrupt)).toBe(true);
    writeFileSync(file, '{"not":"array"}');
    await expect(fx.writer.appendToJsonArray({ c: 3 }, 'log')).rejects.toThrow(/not an array/);
    expect(readFileSync(file, 'utf8')).toBe('{"not":"array"}');
    const badBytes = Buffer.concat([Buffer.from('[\n{"name": "'), Buffer.from([0xff]), Buffer.from('"}]')]);
    writeFileSync(file, badBytes);
    const refused = await fx.writer.appendToJsonArray({ c: 3 }, 'log').catch((e) => e);
    expect(refused).toMatchObject({ code: 'E040' });
    expect(refused.message).toMatch(/log\.json is not valid UTF-8 \(byte 0xff at line 2, column 11\)/);
    expect(readFileSync(file).equals(badBytes)).toBe(true);
  });

  it('appendToJsonArray creates and appends, safely under concurrency', async () => {
    await Promise.all(Array.from({ length: 30 }, (_, i) => fx.writer.appendToJsonArray({ i }, 'events')));
    const items = JSON.parse(readFileSync(path.join(fx.dir, 'events.json'), 'utf8')) as { i: number }[];
    expect(items.map((x) => x.i).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    await expect(fx.writer.appendToJsonArray({}, 'absent', { createIfMissing: false })).rejects.toMatchObject(
      {
        code: 'E040',
      },
    );
  });

  it('two processes appending at once lose nothing (file lock)', async () => {
    const script = path.join(fx.dir, 'append-child.ts');
    const src = path.resolve('src/writer/index.ts');
    writeFileSync(
      script,
      `import { DataWriter } from ${JSON.stringify(src)};
const w = new DataWriter({ taskDir: process.argv[2] });
for (let i = 0; i < 40; i++) await w.appendToJsonArray({ p: process.argv[3], i }, 'shared', { pretty: false });
await w.close();`,
    );
    const { spawn } = await import('node:child_process');
    const run = (tag: string) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, [script, fx.dir, tag], { stdio: 'inherit' });
        child.on('exit', (code) => resolve(code ?? -1));
      });
    expect(await Promise.all([run('a'), run('b')])).toEqual([0, 0]);
    const items = JSON.parse(readFileSync(path.join(fx.dir, 'shared.json'), 'utf8')) as unknown[];
    expect(items).toHaveLength(80);
    expect(existsSync(path.join(fx.dir, '.shared.json.lock'))).toBe(false);
  });

  it('breaks a lock left by a dead process, and times out on a live one with LockError as cause', async () => {
    const lock = path.join(fx.dir, '.locked.json.lock');
    writeFileSync(lock, '999999999 deadbeef');
    await fx.writer.appendToJsonArray({ ok: 1 }, 'locked');
    expect(existsSync(lock)).toBe(false);
    writeFileSync(lock, `${process.pid} someone-else`);
    const impatient = new DataWriter({ taskDir: fx.dir, lockTimeoutMs: 200 });
    const error = await impatient.appendToJsonArray({ ok: 2 }, 'locked').catch((e) => e);
    expect(error).toMatchObject({ code: 'E040' });
    expect(error.cause).toMatchObject({ code: 'E071' });
    expect(JSON.parse(readFileSync(path.join(fx.dir, 'locked.json'), 'utf8'))).toEqual([{ ok: 1 }]);
    await impatient.close();
  });

  it('mergeJsonObjects merges recursively, or not, and respects overwriteExisting', async () => {
    await fx.writer.mergeJsonObjects({ a: { x: 1, y: 1 }, keep: 1 }, 'config');
    await fx.writer.mergeJsonObjects({ a: { y: 2, z: 3 } }, 'config');
    expect(JSON.parse(readFileSync(path.join(fx.dir, 'config.json'), 'utf8'))).toEqual({
      a: { x: 1, y: 2, z: 3 },
      keep: 1,
    });
    await fx.writer.mergeJsonObjects({ a: { only: true } }, 'config', { recursiveMerge: false });
    expect(JSON.parse(readFileSync(path.join(fx.dir, 'config.json'), 'utf8'))).toEqual({
      a: { only: true },
      keep: 1,
    });
    await fx.writer.mergeJsonObjects({ keep: 2, added: 1 }, 'config', { overwriteExisting: false });
    expect(JSON.parse(readFileSync(path.join(fx.dir, 'config.json'), 'utf8'))).toEqual({
      a: { only: true },
      keep: 1,
      added: 1,
    });
    writeFileSync(path.join(fx.dir, 'arr.json'), '[1]');
    await expect(fx.writer.mergeJsonObjects({ a: 1 }, 'arr')).rejects.toThrow(/not an object/);
  });

  it('merging keeps keys with escape sequences exact (Node 24 JSON.parse key bug)', async () => {
    await fx.writer.mergeJsonObjects({ x: 1, '\\': 1 }, 'escaped');
    await fx.writer.mergeJsonObjects({ x: 2, '\n': 2 }, 'escaped');
    const doc = parseJson(readFileSync(path.join(fx.dir, 'escaped.json'), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(doc).sort()).toEqual(['\n', '\\', 'x'].sort());
    expect(doc['\n']).toBe(2);
  });

  it('writeMetrics wraps metrics with timestamp, name, operation and version', async () => {
    const result = await fx.writer.writeMetrics({ quality: 0.85 }, 'op_metrics');
    expect(result.path).toMatch(/^metrics\/op_metrics_\d{8}T\d{9}Z\.json$/);
    const doc = JSON.parse(readFileSync(result.location, 'utf8'));
    expect(doc).toMatchObject({
      name: 'op_metrics',
      metrics: { quality: 0.85 },
      sluiceVersion: expect.any(String),
    });
    expect(doc.operation.module).toBe('data-writer.test');
    expect(Date.parse(doc.timestamp)).not.toBeNaN();
  });

  it('writeDictionary writes mappings as JSON or key/value tables', async () => {
    const json = await fx.writer.writeDictionary({ apple: 3, pear: 1 }, 'freq');
    expect(json.path).toBe('dictionaries/freq.json');
    const table = await fx.writer.writeDictionary({ apple: 3, pear: 1 }, 'freq', { format: 'csv' });
    expect(readFileSync(table.location, 'utf8')).toBe('key,value\napple,3\npear,1\n');
  });

  it('writeVisualization stores a PNG of the requested size', async () => {
    const spec = lineChart(
      Array.from({ length: 10 }, (_, i) => ({ x: i, y: i * i })),
      { x: 'x', y: 'y', width: 320, height: 200 },
    );
    const result = await fx.writer.writeVisualization(spec, 'curve');
    expect(result.path).toBe('visualizations/curve.png');
    expect(pngSize(readFileSync(result.location))).toEqual({ width: 320, height: 200 });
    const svg = await fx.writer.writeVisualization(spec, 'curve', { format: 'svg' });
    expect(readFileSync(svg.location, 'utf8')).toMatch(/^<svg/);
  });

  it('rejects unsafe names and bad formats with DataWriteError', async () => {
    for (const name of ['../escape', 'a/b', '', '..']) {
      await expect(fx.writer.writeJson({}, name)).rejects.toMatchObject({ code: 'E040' });
    }
    await expect(fx.writer.writeDataframe(ROWS, 'x', { format: 'xlsx' as never })).rejects.toThrow(/format/);
    await expect(fx.writer.writeDataframe(42 as never, 'x')).rejects.toMatchObject({ code: 'E040' });
  });
});
