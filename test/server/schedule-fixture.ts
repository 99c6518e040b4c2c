/**
 * A tiny pipeline project for the schedule tests: one raw CSV, one model, a local lake — a full
 * run takes about 0.1 s — and waiting helpers.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../src/config/config.ts';
import type { RunScheduled } from '../../src/server/schedules/types.ts';
import { tempDir } from '../helpers/tmp.ts';

export interface TinyProject {
  dir: string;
  file: string;
  config: Config;
}

/** With `failing`, its model reads a table that does not exist: the transform step fails (E004). */
export function tinyProject(label: string, extra: string[] = [], failing = false): TinyProject {
  const dir = tempDir(`sched-${label}`);
  mkdirSync(path.join(dir, 'data/raw/sensors'), { recursive: true });
  mkdirSync(path.join(dir, 'models'), { recursive: true });
  writeFileSync(path.join(dir, 'data/raw/sensors/readings.csv'), 'site,value\na,1\nb,2\na,3\n');
  writeFileSync(
    path.join(dir, 'models/totals.sql'),
    `-- name: totals\nSELECT site, sum(value) AS total FROM landing.${failing ? 'nowhere' : 'sensors'} GROUP BY site\n`,
  );
  const file = path.join(dir, 'sluice.config.yaml');
  writeFileSync(
    file,
    ['env: dev', 'dataDir: ./data', 'modelsDir: ./models', 'lakeRoot: ./lake', ...extra, ''].join('\n'),
  );
  return { dir, file, config: Config.load({ file, env: {} }) };
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A run that waits at a gate before running the real pipeline: to hold a run in flight. */
export function gatedRun(real: RunScheduled) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const state = { calls: 0 };
  const runs: Promise<unknown>[] = [];
  const run: RunScheduled = (schedule, options) => {
    state.calls += 1;
    const p = gate.then(() => real(schedule, options));
    runs.push(p);
    return p;
  };
  /** Opens the gate and waits for every run to end (an abandoned one too, before its folder goes). */
  const drain = async () => {
    open();
    return Promise.allSettled(runs);
  };
  return { run, open, drain, state };
}
