// Ingestion benchmark on local disk, sluice against the seed's way in the same run.
// (a) 100,000 data points: IncrementalWriter (batches, one fdatasync per batch) versus the seed's
//     open-append-close per point (fs.appendFileSync, no fsync). Goal: ≥ 20× the seed's rate.
//     Sluice is measured twice: awaiting every write()'s promise (Promise.all over 100,000), and
//     the documented bulk pattern (write() without awaiting each, then `await writer.flush()`).
// (b) 5,000 saveApiResponse calls with 2 KB bodies versus fs.writeFileSync per file. Ratios:
//     `fsync: false` vs plain writes is the price of atomicity (temp + link, never overwrite);
//     the default (fsync) mode vs plain writes is atomicity plus durability; and the default vs
//     the peer made equally durable (writeFileSync + fsync file + fsync dir per file) is sluice's
//     overhead at equal guarantees. Goal: within 2× of plain writes.
// The machine is shared and the disk's writeback makes single runs swing up to 10×, so every
// round measures every contender on fresh directories, in a rotating order, after a `sync` that
// flushes the previous measurement's dirty pages (untimed); medians over rounds are reported,
// and ratios are medians of the per-round ratios.
// (c) Lineage overhead (#19): the same points and saves with lineage on (the default, which (a) and
//     (b) measure too: an intent object before each file or batch, commits after) and with
//     `lineage: false`, alternating in each round; prints the ratio of the medians (on / off) and
//     the median of the per-round ratios.
// Usage: node bench/ingest.ts [--quick] [--lineage]   (--quick: 10,000 points, 500 responses,
// 3 rounds; --lineage: only (c), with 7 rounds, or 3 with --quick)
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { flushIngestLineage, IncrementalWriter, saveApiResponse } from '../src/ingest/index.ts';
import { LineageLog } from '../src/lineage/index.ts';
import { createFsStorage } from '../src/storage/drivers/fs/fs-storage.ts';

const quick = process.argv.includes('--quick');
const POINTS = quick ? 10_000 : 100_000;
const RESPONSES = quick ? 500 : 5_000;
const SEED_FSYNC_POINTS = quick ? 200 : 1_000;
const lineageOnly = process.argv.includes('--lineage');
const ROUNDS = quick ? 3 : lineageOnly ? 7 : 5;
const root = mkdtempSync(path.join(tmpdir(), 'sluice-bench-ingest-'));
let fresh = 0;

