import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/duckdb.ts';
import { type StoredPoint, TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const root = tempDir('ts-io');
let n = 0;
const fresh = () => path.join(root, `s${++n}`);
const open: TimeSeriesStore[] = [];
async function openStore(dir: string) {
  const s = await TimeSeriesStore.open(dir, { compactIntervalMs: 0 });
  open.push(s);
  return s;
}
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
async function all(s: TimeSeriesStore, v: string): Promise<StoredPoint[]> {
  const out: StoredPoint[] = [];
  for await (const p of s.query(v)) out.push(p);
  return out;
}

function seedLayout(): string {
  // What the seed's HighFrequencyDataStore writes: one <variable>.jsonl per variable.
  const dir = path.join(root, `seed${++n}`);
  mkdirSync(dir);
  writeFileSync(
    path.join(dir, 'sensor_temp_celsius.jsonl'),
    [
      '{"timestamp": "2023-10-27T14:30:00.123456", "value": 25.5, "metadata": {"location": "room_a", "sensor_id": "xyz123"}}',
      '{"timestamp": "2023-10-27T14:29:00", "value": 25.8, "metadata": null}',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(dir, 'system_load_avg.jsonl'),
    '{"timestamp": "2023-10-27T14:30:00Z", "value": 0.65, "metadata": {"host": "server01"}}\n',
  );
  writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
  return dir;
}

describe('import and export', () => {
  it("imports a directory in the seed's JSONL layout", async () => {
    const s = await openStore(fresh());
    expect(await s.importJsonl(seedLayout())).toEqual({ files: 2, points: 3 });
    expect(await s.variables()).toEqual(['sensor_temp_celsius', 'system_load_avg']);
    expect((await all(s, 'sensor_temp_celsius')).map((p) => [p.timestamp, p.value, p.metadata])).toEqual([
      ['2023-10-27T14:29:00.000000Z', 25.8, undefined],
      ['2023-10-27T14:30:00.123456Z', 25.5, { location: 'room_a', sensor_id: 'xyz123' }],
    ]);
  });

  it('rejects a file with a bad line, naming file and line, and stores none of it', async () => {
    const s = await openStore(fresh());
    const dir = path.join(root, `bad${++n}`);
    mkdirSync(dir);
    const file = path.join(dir, 'v.jsonl');
    writeFileSync(file, '{"timestamp": 1000, "value": 1}\n{"timestamp": "nope", "value": 2}\n');
    await expect(s.importJsonl(dir)).rejects.toMatchObject({
      code: 'E051',
      message: expect.stringContaining(`${file} line 2`),
    });
    writeFileSync(file, '{"timestamp": 1000, "value": 1}\n{not json\n');
    await expect(s.importJsonl(file)).rejects.toMatchObject({
      code: 'E021',
      message: expect.stringContaining(`${file} line 2 column 2: expected a property name`),
    });
    expect(await s.variables()).toEqual([]);
  });

  it('imports CSV with typed cells', async () => {
    const s = await openStore(fresh());
    const file = path.join(root, `in${++n}.csv`);
    writeFileSync(
      file,
      'variable,timestamp,value,metadata\na,2024-01-01T00:00:00Z,1.5,\na,1704067201000,true,"{""k"":1}"\nb,2024-01-01T00:00:00Z,,\nb,2024-01-01T00:00:01Z,text,\n',
    );
    expect(await s.importJsonl(file)).toEqual({ files: 1, points: 4 });
    expect((await all(s, 'a')).map((p) => [p.value, p.metadata])).toEqual([
      [1.5, undefined],
      [true, { k: 1 }],
    ]);
    expect((await all(s, 'b')).map((p) => p.value)).toEqual([null, 'text']);
  });

  it('exports JSONL (seed layout, round-trips), CSV and Parquet', async () => {
    const s = await openStore(fresh());
    await s.importJsonl(seedLayout());
    await s.compact();
    await s.storeDataPoint('system_load_avg', '2023-10-27T14:31:00Z', 'busy');
    const out = path.join(root, `exp${++n}`);
    const res = await s.export(undefined, { format: 'jsonl', out });
    expect(res.points).toBe(4);
    const again = await openStore(fresh());
    await again.importJsonl(out);
    for (const v of await s.variables()) expect(await all(again, v)).toEqual(await all(s, v));

    const csv = path.join(root, `exp${++n}.csv`);
    await s.export('system_load_avg', { format: 'csv', out: csv });
    expect(readFileSync(csv, 'utf8')).toBe(
      'variable,timestamp,value,metadata\nsystem_load_avg,2023-10-27T14:30:00.000000Z,0.65,"{""host"":""server01""}"\nsystem_load_avg,2023-10-27T14:31:00.000000Z,busy,\n',
    );

    const pq = path.join(root, `exp${++n}.parquet`);
    expect((await s.export(undefined, { format: 'parquet', out: pq })).points).toBe(4);
    const engine = await Engine.create();
    try {
      const rows = await engine.query<{ variable: string; c: bigint }>(
        `SELECT variable, count(*) AS c FROM read_parquet('${pq}') GROUP BY variable ORDER BY variable`,
      );
      expect(rows.map((r) => [r.variable, Number(r.c)])).toEqual([
        ['sensor_temp_celsius', 2],
        ['system_load_avg', 2],
      ]);
    } finally {
      await engine.close();
    }
  });
});
