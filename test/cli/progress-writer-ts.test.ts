/**
 * Live progress of `write`, `convert`, `ts import`, `ts compact` and `ts export` (#18 item 3):
 * reported while the work runs (a line with part of the total done before the closing one), as
 * log lines with no escape codes when stderr is piped, a bar when it is a terminal, and stdout
 * holding only the command's data.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { expectLiveProgress, runPiped, writeBigCsv } from './progress-helpers.ts';

const dir = tempDir('progress-cmds');
const csv = path.join(dir, 'big.csv');
const jsonl = path.join(dir, 'temp.jsonl');
// ~190 MB: DuckDB reads it for over a second on a quiet machine (70 MB took 0.2 s there: too
// short for a rate and an ETA to be shown, or a line while it ran).
const CSV_ROWS = 4_000_000;
const POINTS = 1_500_000;

beforeAll(async () => {
  await writeBigCsv(csv, CSV_ROWS);
  const lines: string[] = [];
  for (let i = 0; i < POINTS; i++) lines.push(`{"timestamp":${1.7e12 + i * 1000},"value":${i % 1000}}`);
  writeFileSync(jsonl, `${lines.join('\n')}\n`);
}, 120_000);

describe('progress while long commands run, stderr piped', { timeout: 180_000 }, () => {
  it('write: bytes of the CSV read, with total and rate; stdout is the result JSON only', async () => {
    const task = path.join(dir, 'task-write');
    const r = await runPiped(['write', csv, '--task-dir', task, '--name', 'out']);
    expect(r.code, r.stderr).toBe(0);
    expectLiveProgress(r.lines, 'write out', 'bytes');
    const during = r.lines.find((l) => l.operation === 'write out' && !l.finished);
    expect(during?.total).toBe(readFileSync(csv).length);
    expect(during?.msg).toMatch(
      /^write out: [\d.]+ [KM]?B of [\d.]+ MB \(\d+%\), [\d.]+ [KM]?B\/s, ETA \d+s$/,
    );
    expect(JSON.parse(r.stdout)).toMatchObject({
      path: 'output/out.parquet',
      rows: CSV_ROWS,
      format: 'parquet',
    });
    expect(r.stdout).not.toMatch(/"module"|ETA|█/);
  });

  it('convert: bytes read by the conversion, then bytes stored; stdout unchanged', async () => {
    const out = path.join(dir, 'converted.jsonl');
    const r = await runPiped(['convert', csv, out]);
    expect(r.code, r.stderr).toBe(0);
    expectLiveProgress(r.lines, 'write converted', 'bytes');
    expect(r.lines.some((l) => l.operation === 'store converted' && l.finished)).toBe(true);
    expect(JSON.parse(r.stdout)).toMatchObject({ rows: CSV_ROWS, format: 'jsonl' });
  });

  it('ts compact of 3,000,000 logged points: points written, with a rate, while it runs', async () => {
    // Appended with no compaction at all, so the CLI's compact has every point to write. Spread
    // over 120 days: a compaction reports as each day's window is written (at most every 200 ms),
    // and 3M points in 4 windows now take 0.2 s here, so no line came while it ran; 120 windows
    // take 0.5–0.6 s, with two lines.
    const store = path.join(dir, 'store-big-log');
    const s = await TimeSeriesStore.open(store, { compactIntervalMs: 0, compactPoints: 0, compactBytes: 0 });
    for (let i = 0; i < 3_000_000; i += 10_000)
      await s.storeDataPoints(
        Array.from({ length: 10_000 }, (_, k) => ({
          variable: `v${k % 10}`,
          timestamp: 1.7e12 + (i + k) * 3456,
          value: (i + k) % 977,
        })),
      );
    expect((await s.stats()).bufferedPoints).toBe(3_000_000);
    await s.close();
    const compacted = await runPiped(['ts', 'compact', store]);
    expect(compacted.code, compacted.stderr).toBe(0);
    expect(JSON.parse(compacted.stdout)).toMatchObject({ points: 3_000_000 });
    expectLiveProgress(compacted.lines, 'ts-compact', 'points');
    expect(compacted.lines.at(-1)).toMatchObject({
      operation: 'ts-compact',
      done: 3_000_000,
      total: 3_000_000,
    });
  });

  it('ts import, then ts compact and ts export of the same store', async () => {
    const store = path.join(dir, 'store');
    const imported = await runPiped(['ts', 'import', store, jsonl]);
    expect(imported.code, imported.stderr).toBe(0);
    expectLiveProgress(imported.lines, 'ts-import', 'bytes');
    expect(imported.stdout).toBe(`imported ${POINTS} points from 1 file(s)\n`);

    const compacted = await runPiped(['ts', 'compact', store]);
    expect(compacted.code, compacted.stderr).toBe(0);
    // The import compacted in the background once 16 MiB were buffered (compactBytes): the
    // compact run writes what was left, and its last line counts exactly that.
    const result = JSON.parse(compacted.stdout) as { points: number };
    expect(result.points).toBeGreaterThan(0);
    expect(result.points).toBeLessThanOrEqual(POINTS);
    const last = compacted.lines.at(-1) as { seconds?: number };
    expect(last).toMatchObject({ operation: 'ts-compact', done: result.points, total: result.points });
    // What is left may compact in a fraction of a second here: the next test compacts a log
    // sure to take longer.

    const out = path.join(dir, 'exported');
    const exported = await runPiped(['ts', 'export', store, 'temp', '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);
    // The points to come are not counted first: done and rate, no total, while it runs.
    expectLiveProgress(exported.lines, 'ts-export', 'points');
    expect(exported.stdout).toBe(`exported ${POINTS} points to ${path.join(out, 'temp.jsonl')}\n`);
  });

  it('SLUICE_PROGRESS=0 writes no progress, and stdout is byte for byte what it was with progress', async () => {
    const store = path.join(dir, 'store-quiet');
    const small = path.join(dir, 'small.jsonl');
    writeFileSync(small, readFileSync(jsonl, 'utf8').split('\n').slice(0, 400_000).join('\n'));
    const quiet = await runSluice(['ts', 'import', store, small], { env: { SLUICE_PROGRESS: '0' } });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
    const loud = await runPiped(['ts', 'import', path.join(dir, 'store-loud'), small]);
    expect(loud.lines.length).toBeGreaterThan(0);
    expect(loud.stdout).toBe(quiet.stdout);
  });

  it('a bad SLUICE_PROGRESS_INTERVAL is a usage error naming it, before any work', async () => {
    const task = path.join(dir, 'task-bad');
    const r = await runSluice(['write', csv, '--task-dir', task, '--name', 'out'], {
      env: { SLUICE_PROGRESS: '', SLUICE_PROGRESS_INTERVAL: 'often' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^E022: SLUICE_PROGRESS_INTERVAL: /);
    expect(r.stdout).toBe('');
  });
});

describe('progress on a terminal', { timeout: 120_000 }, () => {
  it('write under a pseudo-terminal: a bar with percent, rate and ETA on stderr; stdout (redirected) is JSON only', () => {
    const task = path.join(dir, 'task-tty');
    const out = path.join(dir, 'tty-stdout.json');
    const script = path.join(dir, 'tty.sh');
    // `script` gives the command a terminal; stdout goes to a file, so the terminal sees stderr only.
    writeFileSync(
      script,
      `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(REPO_ROOT, 'src/cli/main.ts'))} write ${JSON.stringify(csv)} --task-dir ${JSON.stringify(task)} --name out > ${JSON.stringify(out)}\n`,
    );
    const env: NodeJS.ProcessEnv = { ...process.env, SLUICE_LOG_LEVEL: 'warn', COLUMNS: '120' };
    delete env.SLUICE_PROGRESS;
    const terminal = execFileSync('script', ['-qec', `sh ${script}`, '/dev/null'], {
      env,
      cwd: dir,
    }).toString();
    expect(terminal).toMatch(/\x1b\[/);
    expect(terminal).toMatch(
      /write out █*░* [\d.]+ [KM]?B of [\d.]+ MB \(\d+%\), [\d.]+ [KM]?B\/s, ETA \d+s/,
    );
    const stdout = readFileSync(out, 'utf8');
    expect(JSON.parse(stdout)).toMatchObject({ rows: CSV_ROWS });
    expect(stdout).not.toMatch(/\x1b|█/);
  });
});
