/**
 * Crash test for the pipeline's lineage (#19): `sluice run` and `sluice promote` killed with
 * SIGKILL at many moments — right after a batch of intents is durable (a test hook pauses there),
 * and at whatever point the process reached after N log objects — never leave a lake file without
 * a record, nor a record `verify` counts as corrupt (`changed`, `missing`): what a kill explains
 * is `never-landed` or `unconfirmed`. Then complete runs bring every record to `ok`.
 *
 * Files of the lake that are not pipeline outputs, and so have no record of their own:
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, type Dirent, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineageUrl, readLineage, type VerifyStatus, verifyLineage } from '../../src/lineage/index.ts';
import { writeDemoProject } from '../../src/pipeline/demo.ts';
import { openStorage } from '../../src/storage/open.ts';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const EXEMPT: [RegExp, string][] = [
  [/^_sluice\/lineage\//, 'the lineage log itself: the records'],
  [
    /^_sluice\/meta\//,
    "the fs driver's metadata sidecars: a file's stored sha256, written by the file's own put",
  ],
  [/\.sluice-tmp$/, "an atomic put's temp file cut short by the kill: never an object (listings skip it)"],
];

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as Dirent[])
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/'))
    .sort();
}

const logObjects = (lake: string) =>
  filesUnder(path.join(lake, '_sluice', 'lineage')).filter((f) => f.endsWith('.jsonl')).length;

/** Starts `sluice <args>` in `cwd`, kills it with SIGKILL `graceMs` after `objects` more log objects exist. */
async function killAfter(
  args: string[],
  cwd: string,
  lake: string,
  objects: number,
  env: Record<string, string>,
  graceMs = 0,
): Promise<'killed' | 'finished'> {
  const start = logObjects(lake);
  const child: ChildProcess = spawn(process.execPath, [path.join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    cwd,
    // A private TMPDIR: a killed process leaves its DuckDB temp folders behind (removed with it).
    env: {
      ...process.env,
      SLUICE_LOG_LEVEL: 'silent',
      SLUICE_PROGRESS: '0',
      TMPDIR: tempDir('crash-tmp'),
      ...env,
    },
    stdio: 'ignore',
  });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const deadline = Date.now() + 60_000;
  while (!exited && logObjects(lake) - start < objects) {
    if (Date.now() > deadline) throw new Error(`sluice ${args.join(' ')} wrote no ${objects} log objects`);
    await new Promise((r) => setTimeout(r, 2));
  }
  if (graceMs > 0 && !exited) await new Promise((r) => setTimeout(r, graceMs));
  if (exited) return 'finished';
  child.kill('SIGKILL');
  await exit;
  return 'killed';
}

/** What a crash must never leave: a file without a record, or a record verify counts as corrupt. */
async function checkLake(lake: string, seen: Set<VerifyStatus>, moment: string): Promise<void> {
  const storage = openStorage(lake);
  const report = await verifyLineage(storage);
  expect(report.corrupt, moment).toEqual([]);
  for (const o of report.outputs) seen.add(o.status);
  const index = await readLineage(storage);
  const unrecorded = filesUnder(lake)
    .filter((f) => !EXEMPT.some(([re]) => re.test(f)))
    .filter((f) => !index.byOutput.has(lineageUrl(path.join(lake, f))));
  expect(unrecorded, `${moment}: files without a lineage record`).toEqual([]);
}

describe('kill -9 during pipeline runs and promotions', { timeout: 600_000 }, () => {
  it('never leaves a lake file without a record, nor a record verify cannot explain', async () => {
    const dir = path.join(tempDir('lineage-crash'), 'project');
    await writeDemoProject(dir, 0.05);
    const lake = path.join(dir, 'lake');
    const csv = path.join(dir, 'data/raw/sdg/SDG_DATA.csv');
    const seen = new Set<VerifyStatus>();
    let year = 2100;
    // New raw data before each attempt, so every attempt writes bytes unlike the last.
    const changeData = () => appendFileSync(csv, `SDG_000,DZA,${year++},1.5\n`);
    const paused = { SLUICE_TEST_LINEAGE_PAUSE_MS: '250' };
    const moments: [string[], number, Record<string, string>][] = [
      // Right after each batch of intents of a run (ingest ×3, transform, run record): nothing of
      // the batch is written yet.
      ...[1, 2, 3, 5, 6, 7].map((n): [string[], number, Record<string, string>] => [['run'], n, paused]),
      // Wherever the run got to N objects later (mid-publish: outputs written, commits not yet).
      ...[2, 4, 5, 6].map((n): [string[], number, Record<string, string>] => [['run'], n, {}]),
    ];
    let killed = 0;
    for (const [args, n, env] of moments) {
      changeData();
      if ((await killAfter(args, dir, lake, n, env)) === 'killed') killed++;
      await checkLake(lake, seen, `sluice ${args.join(' ')} killed after ${n} log objects`);
    }
    // A complete run, then promotions killed after their intents and half-way through the copies.
    changeData();
    const run = await runSluice(['run'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const slowCopies = { SLUICE_TEST_PROMOTE_DELAY_MS: '150' };
    for (const [n, env, graceMs] of [
      [1, { ...paused, ...slowCopies }, 0], // intents durable, nothing copied
      [1, slowCopies, 400], // a few version copies made, their commits not yet durable
      [2, {}, 0], // wherever it got after the plain copies' intents
    ] as const) {
      if ((await killAfter(['promote', 'dev', 'qa'], dir, lake, n, env, graceMs)) === 'killed') killed++;
      await checkLake(lake, seen, `sluice promote dev qa killed after ${n} log objects`);
    }
    expect(killed).toBeGreaterThanOrEqual(10);
    // The kills landed in the windows the records must explain.
    expect([...seen]).toEqual(expect.arrayContaining(['never-landed', 'unconfirmed']));

    // Complete runs finish what the kills left: every file of dev, which a run rewrites whole, is
    // `ok`. (A qa file a killed promotion copied, and the next found equal and left alone, stays
    // `unconfirmed`: right bytes whose commit never came; so do a killed promotion's orphan
    // version copies until `sluice prune`.)
    changeData();
    for (const args of [['run'], ['promote', 'dev', 'qa']]) {
      const res = await runSluice(args, { cwd: dir });
      expect(res.code, res.stderr).toBe(0);
    }
    await checkLake(lake, seen, 'after complete runs');
    const report = await verifyLineage(openStorage(lake));
    const dev = new Set(
      [
        ...filesUnder(path.join(lake, 'dev')).map((f) => `dev/${f}`),
        ...filesUnder(path.join(lake, '_sluice/dev/datasets')).map((f) => `_sluice/dev/datasets/${f}`),
      ].map((f) => lineageUrl(path.join(lake, f))),
    );
    const current = report.outputs.filter((o) => dev.has(o.output));
    expect(current.filter((o) => o.status !== 'ok')).toEqual([]);
    expect(current).toHaveLength(2 * (3 + 5)); // each landing and staging file with its dataset record
  });
});
