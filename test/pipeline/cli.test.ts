import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { freshBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';
import { writeFile } from './helpers.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CACHE = tempDir('cli-sync-cache');

function sluice(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string; ms: number }>((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'src/cli/main.ts'), ...args], {
      cwd: options.cwd ?? ROOT,
      env: {
        ...process.env,
        SLUICE_CACHE_DIR: CACHE,
        ...options.env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started }));
  });
}

describe('sluice demo and the pipeline CLI', () => {
  const work = tempDir('cli-demo');
  const demo = path.join(work, 'sluice-demo');

  it('sluice demo runs the whole pipeline in under 30 s and prints a summary', async () => {
    const r = await sluice(['demo'], { cwd: work, env: { SLUICE_PROGRESS: '1' } });
    expect(r.stderr).not.toMatch(/E\d{3}:/);
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(30_000);
    expect(r.stdout).toMatch(/ingest\s+ok\s+3\s+298080/);
    expect(r.stdout).toMatch(/transform\s+ok\s+5/);
    expect(r.stdout).toMatch(/promoted dev → qa: 8 files/);
    expect(r.stdout).toMatch(/staging\/country_year_summary.parquet\s+3888/);
    for (const f of [
      'sluice.config.yaml',
      'models/all_indicators.sql',
      'data/raw/sdg/SDG_DATA.csv',
      'data/raw/sdg/schema.yaml',
    ]) {
      expect(existsSync(path.join(demo, f)), f).toBe(true);
    }
  });

  it('inside the demo: status, catalog, validate, promote dev prod (E005), rollback', async () => {
    const status = await sluice(['status'], { cwd: demo });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/full\s+yes/);
    const ls = await sluice(['catalog', 'ls', '--env', 'qa'], { cwd: demo });
    expect(ls.stdout).toMatch(/landing\/sdg\/SDG_DATA.parquet\s+155520/);
    const show = await sluice(['catalog', 'show', 'all_indicators', '--json'], { cwd: demo });
    expect(JSON.parse(show.stdout)).toMatchObject({ rows: 292461, layer: 'staging' });
    expect((await sluice(['validate'], { cwd: demo })).stdout).toMatch(/OK/);

    const bad = await sluice(['promote', 'dev', 'prod'], { cwd: demo });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^E005: Cannot promote dev → prod/);
    expect(existsSync(path.join(demo, 'lake/prod'))).toBe(false);

    const qa = await sluice(['promote', 'qa', 'prod'], { cwd: demo });
    expect(qa.code).toBe(0);
    expect(qa.stdout).toMatch(/promoted qa → prod: 8 files/);
    // The only backup is the empty prod before its first promotion: refused without --allow-empty.
    const refused = await sluice(['rollback', 'prod'], { cwd: demo });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^E005: Backup \S+ of prod holds no datasets .* run `(npx )?sluice rollback prod --allow-empty`/,
    );
    expect((await sluice(['catalog', 'ls', '--env', 'prod', '--json'], { cwd: demo })).stdout).toContain(
      'staging',
    );
    const rb = await sluice(['rollback', 'prod', '--allow-empty'], { cwd: demo });
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stdout).toMatch(/prod restored to backup \S+: 0 datasets/);
    expect((await sluice(['catalog', 'ls', '--env', 'prod', '--json'], { cwd: demo })).stdout.trim()).toBe(
      '[]',
    );
  });

  it('ingest-csv reports a bad row as E003 with file, row and column', async () => {
    const csv = writeFile(
      path.join(work, 'bad.csv'),
      'indicator_id,country_id,year,value\nA,KEN,2001,1\nA,KEN,20x1,2\n',
    );
    const schema = path.join(demo, 'data/raw/sdg/schema.yaml');
    const r = await sluice(['ingest-csv', csv, '--source', 'manual', '--schema', schema], { cwd: demo });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`E003: ${csv} row 3 column year: value "20x1"`);
    const ok = await sluice(
      [
        'ingest-csv',
        csv,
        '--source',
        'manual',
        '--schema',
        schema,
        '--reject-file',
        path.join(work, 'rej.csv'),
      ],
      {
        cwd: demo,
      },
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/dev\/landing\/manual\/bad.parquet: 1 rows.*1 rejected rows/);
  });

  it('sync and diff between a folder and s3rver; the second sync copies nothing', async () => {
    const b = await freshBucket('cli-sync');
    const env = { ...b.env, AWS_ENDPOINT_URL: b.endpoint };
    const lake = path.join(demo, 'lake/dev');
    const first = await sluice(['sync', lake, b.url('dev/'), '--exclude', '_meta/**'], { cwd: demo, env });
    expect(first.code).toBe(0);
    // 8 demo datasets plus the one ingest-csv added above.
    expect(first.stdout).toMatch(/copied 9 files/);
    const second = await sluice(['sync', lake, b.url('dev/'), '--exclude', '_meta/**'], { cwd: demo, env });
    expect(second.stdout).toMatch(/copied 0 files .* unchanged 9/);
    const diff = await sluice(['diff', lake, b.url('dev/'), '--exclude', '_meta/**'], { cwd: demo, env });
    expect(diff.code).toBe(0);
    expect(diff.stdout).toMatch(/0 only in a, 0 only in b, 0 modified, 9 identical/);
    const dry = await sluice(['sync', b.url('dev/'), path.join(work, 'down'), '--dry-run'], {
      cwd: demo,
      env,
    });
    expect(dry.stdout).toMatch(/\(dry run\) copy: landing\/sdg\/SDG_DATA.parquet/);
    expect(existsSync(path.join(work, 'down'))).toBe(false);
  });

  it('sluice run with a broken raw CSV exits 1 with its E021; the run is in sluice status', async () => {
    const bad = writeFile(
      path.join(demo, 'data/raw/wdi/BAD.csv'),
      'indicator_id,country_id,year,value\nA,B,2001,1\nA,B,2002\n',
    );
    const r = await sluice(['run'], { cwd: demo });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^E021: pipeline run \S+ failed: CSV data\/raw\/wdi\/BAD.csv line 3: 3 fields, but the header has 4/,
    );
    expect(r.stdout).toMatch(/transform\s+skipped/);
    const status = await sluice(['status', '--json'], { cwd: demo });
    expect(JSON.parse(status.stdout).lastRun).toMatchObject({ success: false, error: { code: 'E021' } });
    const { rmSync } = await import('node:fs');
    rmSync(bad);
  });

  it('demo --dir/--scale; running it again is deterministic and promotes nothing new', async () => {
    const dir = path.join(work, 'small-demo');
    const first = await sluice(['demo', '--dir', dir, '--scale', '0.1', '--json'], { cwd: work });
    expect(first.code).toBe(0);
    const a = JSON.parse(first.stdout);
    expect(a.rawFiles.map((f: { rows: number }) => f.rows)).toEqual([12 * 54 * 24, 8 * 54 * 24, 3 * 54 * 24]);
    const second = await sluice(['demo', '--dir', dir, '--scale', '0.1', '--json'], { cwd: work });
    const b = JSON.parse(second.stdout);
    expect(b.promotion.unchanged).toHaveLength(8);
    expect(b.promotion.version).toBe(a.promotion.version);
    expect(b.datasets.map((d: { sha256: string }) => d.sha256)).toEqual(
      a.datasets.map((d: { sha256: string }) => d.sha256),
    );
  });

  it('usage errors exit 2', async () => {
    expect((await sluice(['run', '--mode', 'bogus'], { cwd: demo })).code).toBe(2);
    expect((await sluice(['demo', '--scale', '0'], { cwd: work })).code).toBe(2);
  });
});
