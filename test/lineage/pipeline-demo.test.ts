/**
 * The demo lake's lineage (#19): every Parquet file in qa traces back — through its promoted
 * version, the dev file and the models — to its raw CSV and its SQL model, each with the sha256
 * of the bytes on disk (recomputed here); `sluice lineage verify` passes, and one edited byte of
 * a staging file fails it naming that file, with nothing else changed.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { type LineageNode, lineageOf, lineageUrl, readLineage } from '../../src/lineage/index.ts';
import { type DemoResult, runDemo } from '../../src/pipeline/demo.ts';
import { openStorage } from '../../src/storage/open.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const hashFile = (file: string) => sha256(readFileSync(file));

/** Every file under `dir` (relative, sorted). */
function filesUnder(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

/** Every node of a tree, depth first. */
function nodes(tree: LineageNode): LineageNode[] {
  return [tree, ...(tree.inputs ?? []).flatMap(nodes)];
}

describe('lineage of the demo lake', { timeout: 180_000 }, () => {
  let demo: DemoResult;
  let lake: string;
  beforeAll(async () => {
    demo = await runDemo({ dir: path.join(tempDir('lineage-demo'), 'sluice-demo'), scale: 0.1 });
    lake = path.join(demo.dir, 'lake');
  });

  it('every qa Parquet file traces to its raw CSV and its model, with the hashes of their bytes', async () => {
    expect(demo.run.success).toBe(true);
    const qaFiles = filesUnder(path.join(lake, 'qa')).filter((f) => f.endsWith('.parquet'));
    expect(qaFiles).toHaveLength(3 + 5); // 3 sources, 5 models
    for (const rel of qaFiles) {
      const file = path.join(lake, 'qa', rel);
      const tree = await lineageOf(file);
      const all = nodes(tree);
      // The file itself, as written: qa's plain copy of its promoted version.
      expect(tree).toMatchObject({
        url: lineageUrl(file),
        operation: 'pipeline.materialize',
        status: 'committed',
      });
      expect(tree.sha256, rel).toBe(hashFile(file));
      // Each recorded file in the chain holds the bytes its reader recorded (none was rewritten since).
      for (const n of all.filter((n) => n.kind === 'file' && n.status === 'committed'))
        expect(hashFile(n.url.slice('file://'.length)), n.url).toBe(n.sha256);
      const csvs = all.filter((n) => n.url.endsWith('.csv'));
      expect(csvs.length, rel).toBeGreaterThan(0);
      for (const csv of csvs) {
        expect(csv).toMatchObject({ kind: 'file', status: 'unrecorded' });
        expect(csv.url).toMatch(/\/data\/raw\/(sdg|wdi|opri)\/[A-Z]+_DATA\.csv$/);
        expect(csv.sha256).toBe(hashFile(csv.url.slice('file://'.length)));
      }
      const models = all.filter((n) => n.kind === 'model');
      if (rel.startsWith('landing/')) {
        const source = rel.split('/')[1] as string;
        expect(csvs.map((c) => path.basename(path.dirname(c.url)))).toEqual([source]);
        expect(models).toEqual([]);
        continue;
      }
      const name = path.basename(rel, '.parquet');
      const own = models.find((m) => m.url === lineageUrl(path.join(demo.dir, 'models', `${name}.sql`)));
      expect(own, `${rel} names its model`).toBeDefined();
      for (const m of models) expect(m.sha256).toBe(hashFile(m.url.slice('file://'.length)));
    }
  });

  it('every record names this run; the promotion tags its records with the version it made', async () => {
    const index = await readLineage(openStorage(lake));
    const runs = new Set(index.writes.map((w) => w.intent.run));
    expect(runs).toEqual(new Set([demo.run.id, demo.promotion?.version]));
    expect(index.writes.filter((w) => w.intent.run === demo.run.id).map((w) => w.intent.operation)).toEqual(
      expect.arrayContaining(['pipeline.ingest', 'pipeline.transform', 'pipeline.run']),
    );
    // Every write of the demo is committed: nothing is left open.
    expect(index.writes.filter((w) => !w.commit)).toEqual([]);
  });

  it('the CLI prints the chain of a qa file down to the CSV and the model with their hashes', async () => {
    const file = path.join(lake, 'qa/staging/sdg_indicators.parquet');
    const res = await runSluice(['lineage', file]);
    expect(res.code, res.stderr).toBe(0);
    const csv = path.join(demo.dir, 'data/raw/sdg/SDG_DATA.csv');
    const model = path.join(demo.dir, 'models/sdg_indicators.sql');
    const line = (p: string) => res.stdout.split('\n').find((l) => l.includes(`file://${p} `)) ?? '';
    expect(line(csv)).toContain(`sha256 ${hashFile(csv).slice(0, 12)}…`);
    expect(line(model)).toMatch(new RegExp(`model {2}sha256 ${hashFile(model).slice(0, 12)}…`));
    expect(res.stdout.split('\n')[0]).toMatch(
      /qa\/staging\/sdg_indicators\.parquet {2}pipeline\.materialize/,
    );
  });

  it('verify passes; one edited byte of a staging file fails it naming that file, and verify changes nothing', async () => {
    const ok = await runSluice(['lineage', 'verify', lake]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('');
    expect(ok.stderr).toMatch(/^(\d+) outputs checked: \1 ok, 0 corrupt\n$/);

    const file = path.join(lake, 'dev/staging/wdi_indicators.parquet');
    const original = readFileSync(file);
    const edited = Buffer.from(original);
    const at = Math.floor(edited.length / 2);
    edited[at] = (edited[at] as number) ^ 0xff;
    writeFileSync(file, edited);
    const before = new Map(filesUnder(demo.dir).map((f) => [f, hashFile(path.join(demo.dir, f))]));
    const bad = await runSluice(['lineage', 'verify', lake]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe(
      `changed      ${lineageUrl(file)}  expected ${sha256(original).slice(0, 12)}…, found ${sha256(edited).slice(0, 12)}…\n`,
    );
    expect(bad.stderr).toContain(`E080: 1 of `);
    expect(bad.stderr).toContain(`first: ${lineageUrl(file)} (changed)`);
    const after = new Map(filesUnder(demo.dir).map((f) => [f, hashFile(path.join(demo.dir, f))]));
    expect(after).toEqual(before);
    writeFileSync(file, original);
    expect((await runSluice(['lineage', 'verify', lake])).code).toBe(0);
  });

  it('SLUICE_LINEAGE=0 turns recording off: a run writes no lineage object', async () => {
    const objects = () => filesUnder(path.join(lake, '_sluice', 'lineage')).length;
    const count = objects();
    const res = await runSluice(['run'], { cwd: demo.dir, env: { SLUICE_LINEAGE: '0' } });
    expect(res.code, res.stderr).toBe(0);
    expect(objects()).toBe(count);
    const wrong = await runSluice(['run'], { cwd: demo.dir, env: { SLUICE_LINEAGE: 'maybe' } });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/lineage \(from \$SLUICE_LINEAGE\): must be true or false/);
  });
});
