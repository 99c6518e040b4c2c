import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROUNDS = 20;
const child = path.join(import.meta.dirname, 'fixtures', 'crash-writer.ts');

interface RunResult {
  acked: Map<number, number>;
  started: number;
}

/** Runs the writer until it has acknowledged something, then SIGKILLs it after a random delay. */
function runAndKill(dir: string, start: number, delayMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dir, String(start)], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SLUICE_LOG_LEVEL: 'silent' },
    });
    const acked = new Map<number, number>();
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^ack (\d+) (\d+)$/.exec(line);
        if (m) acked.set(Number(m[1]), Number(m[2]));
        if (line === 'ready' && !timer) timer = setTimeout(() => proc.kill('SIGKILL'), delayMs);
      }
    });
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    proc.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited with ${code}/${signal}: ${err}`));
      else resolve({ acked, started: start });
    });
  });
}

describe('crash recovery', () => {
  it(`keeps every acknowledged point exactly once over ${ROUNDS} kill -9 rounds`, async () => {
    const dir = path.join(tempDir('ts-crash'), 'store');
    const { batchPoints } = await import('./fixtures/crash-batch.ts');
    const allAcked = new Map<number, number>();
    let totalAcked = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const delay = 50 + Math.floor(Math.random() * 400);
      const { acked } = await runAndKill(dir, round * 1_000_000, delay);
      for (const [k, size] of acked) allAcked.set(k, size);
      totalAcked += acked.size;
      // keepDuplicates shows a point written twice, which last-write-wins would hide.
      const store = await TimeSeriesStore.open(dir, {
        keepDuplicates: true,
        compactIntervalMs: 0,
        partitionMs: 60_000,
      });
      try {
        const seen = new Map<number, unknown[]>();
        for (const v of await store.variables()) {
          for await (const p of store.query(v)) {
            const list = seen.get(p.micros) ?? [];
            list.push([p.variable, p.value, p.metadata]);
            seen.set(p.micros, list);
          }
        }
        for (const list of seen.values()) expect(list.length).toBe(1);
        // Every acknowledged batch is there, whole; an unacknowledged one is whole or absent.
        const present = new Map<number, number>();
        for (const micros of seen.keys()) {
          const k = Math.floor((micros / 1000 - 1_700_000_000_000) / 1000);
          present.set(k, (present.get(k) ?? 0) + 1);
        }
        for (const [k, size] of allAcked) {
          expect(present.get(k), `batch ${k} after round ${round}`).toBe(size);
          const expected = batchPoints(k, size);
          for (const p of expected.slice(0, 3)) {
            expect(seen.get(p.timestamp * 1000)?.[0]).toEqual([p.variable, p.value, p.metadata]);
          }
        }
        for (const [k, count] of present) {
          if (!allAcked.has(k)) expect(count, `unacknowledged batch ${k}`).toBe(1 + ((k * 7919) % 60));
        }
      } finally {
        await store.close();
      }
    }
    expect(totalAcked).toBeGreaterThan(ROUNDS);
  }, 240_000);
});
