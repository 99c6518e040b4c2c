/**
 * dbt's jaffle_shop ported to sluice (examples/jaffle_shop, issue #20): models in dbt's nested
 * folders, all validated by DuckDB's parser before anything runs; after run and promote, a plain
 * DuckDB glob over qa reads the customers mart with the row count and lifetime-value sum that an
 * independent query over the raw seed CSVs computes (the old layout doubled them).
 */
import { cpSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('jaffle_shop', { timeout: 180_000 }, () => {
  it('validates, runs, promotes; a glob over qa matches the raw seeds', async () => {
    const dir = path.join(tempDir('jaffle'), 'jaffle_shop');
    cpSync(path.join(REPO_ROOT, 'examples', 'jaffle_shop'), dir, { recursive: true });
    for (const args of [['validate'], ['run'], ['promote', 'dev', 'qa'], ['run'], ['promote', 'dev', 'qa']]) {
      const r = await runSluice(args, { cwd: dir });
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
    }
    const engine = await Engine.create();
    try {
      const raw = (name: string) => quoteLiteral(path.join(dir, 'data', 'raw', name, `${name}.csv`));
      const [expected] = await engine.query<{ n: bigint; ltv: number }>(
        `SELECT (SELECT count(*) FROM read_csv(${raw('raw_customers')})) AS n,
                sum(p.amount / 100) AS ltv
           FROM read_csv(${raw('raw_payments')}) p
           JOIN read_csv(${raw('raw_orders')}) o ON p.order_id = o.id
           WHERE o.user_id IN (SELECT id FROM read_csv(${raw('raw_customers')}))`,
      );
      const [glob] = await engine.query<{ n: bigint; ltv: number }>(
        `SELECT count(*) AS n, sum(customer_lifetime_value) AS ltv
           FROM read_parquet(${quoteLiteral(path.join(dir, 'lake', 'qa', '**', 'customers.parquet'))})`,
      );
      expect(glob).toEqual(expected);
      expect(Number(glob?.n)).toBe(100);
      expect(glob?.ltv).toBe(1672);
    } finally {
      await engine.close();
    }
  });
});
