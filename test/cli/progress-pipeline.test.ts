/**
 * Live progress of `ingest-csv`, `run`, `sync`, `promote` and `poll` (#18 item 3): a progress
 * line with part of the total done while the work runs, then a closing one, as JSON log lines
 * (no escape codes) when stderr is piped; stdout keeps the command's own output.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { expectLiveProgress, runPiped, writeBigCsv } from './progress-helpers.ts';

const dir = tempDir('progress-pipeline');
const csv = path.join(dir, 'big.csv');
// Large enough that converting it takes over a second here (1,500,000 rows, 70 MB, took 0.2 s
// on a quiet machine, too short for DuckDB's progress to be polled while it ran: no live line).
const CSV_ROWS = 4_000_000;
const project = path.join(dir, 'project');
const env = { SLUICE_CACHE_DIR: path.join(dir, 'cache') };

beforeAll(async () => {
  await writeBigCsv(csv, CSV_ROWS);
  mkdirSync(path.join(project, 'data/raw/big'), { recursive: true });
  mkdirSync(path.join(project, 'data/raw/small'), { recursive: true });
  mkdirSync(path.join(project, 'models'));
  writeFileSync(
    path.join(project, 'sluice.config.yaml'),
    'env: dev\ndataDir: ./data\nmodelsDir: ./models\nlakeRoot: ./lake\n',
  );
  copyFileSync(csv, path.join(project, 'data/raw/big/events.csv'));
  for (const name of ['a', 'b'])
    writeFileSync(path.join(project, `data/raw/small/${name}.csv`), 'id,label\n1,one\n2,two\n');
}, 120_000);

describe('progress while pipeline commands run, stderr piped', { timeout: 180_000 }, () => {
  it('ingest-csv: bytes of the CSV converted, named by source and dataset', async () => {
    const r = await runPiped(['ingest-csv', csv, '--source', 'direct'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expectLiveProgress(r.lines, 'ingest', 'bytes');
    expect(r.lines.find((l) => !l.finished)).toMatchObject({
      detail: 'direct/big',
      total: expect.any(Number),
    });
    expect(r.stdout).toMatch(
      new RegExp(
        `^dev/landing/direct/big\\.parquet: ${CSV_ROWS} rows, [\\d.]+ [KM]?B, sha256 [0-9a-f]{12}…\n$`,
      ),
    );
  });

  it('run: the ingest step reports bytes within each file as well as files done', async () => {
    const r = await runPiped(['run', '--mode', 'ingest', '--json'], { cwd: project, env });
    expect(r.code, r.stderr).toBe(0);
    expectLiveProgress(r.lines, 'ingest', 'bytes');
    expect(r.lines.some((l) => l.operation === 'ingest' && l.unit === 'files' && l.finished)).toBe(true);
    // stdout is the run record, nothing else.
    expect(JSON.parse(r.stdout)).toMatchObject({ success: true, steps: [{ step: 'ingest', files: 3 }] });
  });

  it('promote: files copied, while it copies', async () => {
    // Each copy slowed to 400 ms (a test hook), so the copy loop takes over a second.
    const r = await runPiped(['promote', 'dev', 'qa'], {
      cwd: project,
      env: { ...env, SLUICE_TEST_PROMOTE_DELAY_MS: '400' },
    });
    expect(r.code, r.stderr).toBe(0);
    expectLiveProgress(r.lines, 'promote dev→qa', 'files');
    // (Publishing the plain paths may log its own lines after it on a slow machine.)
    expect(r.lines.filter((l) => l.operation === 'promote dev→qa').at(-1)).toMatchObject({
      done: 4,
      total: 4,
    });
    expect(r.stdout).toMatch(/^\+ landing\/big\/events\.parquet\n(.*\n)*promoted dev → qa: 4 files/);
  });

  it('sync: bytes copied, large files counted while they stream', async () => {
    const src = path.join(dir, 'sync-src');
    mkdirSync(src);
    // Over the 16 MiB a sync reads into memory: each streams, reporting its bytes as it goes.
    for (let i = 0; i < 6; i++) writeFileSync(path.join(src, `part-${i}.bin`), randomBytes(24 * 1024 * 1024));
    const dst = path.join(dir, 'sync-dst');
    const r = await runPiped(['sync', src, dst, '--concurrency', '1', '--no-cache'], { env });
    expect(r.code, r.stderr).toBe(0);
    expectLiveProgress(r.lines, 'sync', 'bytes');
    expect(r.lines.at(-1)).toMatchObject({ done: 6 * 24 * 1024 * 1024, total: 6 * 24 * 1024 * 1024 });
    expect(r.stdout).toBe(
      [0, 1, 2, 3, 4, 5].map((i) => `copy: part-${i}.bin\n`).join('') +
        'copied 6 files (144 MB), deleted 0, unchanged 0\n',
    );
  });

  it('poll --once: objects of the cycle done, against those listed', async () => {
    const inbox = path.join(dir, 'inbox');
    mkdirSync(inbox);
    const OBJECTS = 300;
    for (let i = 0; i < OBJECTS; i++)
      writeFileSync(
        path.join(inbox, `o${String(i).padStart(3, '0')}.json`),
        JSON.stringify({ name: 'x', value: i }),
      );
    const queue = `sqlite:${path.join(dir, 'queue.db')}`;
    const r = await runPiped(
      ['poll', '--source', inbox, '--queue', queue, '--once', '--min-age', '0s', '--concurrency', '1'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expectLiveProgress(r.lines, 'poll', 'objects');
    expect(r.lines.at(-1)).toMatchObject({ done: OBJECTS, total: OBJECTS });
    expect(JSON.parse(r.stdout)).toMatchObject({ listed: OBJECTS, archived: OBJECTS, records: OBJECTS });
    expect(readdirSync(path.join(inbox, 'processed'))).toHaveLength(OBJECTS);
  });
});
