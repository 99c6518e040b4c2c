/** Output helpers of bench/timeseries.ts and its closing block: each goal of issue #21 with the measured value. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

export const fmtRate = (x: number) =>
  x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`;
export const fmtMs = (x: number) =>
  x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(x < 10 ? 2 : 0)} ms`;

/** Prints one table row: the first cell left-aligned, the others right-aligned. */
export function row(cells: string[], widths: number[]): void {
  console.log(
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' '),
  );
}

const CHILD = path.join(import.meta.dirname, 'timeseries-child.ts');

/**
 * Runs bench/timeseries-child.ts with `argv` in a fresh process and returns the JSON it printed;
 * undefined when it was stopped after `timeoutMs`.
 */
export function inChild(argv: string[], timeoutMs?: number): Record<string, number> | undefined {
  const r = spawnSync(process.execPath, ['--expose-gc', CHILD, ...argv], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
    ...(timeoutMs ? { timeout: timeoutMs, killSignal: 'SIGKILL' as const } : {}),
  });
  if (timeoutMs && r.signal === 'SIGKILL') return undefined;
  if (r.status !== 0) throw new Error(`timeseries-child ${argv.join(' ')} exited ${r.status ?? r.signal}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
}

export interface Goal {
  goal: string;
  /** Which data set or which ratio the value is. */
  where: string;
  value: number;
  /** Met when value ≥ min (or ≤ max); neither: reported only. */
  min?: number;
  max?: number;
  unit: string;
}

function verdict(g: Goal): string {
  if (!Number.isFinite(g.value)) return 'not measured';
  if (g.min !== undefined) return g.value >= g.min ? 'met' : 'NOT met';
  if (g.max !== undefined) return g.value <= g.max ? 'met' : 'NOT met';
  return 'reported';
}

export function printSummary(goals: Goal[], run: { points: number; rounds: number }): void {
  const date = new Date().toISOString().slice(0, 10);
  console.log(
    `\n== issue #21 goals: node bench/timeseries.ts, ${run.points.toLocaleString('en')} points, medians of ${run.rounds} alternating rounds, ${date} ==`,
  );
  for (const name of new Set(goals.map((g) => g.goal))) {
    console.log(name);
    for (const g of goals.filter((x) => x.goal === name)) {
      const v =
        Math.abs(g.value) >= 100
          ? g.value.toFixed(0)
          : Math.abs(g.value) < 0.1
            ? g.value.toPrecision(2)
            : g.value.toFixed(2);
      console.log(`  ${g.where.padEnd(56)} ${`${v}${g.unit}`.padStart(22)}  ${verdict(g)}`);
    }
  }
}
