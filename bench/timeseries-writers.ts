/**
 * Many writers, one store (issue #22): total durable points/s when 1, 2 and 4 writer processes
 * append to one local store at once (each its own log and fsyncs, compacting under the shared
 * lease at the end), against one writer process — the ratio says what adding writers buys on this
 * machine. Medians of alternating rounds; each round a fresh store.
 *
 *   node bench/timeseries-writers.ts [--quick]     (BENCH_POINTS per writer, BENCH_ROUNDS)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const quick = process.argv.includes('--quick');
const PER_WRITER = Number(process.env.BENCH_POINTS ?? (quick ? 100_000 : 500_000));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CHILD = path.join(import.meta.dirname, 'timeseries-writer-child.ts');
const WRITERS = [1, 2, 4];

function runChild(dir: string, tag: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CHILD, dir, tag, String(PER_WRITER)], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${tag} exited ${code}`))));
  });
}

async function round(writers: number): Promise<number> {
  const root = mkdtempSync(path.join(tmpdir(), 'sluice-bench-writers-'));
  try {
    const started = performance.now();
    await Promise.all(Array.from({ length: writers }, (_, i) => runChild(path.join(root, 'store'), `w${i}`)));
    return ((writers * PER_WRITER) / (performance.now() - started)) * 1000;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const rates = new Map<number, number[]>(WRITERS.map((w) => [w, []]));
for (let r = 0; r < ROUNDS; r++) for (const w of WRITERS) rates.get(w)?.push(await round(w));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1] as number;
const one = median(rates.get(1) ?? []);
console.log(
  `many writers, one local store: ${PER_WRITER.toLocaleString('en')} points per writer, median of ${ROUNDS} alternating rounds`,
);
console.log('(whole processes timed: start-up, durable appends, final compaction under the shared lease)');
for (const w of WRITERS) {
  const rate = median(rates.get(w) ?? []);
  console.log(
    `${`${w} writer process${w > 1 ? 'es' : ''}`.padEnd(22)} ${`${(rate / 1e6).toFixed(2)} M pts/s`.padStart(14)}  ${(rate / one).toFixed(2)}× one writer`,
  );
}