/** A new empty directory for one measurement. */
function freshDir(name: string): string {
  const dir = path.join(root, `${name}-${fresh++}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Untimed: drop the last measurement's files and flush dirty pages so the next starts clean. */
function settle(): void {
  for (const dir of dirsToDrop.splice(0)) rmSync(dir, { recursive: true, force: true });
  execFileSync('sync');
}
const dirsToDrop: string[] = [];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;
}

/** Runs every contender once per round, in an order rotated each round; returns times in ms. */
async function rounds(contenders: Record<string, () => Promise<number> | number>) {
  const names = Object.keys(contenders);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + r) % names.length]!;
      settle();
      times[name]!.push(await contenders[name]!());
    }
    process.stderr.write('.');
  }
  settle();
  process.stderr.write('\n');
  return times;
}

/** Median over rounds of a/b, both measured in the same round. */
function medianRatio(a: number[], b: number[]): number {
  return median(a.map((x, i) => x / b[i]!));
}

function point(i: number) {
  return { timestamp: 1_700_000_000_000 + i, value: i * 0.5, metadata: { sensor: 'a1' } };
}

function seedPoints(n: number): number {
  const file = path.join(freshDir('seed'), 'default', 'points', 'points.jsonl');
  mkdirSync(path.dirname(file), { recursive: true });
  dirsToDrop.push(path.dirname(path.dirname(path.dirname(file))));
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const p = point(i);
    const line = `${JSON.stringify({ timestamp: new Date(p.timestamp).toISOString(), value: p.value, metadata: p.metadata })}\n`;
    appendFileSync(file, line);
  }
  return performance.now() - t;
}

/** The seed made durable: open, append, fsync, close per point. */
function seedDurablePoints(n: number): number {
  const dir = freshDir('seed-sync');
  dirsToDrop.push(dir);
  const file = path.join(dir, 'points.jsonl');
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const fd = openSync(file, 'a');
    writeSync(fd, `${JSON.stringify(point(i))}\n`);
    fsyncSync(fd);
    closeSync(fd);
  }
  return performance.now() - t;
}

const batchesSeen: number[] = [];

async function sluicePoints(n: number, awaitEach: boolean, lineage = true, warm = false): Promise<number> {
  const dir = freshDir('sluice-points');
  dirsToDrop.push(dir);
  const storage = createFsStorage({ root: dir });
  const options = { storage, datasetId: 'points', flushIntervalMs: 5, lineage };
  if (warm) {
    // Untimed: a base used before (its folders, the JSONL file and the lineage folder exist).
    const first = await IncrementalWriter.open(options);
    await first.write(point(-1));
    await first.close();
  }
  const writer = await IncrementalWriter.open(options);
  const t = performance.now();
  if (awaitEach) {
    const acks: Promise<void>[] = [];
    for (let i = 0; i < n; i++) acks.push(writer.write(point(i)));
    await Promise.all(acks);
  } else {
    // The bulk pattern of docs/ingest.md: a write's promise is its batch's, and flush() resolves
    // once everything written before it is durable (and rejects if a batch failed).
    for (let i = 0; i < n; i++) void writer.write(point(i));
    await writer.flush();
  }
  await writer.close();
  const ms = performance.now() - t;
  batchesSeen.push(writer.stats.batches);
  return ms;
}

async function benchPoints(): Promise<void> {
  // Warm-up (untimed), so neither side is measured while still being compiled.
  seedPoints(20_000);
  await sluicePoints(20_000, true);
  await sluicePoints(20_000, false);
  batchesSeen.length = 0;
  const t = await rounds({
    seed: () => seedPoints(POINTS),
    'seed-durable': () => seedDurablePoints(SEED_FSYNC_POINTS),
    'sluice-each': () => sluicePoints(POINTS, true),
    'sluice-flush': () => sluicePoints(POINTS, false),
  });
  const seed = median(t.seed!);
  const seedDurable = median(t['seed-durable']!);
  const line = (label: string, ms: number, n = POINTS) =>
    console.log(`    ${label.padEnd(58)} ${ms.toFixed(0).padStart(6)} ms  ${rate(n, ms)}`);
  console.log(
    `(a) ${POINTS.toLocaleString('en-US')} data points, median of ${ROUNDS} rounds (batches per run: ${batchesSeen.join(',')})`,
  );
  line('seed appendFileSync per point (no fsync)', seed);
  line(
    `seed with fsync per point (${SEED_FSYNC_POINTS.toLocaleString('en-US')} points)`,
    seedDurable,
    SEED_FSYNC_POINTS,
  );
  line('sluice IncrementalWriter, awaiting every write', median(t['sluice-each']!));
  line('sluice IncrementalWriter, write… then await flush()', median(t['sluice-flush']!));
  for (const name of ['sluice-each', 'sluice-flush']) {
    const r = medianRatio(t.seed!, t[name]!);
    const durable = medianRatio(
      t['seed-durable']!.map((ms) => (ms / SEED_FSYNC_POINTS) * POINTS),
      t[name]!,
    );
    console.log(
      `    ratio ${name} / seed: ${r.toFixed(1)}× (goal ≥ 20×; rounds ${t.seed!.map((s, i) => (s / t[name]![i]!).toFixed(1)).join(' ')}); / seed made durable: ${durable.toFixed(0)}×`,
    );
  }
}

const body = {
  items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}`, text: 'x'.repeat(60) })),
};
const headers = { 'content-type': 'application/json', 'x-request-id': 'abc' };

function plainWrites(durable: boolean): number {
  const dir = freshDir(durable ? 'plain-durable' : 'plain');
  dirsToDrop.push(dir);
  const dirFd = durable ? openSync(dir, 'r') : undefined;
  const t = performance.now();
  for (let i = 0; i < RESPONSES; i++) {
    const wrapped = { timestamp: new Date().toISOString(), status_code: 200, headers, data: body };
    const file = path.join(dir, `resp_${i}.json`);
    const text = JSON.stringify(wrapped, null, 2);
    if (dirFd === undefined) {
      writeFileSync(file, text);
      continue;
    }
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    fsyncSync(dirFd);
  }
  const ms = performance.now() - t;
  if (dirFd !== undefined) closeSync(dirFd);
  return ms;
}

async function sluiceSaves(
  fsync: boolean,
  concurrency: number,
  lineage: boolean | 'shared' = true,
  warm = false,
  count = RESPONSES,
): Promise<number> {
  const dir = freshDir(`sluice-${fsync}-${concurrency}`);
  dirsToDrop.push(dir);
  const storage = createFsStorage({ root: dir, fsync });
  // `shared`: one caller's LineageLog for the loop (commits ride with the next intent), flushed at the end.
  const log = lineage === 'shared' ? new LineageLog(storage) : lineage;
  const save = () =>
    saveApiResponse('resp', body, { storage, sourceName: 'bench', statusCode: 200, headers, lineage: log });
  if (warm) await save(); // untimed: a base used before (its folders and the lineage folder exist)
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next++;
      await save();
    }
  };
  const t = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (typeof log === 'object') await log.flush();
  else if (log) await flushIngestLineage(storage); // the last save's commit, deferred
  return performance.now() - t;
}

