// Ingestion benchmark on local disk, sluice against the seed's way in the same run.
// (a) 100,000 data points: IncrementalWriter (batches, one fdatasync per batch) versus the seed's
//     open-append-close per point (fs.appendFileSync, no fsync). Goal: ≥ 20× the seed's rate.
// (b) 5,000 saveApiResponse calls with 2 KB bodies versus fs.writeFileSync per file: the price
//     of atomic, never-overwriting saves. Reported with fsync (the default) and without, awaited
//     one by one and 16 at a time (the API is async; the peer is synchronous).
// Usage: node bench/ingest.ts [--quick]   (--quick: 10,000 points, 500 responses)
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
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IncrementalWriter, saveApiResponse } from '../src/ingest/index.ts';
import { createFsStorage } from '../src/storage/drivers/fs.ts';

const quick = process.argv.includes('--quick');
const POINTS = quick ? 10_000 : 100_000;
const RESPONSES = quick ? 500 : 5_000;
const SEED_FSYNC_POINTS = quick ? 500 : 2_000;
const root = mkdtempSync(path.join(tmpdir(), 'sluice-bench-ingest-'));

function rate(n: number, ms: number): string {
  return `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;
}

function point(i: number) {
  return { timestamp: 1_700_000_000_000 + i, value: i * 0.5, metadata: { sensor: 'a1' } };
}

async function benchPoints(): Promise<void> {
  // Seed: open, append one line, close, per point.
  const seedFile = path.join(root, 'seed', 'default', 'points', 'points.jsonl');
  mkdirSync(path.dirname(seedFile), { recursive: true });
  let t = performance.now();
  for (let i = 0; i < POINTS; i++) {
    const p = point(i);
    const line = `${JSON.stringify({ timestamp: new Date(p.timestamp).toISOString(), value: p.value, metadata: p.metadata })}\n`;
    appendFileSync(seedFile, line);
  }
  const seedMs = performance.now() - t;

  // The seed made durable (fsync per point), on fewer points: what per-point durability costs.
  const seedSyncFile = path.join(root, 'seed-sync.jsonl');
  t = performance.now();
  for (let i = 0; i < SEED_FSYNC_POINTS; i++) {
    const fd = openSync(seedSyncFile, 'a');
    writeSync(fd, `${JSON.stringify(point(i))}\n`);
    fsyncSync(fd);
    closeSync(fd);
  }
  const seedSyncMs = performance.now() - t;

  const storage = createFsStorage({ root: path.join(root, 'sluice') });
  const writer = await IncrementalWriter.open({
    storage,
    datasetId: 'points',
    batchSize: 1000,
    flushIntervalMs: 5,
  });
  t = performance.now();
  const acks: Promise<void>[] = [];
  for (let i = 0; i < POINTS; i++) acks.push(writer.write(point(i)));
  await Promise.all(acks);
  await writer.close();
  const sluiceMs = performance.now() - t;

  console.log(`(a) ${POINTS.toLocaleString('en-US')} data points`);
  console.log(
    `    seed appendFileSync per point (no fsync):  ${seedMs.toFixed(0)} ms  ${rate(POINTS, seedMs)}`,
  );
  console.log(
    `    seed with fsync per point (${SEED_FSYNC_POINTS} points):   ${seedSyncMs.toFixed(0)} ms  ${rate(SEED_FSYNC_POINTS, seedSyncMs)}`,
  );
  console.log(
    `    sluice IncrementalWriter (${writer.stats.batches} batches, fdatasync each): ${sluiceMs.toFixed(0)} ms  ${rate(POINTS, sluiceMs)}`,
  );
  console.log(`    ratio sluice / seed: ${(seedMs / sluiceMs).toFixed(1)}× (goal ≥ 20×)`);
  console.log(
    `    ratio sluice / seed made durable: ${(POINTS / sluiceMs / (SEED_FSYNC_POINTS / seedSyncMs)).toFixed(0)}×`,
  );
}

async function benchResponses(): Promise<void> {
  const body = {
    items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}`, text: 'x'.repeat(60) })),
  };
  const headers = { 'content-type': 'application/json', 'x-request-id': 'abc' };
  const size = Buffer.byteLength(JSON.stringify(body));

  const plainDir = path.join(root, 'plain');
  mkdirSync(plainDir, { recursive: true });
  let t = performance.now();
  for (let i = 0; i < RESPONSES; i++) {
    const wrapped = { timestamp: new Date().toISOString(), status_code: 200, headers, data: body };
    writeFileSync(path.join(plainDir, `resp_${i}.json`), JSON.stringify(wrapped, null, 2));
  }
  const plainMs = performance.now() - t;

  const results: [string, number][] = [];
  for (const fsync of [true, false]) {
    for (const concurrency of [1, 16]) {
      const storage = createFsStorage({ root: path.join(root, `sluice-${fsync}-${concurrency}`), fsync });
      let next = 0;
      const worker = async () => {
        while (next < RESPONSES) {
          next++;
          await saveApiResponse('resp', body, { storage, sourceName: 'bench', statusCode: 200, headers });
        }
      };
      t = performance.now();
      await Promise.all(Array.from({ length: concurrency }, worker));
      const mode = concurrency === 1 ? 'sequential' : `${concurrency} concurrent`;
      results.push([`${fsync ? 'fsync (default)' : 'no fsync'}, ${mode}`, performance.now() - t]);
    }
  }

  console.log(
    `(b) ${RESPONSES.toLocaleString('en-US')} saveApiResponse calls, ${(size / 1024).toFixed(1)} KB bodies`,
  );
  console.log(
    `    plain fs.writeFileSync per file:        ${plainMs.toFixed(0)} ms  ${rate(RESPONSES, plainMs)}`,
  );
  for (const [label, ms] of results) {
    console.log(
      `    sluice saveApiResponse, ${label.padEnd(30)}: ${ms.toFixed(0)} ms  ${rate(RESPONSES, ms)}  ratio ${(ms / plainMs).toFixed(2)}× plain (goal ≤ 2×)`,
    );
  }
}

try {
  await benchPoints();
  await benchResponses();
} finally {
  rmSync(root, { recursive: true, force: true });
}
