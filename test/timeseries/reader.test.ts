import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('concurrent reader process', () => {
  it('queries a store while this process appends and compacts: no error, no partial batch', async () => {
    const dir = path.join(tempDir('ts-reader'), 'store');
    const writer = await TimeSeriesStore.open(dir, {
      compactIntervalMs: 0,
      compactPoints: 0,
      partitionMs: 60_000,
    });
    const reader = spawn(
      process.execPath,
      [path.join(import.meta.dirname, 'fixtures', 'reader.ts'), dir, path.join(dir, 'wal')],
      { cwd: path.resolve(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    reader.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    reader.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const exited = new Promise((r) => reader.on('exit', r));
    let k = 0;
    let compactions = 0;
    // Wait for the reader's first pass (slow on a loaded machine) so reads and writes overlap.
    const deadline = Date.now() + 30_000;
    while (!out.includes('ok') && !out.includes('bad') && Date.now() < deadline) {
      await writer.storeDataPoints(batch(k++));
      await new Promise((r) => setTimeout(r, 5));
    }
    const passesBefore = out.split('\n').length;
    const start = Date.now();
    const enough = () =>
      compactions >= 8 && Date.now() - start >= 3000 && out.split('\n').length >= passesBefore + 3;
    while (!enough() && Date.now() - start < 40_000) {
      // Late points into old windows make compaction rewrite segments the reader may be reading.
      await writer.storeDataPoints(batch(k++));
      if (k % 15 === 0) {
        await writer.storeDataPoints(batch(k++, true));
        await writer.compact();
        compactions++;
      }
    }
    reader.kill('SIGTERM');
    await exited;
    await writer.close();
    const lines = out.trim().split('\n');
    expect(
      lines.filter((l) => l.startsWith('bad')),
      err,
    ).toEqual([]);
    const counts = lines.map((l) => Number(l.split(' ')[1]));
    expect(counts.length).toBeGreaterThan(3);
    expect(Math.max(...counts)).toBeGreaterThan(0);
    expect(compactions).toBeGreaterThan(2);
  }, 60_000);
});

function batch(k: number, late = false) {
  const base = late ? 1_700_000_000_000 + (k % 7) * 60_000 + 500 : 1_700_000_000_000 + k * 10_000;
  return Array.from({ length: 10 }, (_, i) => ({
    variable: `r${i % 3}`,
    timestamp: base + i * 7 + (late ? k * 0.001 : 0),
    value: k * 1000 + i,
    metadata: { k },
  }));
}