async function benchResponses(): Promise<void> {
  const size = Buffer.byteLength(JSON.stringify(body));
  const t = await rounds({
    plain: () => plainWrites(false),
    'plain-durable': () => plainWrites(true),
    'fsync-1': () => sluiceSaves(true, 1),
    'fsync-16': () => sluiceSaves(true, 16),
    'nofsync-1': () => sluiceSaves(false, 1),
    'nofsync-16': () => sluiceSaves(false, 16),
  });
  console.log(
    `(b) ${RESPONSES.toLocaleString('en-US')} saveApiResponse calls, ${(size / 1024).toFixed(1)} KB bodies, median of ${ROUNDS} rounds`,
  );
  const line = (label: string, ms: number, extra = '') =>
    console.log(
      `    ${label.padEnd(50)} ${ms.toFixed(0).padStart(6)} ms  ${rate(RESPONSES, ms).padStart(8)}${extra}`,
    );
  line('plain fs.writeFileSync per file', median(t.plain!));
  line('plain made durable (+ fsync file + fsync dir)', median(t['plain-durable']!));
  const modes: [string, string, boolean][] = [
    ['nofsync-1', 'sluice fsync:false, sequential', false],
    ['nofsync-16', 'sluice fsync:false, 16 concurrent', false],
    ['fsync-1', 'sluice default (fsync), sequential', true],
    ['fsync-16', 'sluice default (fsync), 16 concurrent', true],
  ];
  for (const [key, label, durable] of modes) {
    const vsPlain = medianRatio(t[key]!, t.plain!);
    const vsDurable = durable
      ? `, ${medianRatio(t[key]!, t['plain-durable']!).toFixed(2)}× durable plain`
      : '';
    line(label, median(t[key]!), `  ${vsPlain.toFixed(2)}× plain (goal ≤ 2×)${vsDurable}`);
  }
  console.log(
    `    per-round plain ms: ${t.plain!.map((x) => x.toFixed(0)).join(' ')}; durable plain: ${t['plain-durable']!.map((x) => x.toFixed(0)).join(' ')}`,
  );
}

/** One contender pair, lineage on and off, alternating; prints the ratios of (c). */
async function lineagePair(
  label: string,
  run: (lineage: boolean) => Promise<number>,
  on: () => Promise<number> = () => run(true),
): Promise<void> {
  const t = await rounds({ on, off: () => run(false) });
  const ofMedians = median(t.on!) / median(t.off!);
  console.log(
    `    ${label.padEnd(44)} on ${median(t.on!).toFixed(0).padStart(6)} ms, off ${median(t.off!).toFixed(0).padStart(6)} ms: ratio of medians ${ofMedians.toFixed(2)}×, median of round ratios ${medianRatio(t.on!, t.off!).toFixed(2)}× (rounds ${t.on!.map((x, i) => (x / t.off![i]!).toFixed(2)).join(' ')})`,
  );
}

async function benchLineage(): Promise<void> {
  // Sequential durable saves are slow on a loaded disk: (c) saves at most 1,000 responses a round.
  const n = Math.min(RESPONSES, 1000);
  const saves = n.toLocaleString('en-US');
  console.log(
    `(c) lineage on / off on a base used before, ${ROUNDS} alternating rounds (load ${loadavg()[0]?.toFixed(1)})`,
  );
  await lineagePair(`${POINTS.toLocaleString('en-US')} points, write… then flush()`, (on) =>
    sluicePoints(POINTS, false, on, true),
  );
  await lineagePair(`${saves} saveApiResponse, sequential`, (on) => sluiceSaves(true, 1, on, true, n));
  await lineagePair(
    `${saves} saveApiResponse, sequential, shared log`,
    (on) => sluiceSaves(true, 1, on, true, n),
    () => sluiceSaves(true, 1, 'shared', true, n),
  );
  await lineagePair(`${saves} saveApiResponse, 16 concurrent`, (on) => sluiceSaves(true, 16, on, true, n));
}

try {
  if (!lineageOnly) {
    await benchPoints();
    await benchResponses();
  }
  await benchLineage();
} finally {
  rmSync(root, { recursive: true, force: true });
}
