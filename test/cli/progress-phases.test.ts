/**
 * Live progress of the phases that used to run silently for seconds (#18 item 3): a store reading
 * its write-ahead log back on open (`ts query`, `ts compact`), the sort and write of `ts export
 * --format parquet`, and the download of `ingest-csv s3://…` before DuckDB reads the file. Each
 * run piped: a progress line for the phase with part of the total done before its closing line,
 * no escape codes, and stdout holding only the command's own output.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import { TimeSeriesStore } from '../../src/timeseries/store.ts';
import { freshBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';
import { expectLiveProgress, type ProgressLine, runPiped, writeBigCsv } from './progress-helpers.ts';

const dir = tempDir('progress-phases');
const T0 = 1.7e12;
/** The writer's options that keep every point in the log: no compaction until asked. */
const LOG_ONLY = { compactIntervalMs: 0, compactPoints: 0, compactBytes: 0, durability: 'os' } as const;

const phase = (lines: ProgressLine[], detail: string) => lines.filter((l) => l.detail === detail);

describe('progress of phases that ran silently, stderr piped', { timeout: 120_000 }, () => {
  it('ts query and ts compact: bytes of the log replayed on open, against the log files’ size', async () => {
    // One record per point (single-point appends, as a worker writes them): the slowest log to
    // read back, about 65 bytes a point — 120,000 points take seconds here.
    const store = path.join(dir, 'store-log');
    const POINTS = 120_000;
    const s = await TimeSeriesStore.open(store, LOG_ONLY);
    for (let i = 0; i < POINTS; i += 2000) {
      const writes: Promise<void>[] = [];
      for (let j = i; j < i + 2000; j++) writes.push(s.storeDataPoint(`v${j % 20}`, T0 + j * 1000, j));
      await Promise.all(writes);
    }
    await s.close();
    const wal = path.join(store, 'wal');
    const logBytes = readdirSync(wal)
      .filter((n) => n.endsWith('.log'))
      .reduce((sum, n) => sum + statSync(path.join(wal, n)).size, 0);

    const q = await runPiped(['ts', 'query', store, 'v1', '--limit', '1', '--format', 'jsonl']);
    expect(q.code, q.stderr).toBe(0);
    expectLiveProgress(phase(q.lines, 'replaying log'), 'ts-query', 'bytes');
    expect(phase(q.lines, 'replaying log').at(-1)).toMatchObject({ done: logBytes, total: logBytes });
    expect(q.lines.find((l) => !l.finished)?.msg).toMatch(
      /^ts-query \(replaying log\): [\d.]+ [KM]?B of [\d.]+ MB \(\d+%\), [\d.]+ [KM]?B\/s/,
    );
    expect(q.stdout).toBe('{"timestamp":"2023-11-14T22:13:21.000000Z","value":1,"metadata":null}\n');

    const c = await runPiped(['ts', 'compact', store]);
    expect(c.code, c.stderr).toBe(0);
    expectLiveProgress(phase(c.lines, 'replaying log'), 'ts-compact', 'bytes');
    // Replayed first, compacted after (a compaction of a second or less writes no line).
    const replayed = c.lines.findIndex((l) => l.detail === 'replaying log' && l.finished);
    const compacting = c.lines.findIndex((l) => l.unit === 'points');
    if (compacting >= 0) expect(replayed).toBeLessThan(compacting);
    expect(JSON.parse(c.stdout)).toMatchObject({ points: POINTS, compactedSeq: POINTS });
  });

  it('ts export --format parquet: the points appended, then the sort and write as points of the total', async () => {
    const store = path.join(dir, 'store-segments');
    // Enough points that DuckDB's sort and write outlast its progress poll (every 200 ms) on a
    // quiet machine: 2.5M took 0.13–0.18 s and printed no line while it ran; 8M take 0.5–0.6 s.
    // Compacted as they come (the store's defaults), so the test does not hold them all.
    const POINTS = 8_000_000;
    const s = await TimeSeriesStore.open(store, { compactIntervalMs: 0, durability: 'os' });
    for (let i = 0; i < POINTS; i += 10_000) {
      const batch = [];
      for (let j = i; j < i + 10_000; j++) batch.push({ variable: `v${j % 4}`, timestamp: T0 + j, value: j });
      await s.storeDataPoints(batch);
    }
    await s.compact();
    await s.close();

    const out = path.join(dir, 'export', 'all.parquet');
    const r = await runPiped(['ts', 'export', store, '--format', 'parquet', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const writing = phase(r.lines, 'writing Parquet');
    expectLiveProgress(writing, 'ts-export', 'points');
    expect(writing.at(-1)).toMatchObject({ done: POINTS, total: POINTS, finished: true });
    expect(writing[0]?.msg).toMatch(
      /^ts-export \(writing Parquet\): [\d,]+ points of 8,000,000 points \(\d+%\), [\d,]+ points\/s/,
    );
    // The append phase closed, whole, before the write began.
    const appended = r.lines.findIndex((l) => l.operation === 'ts-export' && !l.detail && l.finished);
    expect(r.lines[appended]).toMatchObject({ done: POINTS, total: POINTS });
    expect(appended).toBeLessThan(r.lines.indexOf(writing[0] as ProgressLine));
    expect(r.stdout).toBe(`exported ${POINTS} points to ${out}\n`);
    const engine = await Engine.create();
    try {
      const rows = await engine.query(`SELECT count(*)::INT AS n FROM read_parquet(${quoteLiteral(out)})`);
      expect(rows).toEqual([{ n: POINTS }]);
    } finally {
      await engine.close();
    }
  });

  it('ingest-csv s3://…: bytes downloaded against the object size, then bytes converted', async () => {
    const bucket = await freshBucket('progress-dl');
    const csv = path.join(dir, 'remote.csv');
    await writeBigCsv(csv, 1_500_000); // ~75 MB
    const body = readFileSync(csv);
    await bucket.client.send(new PutObjectCommand({ Bucket: bucket.bucket, Key: 'in/big.csv', Body: body }));
    const project = path.join(dir, 'project');
    mkdirSync(project);
    writeFileSync(path.join(project, 'sluice.config.yaml'), 'env: dev\nlakeRoot: ./lake\n');

    const r = await runPiped(['ingest-csv', bucket.url('in/big.csv'), '--source', 'remote'], {
      cwd: project,
      env: { ...bucket.env, SLUICE_CACHE_DIR: path.join(dir, 'cache') },
    });
    expect(r.code, r.stderr).toBe(0);
    expectLiveProgress(r.lines, 'download', 'bytes');
    const download = r.lines.filter((l) => l.operation === 'download');
    expect(download[0]).toMatchObject({ detail: 'remote/big', total: body.length });
    expect(download.at(-1)).toMatchObject({ done: body.length, total: body.length, finished: true });
    // Downloaded first, converted after. A conversion that ends before DuckDB's progress is first
    // polled (200 ms; 1.5M rows take about that on a quiet machine) prints no line at all.
    const converted = r.lines.findIndex((l) => l.operation === 'ingest');
    if (converted >= 0) expect(converted).toBeGreaterThan(r.lines.indexOf(download.at(-1) as ProgressLine));
    expect(r.stdout).toMatch(
      /^dev\/landing\/remote\/big\.parquet: 1500000 rows, [\d.]+ [KM]?B, sha256 [0-9a-f]{12}…\n$/,
    );
  });
});
