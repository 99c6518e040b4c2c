/**
 * `sluice serve` ingest (issue #16): InfluxDB line protocol over HTTP — 5,000-point batches from
 * 4 concurrent clients for N seconds against `sluice serve` in its own process — against the
 * library's own durable append rate in the same run (4 concurrent producers calling
 * `storeDataPoints` with 5,000-point batches on a store of this process). Prints points/s,
 * p50/p99 latency per batch, the server's peak RSS, the ratio (goal ≥ 0.5×) and whether every
 * point sent was read back. Both sides acknowledge only durable (fsynced) points. Rounds
 * alternate which side runs first; medians are printed. The machine is shared: read the ratio.
 *
 *   node bench/serve.ts [--seconds 60] [--rounds 3] [--quick (= --seconds 10)]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type DataPointInput, TimeSeriesStore } from '../src/timeseries/index.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
};
const SECONDS = arg('--seconds', process.argv.includes('--quick') ? 10 : 60);
const ROUNDS = arg('--rounds', Number(process.env.BENCH_ROUNDS ?? 3));
const CLIENTS = 4;
const BATCH = 5_000;
const SERIES = 50; // host × sensor combinations, one variable each
const TOKEN = 'bench-write-token-0123456789';
const READ_TOKEN = 'bench-read-token-0123456789';
const ADMIN_TOKEN = 'bench-admin-token-0123456789';
const BASE_MICROS = Date.UTC(2024, 0, 1) * 1000;

interface PhaseResult {
  points: number;
  seconds: number;
  /** CPU time of the process doing the storing (the server, or this one for the library). */
  cpuSeconds: number;
  latenciesMs: number[];
  rssBytes?: number;
  readBack?: number;
}

/**
 * Timestamp of client `c`'s `n`-th point, 1 µs apart: each client writes its own day, so no point
 * replaces another and each day's points arrive in order, however far the clients drift apart
 * (how far they drift differs between the two sides, and out-of-order points cost the store more
 * to compact).
 */
const DAY_MICROS = 86_400_000_000;
const micros = (c: number, n: number) => BASE_MICROS + c * DAY_MICROS + n;

/**
 * The clients share the machine with the server, so a batch body is not built line by line: one
 * template per client holds fixed-width lines, and each batch only rewrites the digits of its
 * timestamps in place (a 2024 timestamp in ns always has 19 digits).
 */
const templates = new Map<number, { bytes: Buffer; offsets: number[] }>();
function lineBatch(c: number, first: number): Buffer {
  let t = templates.get(c);
  if (!t) {
    const offsets: number[] = [];
    const lines: string[] = [];
    let at = 0;
    for (let i = 0; i < BATCH; i++) {
      const s = i % SERIES;
      const head = `bench,host=h${s % 5},sensor=s${String(s).padStart(2, '0')} value=${(i % 1000) / 10} `;
      offsets.push(at + head.length); // ASCII: characters are bytes
      lines.push(`${head}${'0'.repeat(19)}`);
      at += head.length + 20;
    }
    t = { bytes: Buffer.from(lines.join('\n') + '\n'), offsets };
    templates.set(c, t);
  }
  const { bytes, offsets } = t;
  for (let i = 0; i < BATCH; i++) {
    let v = micros(c, first + i);
    const at = (offsets[i] as number) + 15; // 16 digits of µs, then 000
    for (let d = 0; d < 16; d++) {
      bytes[at - d] = 48 + (v % 10);
      v = Math.floor(v / 10);
    }
  }
  return Buffer.from(bytes);
}

const metadataOf = Array.from({ length: SERIES }, (_, s) => ({ host: `h${s % 5}`, sensor: `s${s}` }));
function pointBatch(c: number, first: number): DataPointInput[] {
  const points = new Array<DataPointInput>(BATCH);
  for (let i = 0; i < BATCH; i++) {
    const n = first + i;
    const s = i % SERIES;
    points[i] = {
      variable: 'bench.value',
      timestamp: micros(c, n),
      value: (i % 1000) / 10,
      metadata: metadataOf[s] ?? null,
    };
  }
  return points;
}

/**
 * Runs `CLIENTS` loops of `send` for SECONDS (each loop's batches numbered from 0), then `settle`:
 * a compaction of everything written, so that both sides are timed with their background
 * compaction done, whatever share of it happened to run inside the window.
 */
async function drive(
  send: (client: number, first: number) => Promise<void>,
  settle: () => Promise<unknown>,
): Promise<Omit<PhaseResult, 'cpuSeconds'>> {
  const latenciesMs: number[] = [];
  let points = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let b = 0; performance.now() < deadline; b++) {
        const t = performance.now();
        await send(c, b * BATCH);
        latenciesMs.push(performance.now() - t);
        points += BATCH;
      }
    }),
  );
  await settle();
  return { points, seconds: (performance.now() - started) / 1000, latenciesMs };
}

