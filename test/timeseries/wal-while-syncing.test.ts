/**
 * The log's work while an fsync runs (`whileSyncing`: the buffers place committed batches then):
 * it is called once per commit, and if it fails, that commit fails whole — its records cut off,
 * its append rejected, its fsync still awaited — and the log goes on.
 */
import { mkdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { TimeSeriesError } from '../../src/errors.ts';
import { buildBatch } from '../../src/timeseries/batch.ts';
import type { PointBatch } from '../../src/timeseries/codec.ts';
import { WriteAheadLog } from '../../src/timeseries/wal.ts';
import { readWal } from '../../src/timeseries/wal-files.ts';
import { tempDir } from '../helpers/tmp.ts';

const root = tempDir('ts-wal-syncing');

function batch(k: number, firstSeq: number): PointBatch {
  const b = buildBatch(
    Array.from({ length: 10 }, (_, i) => ({ variable: `v${i % 2}`, timestamp: k * 10 + i + 1, value: i })),
  );
  b.firstSeq = firstSeq;
  return b;
}

describe('work while the log fsyncs', () => {
  it('runs once a commit; a commit whose work fails stores nothing, and the next commits go on', async () => {
    const dir = `${root}/log`;
    await mkdir(dir, { recursive: true });
    const committed: number[] = [];
    let calls = 0;
    const wal = await WriteAheadLog.open(
      dir,
      {
        durability: 'fsync',
        groupCommitMs: 0,
        groupCommitBytes: 4 << 20,
        segmentBytes: 64 << 20,
        onCommit: (batches) => {
          for (const b of batches) committed.push(b.firstSeq);
        },
        whileSyncing: () => {
          calls++;
          if (calls === 2) throw new Error('placing failed');
        },
      },
      await readWal(dir, true),
      1,
    );
    await wal.append(batch(0, 1));
    const failed = await wal.append(batch(1, 11)).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(TimeSeriesError);
    expect(String((failed as Error).message)).toMatch(/the batch was not stored/);
    await wal.append(batch(2, 11));
    await wal.close();
    expect(calls).toBe(3);
    expect(committed).toEqual([1, 11]);
    const back = await readWal(dir, false);
    expect(back.batches.map((b) => [b.firstSeq, b.count])).toEqual([
      [1, 10],
      [11, 10],
    ]);
    // The batch after the failed one: its first point is at 21 ms.
    expect(back.batches[1]?.micros[0]).toBe(21_000);
  });
});
