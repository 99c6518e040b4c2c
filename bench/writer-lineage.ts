// Part (d) of bench/writer.ts: the cost of lineage on DataWriter calls (#19, goal ≤ 5%). The
// same writes through two writers in one process, one with lineage on (each file's intent in
// `_sluice/lineage/` before it is put, its commit after, both fsynced; the sha256 is taken while
// the bytes stream to storage, as without lineage) and one with `lineage: false`, alternating
// which runs first each round. Statistic: the median of the per-round ratios on / off, of wall
// time and of the process's CPU time (all threads, DuckDB's too), which the machine's load moves less.
import path from 'node:path';
import type { Row } from '../src/formats/types.ts';
import { DataWriter } from '../src/writer/index.ts';
import { median, medianRatio } from './peers.ts';

interface Timing {
  ms: number;
  cpuMs: number;
}

async function timed(fn: () => Promise<unknown>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000 };
}

type Case = [label: string, run: (writer: DataWriter) => Promise<unknown>];

export async function lineageOverhead(
  work: string,
  rows: () => AsyncIterable<Row>,
  rowCount: number,
  rounds: number,
): Promise<void> {
  const on = new DataWriter({ taskDir: path.join(work, 'lineage-on'), lineage: true, openLineage: false });
  const off = new DataWriter({ taskDir: path.join(work, 'lineage-off'), lineage: false });
  const small = Array.from({ length: 100 }, (_, i) => ({ id: i, label: `label-${i}`, value: i * 0.5 }));
  const cases: Case[] = [
    ['parquet', (w) => w.writeDataframe(rows(), 'bench', { format: 'parquet' })],
    ['csv', (w) => w.writeDataframe(rows(), 'bench', { format: 'csv' })],
    [
      'parquet, 2 partitions',
      (w) => w.writeDataframe(rows(), 'parts', { format: 'parquet', partitionBy: 'flag' }),
    ],
    [
      '50 small JSON files',
      async (w) => {
        for (let i = 0; i < 50; i++) await w.writeJson(small, `small-${i}`);
      },
    ],
  ];
  const times = new Map(cases.map(([label]) => [label, { on: [] as Timing[], off: [] as Timing[] }]));
  for (let round = 0; round < rounds; round++) {
    for (const [label, run] of cases) {
      const t = times.get(label) as { on: Timing[]; off: Timing[] };
      if (round % 2 === 0) {
        t.on.push(await timed(() => run(on)));
        t.off.push(await timed(() => run(off)));
      } else {
        t.off.push(await timed(() => run(off)));
        t.on.push(await timed(() => run(on)));
      }
    }
  }
  await on.close();
  await off.close();
  console.log(
    `(d) lineage on / off, ${rowCount.toLocaleString('en-US')} rows per table write; median of ${rounds} per-round ratios, the side that runs first alternating:`,
  );
  for (const [label, t] of times) {
    const ratio = (key: keyof Timing) =>
      medianRatio(
        t.on.map((x) => x[key]),
        t.off.map((x) => x[key]),
      );
    const ms = (side: Timing[]) => median(side.map((x) => x.ms)).toFixed(0);
    console.log(
      `    ${label.padEnd(22)} wall ×${ratio('ms').toFixed(3)}  CPU ×${ratio('cpuMs').toFixed(3)}   (medians: on ${ms(t.on)} ms, off ${ms(t.off)} ms)`,
    );
  }
}
