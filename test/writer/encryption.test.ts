import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/duckdb.ts';
import { DataWriter } from '../../src/writer/index.ts';
import { ageKeygen, requireAgeCli } from '../crypto/helpers.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROWS = [
  { id: 1, score: 1.5, name: 'alpha', ok: true, at: new Date('2026-01-01T00:00:00.000Z'), note: null },
  { id: 2, score: -2.25, name: 'b', ok: false, at: null, note: 'x' },
  { id: 3, score: 1e10, name: 'ünïcødé', ok: null, at: null, note: null },
];

describe('DataWriter encryption', () => {
  const dir = tempDir('writer-enc');
  let key: { file: string; recipient: string };
  let identity: string;
  beforeAll(() => {
    requireAgeCli();
    key = ageKeygen(dir);
    identity =
      readFileSync(key.file, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('AGE-SECRET-KEY-')) ?? '';
  });

  it('encrypts every partition; age -d decrypts each; DuckDB reads the Hive layout', async () => {
    const writer = new DataWriter({
      taskDir: dir,
      encryption: { recipients: [key.recipient], identities: [identity] },
    });
    const rows = Array.from({ length: 300 }, (_, i) => ({
      id: i,
      region: ['eu', 'us', 'apac'][i % 3],
      year: 2024 + (i % 2),
      v: i / 2,
    }));
    const result = await writer.writeDataframe(rows, 'sales', {
      format: 'parquet',
      partitionBy: ['region', 'year'],
    });
    expect(result).toMatchObject({ path: 'output/sales', encrypted: true, rows: 300, format: 'parquet' });
    expect(result.files).toHaveLength(6);
    const plain = path.join(dir, 'plain');
    for (const file of result.files ?? []) {
      expect(file.path).toMatch(/^output\/sales\/region=(eu|us|apac)\/year=202[45]\/part-0\.parquet\.age$/);
      const stored = readFileSync(path.join(dir, file.path));
      expect(stored.subarray(0, 22).toString()).toBe('age-encryption.org/v1\n');
      const target = path.join(plain, file.path.replace(/^output\/sales\//, '').replace(/\.age$/, ''));
      execFileSync('mkdir', ['-p', path.dirname(target)]);
      execFileSync('age', ['-d', '-i', key.file, '-o', target, path.join(dir, file.path)]);
    }
    const engine = await Engine.create();
    const back = await engine.query(
      `SELECT count(*)::INT AS n, sum(v) AS s, count(DISTINCT region)::INT AS r FROM read_parquet('${plain}/**/*.parquet', hive_partitioning=true)`,
    );
    expect(back).toEqual([{ n: 300, s: rows.reduce((a, r) => a + r.v, 0), r: 3 }]);
    await engine.close();

    // A rewrite with fewer partitions leaves no stale partition behind.
    const again = await writer.writeDataframe(
      rows.filter((r) => r.region === 'eu'),
      'sales',
      {
        format: 'parquet',
        partitionBy: 'region',
      },
    );
    expect(again.files?.map((f) => f.path)).toEqual(['output/sales/region=eu/part-0.parquet.age']);
    const refused = await writer
      .writeDataframe(rows, 'sales', { format: 'parquet', partitionBy: 'region', overwrite: false })
      .catch((e) => e);
    expect(refused).toMatchObject({ code: 'E040', cause: { code: 'E013' } });
    await writer.close();
  });

  it('every format encrypted decrypts with age and reads back in the library; secrets stay out of results', async () => {
    const writer = new DataWriter({
      taskDir: dir,
      encryption: { recipients: [key.recipient], identities: [identity] },
    });
    for (const format of ['csv', 'json', 'jsonl', 'parquet'] as const) {
      const result = await writer.writeDataframe(ROWS, `enc-${format}`, { format });
      expect(result.path).toBe(`output/enc-${format}.${format}.age`);
      expect(JSON.stringify(result)).not.toContain('AGE-SECRET-KEY');
      const out = path.join(dir, `dec.${format}`);
      execFileSync('age', ['-d', '-i', key.file, '-o', out, result.location]);
      const rows: Record<string, unknown>[] = [];
      for await (const row of writer.readOutputRows(result.path)) rows.push(row);
      expect(rows).toHaveLength(3);
    }
    await writer.appendToJsonArray({ a: 1 }, 'secret-log');
    await writer.appendToJsonArray({ a: 2 }, 'secret-log');
    expect(JSON.parse((await writer.readOutput('secret-log.json.age')).toString())).toEqual([
      { a: 1 },
      { a: 2 },
    ]);
    const plain = await writer.writeJson({ x: 1 }, 'plain', { encryption: false });
    expect(plain).toMatchObject({ path: 'plain.json', encrypted: false });
    await writer.close();
  });

  it('passphrase encryption round-trips and a recipients-only writer cannot append to encrypted files', async () => {
    const w = new DataWriter({
      taskDir: dir,
      encryption: { passphrase: 'open sesame', scryptWorkFactor: 10 },
    });
    const r = await w.writeJson({ k: 'v' }, 'pp');
    expect(JSON.parse((await w.readOutput(r.path)).toString())).toEqual({ k: 'v' });
    await w.close();
    const blind = new DataWriter({ taskDir: dir, encryption: { recipients: [key.recipient] } });
    await blind.appendToJsonArray(1, 'blind');
    const error = await blind.appendToJsonArray(2, 'blind').catch((e) => e);
    expect(error).toMatchObject({ code: 'E040' });
    expect(error.message).toMatch(/identities/);
    await blind.close();
  });
});
