/**
 * docs/pipeline.md "Reading the lake from other tools": its DuckDB and Polars examples run as
 * written, from the folder of examples/jaffle_shop after run and promote, and read qa's current
 * data once (issue #20).
 */
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/duckdb.ts';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const docs = readFileSync(path.join(REPO_ROOT, 'docs', 'pipeline.md'), 'utf8');
const section = docs.slice(docs.indexOf('### Reading the lake from other tools'));
const block = (lang: string) => {
  const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section);
  if (!m?.[1])
    throw new Error(`docs/pipeline.md has no ${lang} block in "Reading the lake from other tools"`);
  return m[1];
};

describe('docs: reading the lake from other tools', { timeout: 180_000 }, () => {
  it('the DuckDB and Polars examples read qa’s customers once', async () => {
    const dir = path.join(tempDir('read-lake-docs'), 'jaffle_shop');
    cpSync(path.join(REPO_ROOT, 'examples', 'jaffle_shop'), dir, { recursive: true });
    for (const args of [['run'], ['promote', 'dev', 'qa']]) {
      const r = await runSluice(args, { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
    }
    // DuckDB resolves relative paths against the process's folder: run the SQL from the project's.
    const sql = block('sql').replaceAll("'lake/", `'${dir}/lake/`);
    const statements = sql
      .split(';')
      .map((t) => t.trim())
      .filter((t) => t.replace(/--[^\n]*/g, '').trim() !== '');
    expect(statements).toHaveLength(2);
    const engine = await Engine.create();
    try {
      const [mart] = await engine.query<{ customers: bigint; lifetime_value: number }>(
        statements[0] as string,
      );
      expect(mart).toEqual({ customers: 100n, lifetime_value: 1672 });
      const perFile = await engine.query<{ filename: string; rows: bigint }>(statements[1] as string);
      expect(perFile.map((r) => path.basename(r.filename))).toEqual([
        'customers.parquet',
        'orders.parquet',
        'stg_customers.parquet',
        'stg_orders.parquet',
        'stg_payments.parquet',
      ]);
    } finally {
      await engine.close();
    }
    const script = path.join(dir, 'read.cjs');
    writeFileSync(script, block('js'));
    const { stdout } = await promisify(execFile)(process.execPath, [script], {
      cwd: dir,
      env: { ...process.env, NODE_PATH: path.join(REPO_ROOT, 'node_modules') },
    });
    expect(stdout.trim()).toBe('100 1672');
  });
});