async function libraryPhase(dir: string): Promise<PhaseResult> {
  const store = await TimeSeriesStore.open(path.join(dir, 'library'));
  try {
    const before = process.cpuUsage();
    const result = await drive(
      (c, first) => store.storeDataPoints(pointBatch(c, first)),
      () => store.compact(),
    );
    const used = process.cpuUsage(before);
    return { ...result, cpuSeconds: (used.user + used.system) / 1e6 };
  } finally {
    await store.close();
  }
}

/** CPU seconds a process has used (Linux: utime + stime of /proc/<pid>/stat). */
function cpuOf(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

async function startServe(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      path.join(import.meta.dirname, '../src/cli/main.ts'),
      '--log-level',
      'warn',
      'serve',
      '--port',
      '0',
      '--ts-root',
      dir,
    ],
    {
      env: { ...process.env, SLUICE_API_TOKENS: `write:${TOKEN},read:${READ_TOKEN},admin:${ADMIN_TOKEN}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const url = /listening on (http:\/\/\S+)/.exec(err)?.[1];
    if (url) return { child, url };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`sluice serve did not start: ${err}`);
}

/** Peak resident memory of a process (Linux). */
function peakRss(pid: number | undefined): number | undefined {
  try {
    const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function httpPhase(dir: string): Promise<PhaseResult> {
  const { child, url } = await startServe(dir);
  try {
    const write = `${url}/api/v2/write?bucket=bench&precision=ns`;
    const cpuBefore = cpuOf(child.pid);
    const result = await drive(
      async (c, first) => {
        const res = await fetch(write, {
          method: 'POST',
          body: lineBatch(c, first),
          headers: { Authorization: `Token ${TOKEN}` },
        });
        if (res.status !== 204) throw new Error(`write answered ${res.status}: ${await res.text()}`);
      },
      async () => {
        const res = await fetch(`${url}/api/ts/bench/compact`, {
          method: 'POST',
          headers: { Authorization: `Token ${ADMIN_TOKEN}` },
        });
        if (res.status !== 200) throw new Error(`compact answered ${res.status}: ${await res.text()}`);
      },
    );
    const cpuSeconds = cpuOf(child.pid) - cpuBefore;
    const rssBytes = peakRss(child.pid);
    const q = `${url}/api/ts/bench/query?variable=bench.value&agg=count&every=3650d`;
    const res = await fetch(q, { headers: { Authorization: `Token ${READ_TOKEN}` } });
    const rows = ((await res.json()) as { rows: { count: number }[] }).rows;
    return {
      ...result,
      cpuSeconds,
      ...(rssBytes ? { rssBytes } : {}),
      readBack: rows.reduce((sum, r) => sum + r.count, 0),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? Number.NaN;
const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? Number.NaN;
const rate = (r: PhaseResult) => r.points / r.seconds;

const library: PhaseResult[] = [];
const http: PhaseResult[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const dir = mkdtempSync(path.join(tmpdir(), 'sluice-bench-serve-'));
  try {
    const order = round % 2 === 0 ? ['library', 'http'] : ['http', 'library'];
    for (const side of order) {
      if (side === 'library') library.push(await libraryPhase(dir));
      else http.push(await httpPhase(path.join(dir, 'served')));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en');
const describe = (name: string, results: PhaseResult[]) => {
  const all = results.flatMap((r) => r.latenciesMs);
  const cpu = median(results.map((r) => (r.cpuSeconds / r.points) * 1e6));
  return `${name.padEnd(34)} ${fmt(median(results.map(rate))).padStart(11)} pts/s   p50 ${percentile(all, 0.5).toFixed(1).padStart(7)} ms   p99 ${percentile(all, 0.99).toFixed(1).padStart(7)} ms   CPU ${cpu.toFixed(2)} µs/pt`;
};
console.log(
  `sluice serve ingest: ${CLIENTS} clients × ${BATCH.toLocaleString('en')}-point batches for ${SECONDS} s per side, ${ROUNDS} round(s) alternating (medians); durable (fsync) on both sides`,
);
console.log('(shared 2-core machine: compare the ratio, not the absolute rates)');
console.log(describe('library storeDataPoints (in-process)', library));
console.log(describe('HTTP /api/v2/write (sluice serve)', http));
const ratio = median(http.map(rate)) / median(library.map(rate));
console.log(`ratio HTTP / library: ${ratio.toFixed(2)}× (goal ≥ 0.5×)`);
const cpuRatio =
  median(library.map((r) => r.cpuSeconds / r.points)) / median(http.map((r) => r.cpuSeconds / r.points));
console.log(
  `ratio of CPU per point, library / server: ${cpuRatio.toFixed(2)}× (what the rates would be with a core each; the HTTP clients run on the same cores)`,
);
const rss = http.map((r) => r.rssBytes).filter((x): x is number => x !== undefined);
if (rss.length > 0) console.log(`server peak RSS: ${(median(rss) / 1024 / 1024).toFixed(0)} MiB`);
const lost = http.map((r) => r.points - (r.readBack ?? 0));
console.log(
  `points read back = points sent: ${lost.every((l) => l === 0) ? 'yes' : `NO (${lost.join(', ')} missing)`} (${http.map((r) => fmt(r.readBack ?? 0)).join(', ')} read back)`,
);
if (lost.some((l) => l !== 0)) process.exitCode = 1;
