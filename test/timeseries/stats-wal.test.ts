import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

/**
 * Issue #18: `ts stats` (a read-only open) printed `walBytes 0` while the log held points. walBytes
 * is the bytes of the log's records, in every writer's log, not the preallocated (zero-filled)
 * size of the files on disk.
 */
describe('ts stats counts the write-ahead log', () => {
  it('a read-only open reports the log records a running writer wrote', { timeout: 60_000 }, async () => {
    const dir = path.join(tempDir('ts-stats-wal'), 'store');
    const writer = await TimeSeriesStore.open(dir, { compactIntervalMs: 0 });
    try {
      await writer.storeDataPoint('temp', '2024-01-01T00:00:00Z', 20.5);
      await writer.storeDataPoints([
        { variable: 'temp', timestamp: '2024-01-01T00:00:30Z', value: 21 },
        { variable: 'door', timestamp: '2024-01-01T00:01:00Z', value: 'open', metadata: { room: 'a' } },
      ]);
      await writer.flush();
      const own = await writer.stats();
      expect(own.walBytes).toBeGreaterThan(0);
      expect(own.walFiles).toBe(1);
      // The files on disk are preallocated: their size is not what the log holds.
      const files = readdirSync(path.join(dir, 'wal'), { recursive: true, withFileTypes: true }).filter(
        (e) => e.isFile() && e.name.endsWith('.log'),
      );
      const onDisk = files.reduce((sum, e) => sum + statSync(path.join(e.parentPath, e.name)).size, 0);
      expect(onDisk).toBeGreaterThan(own.walBytes);

      const json = await runSluice(['ts', 'stats', dir, '--json']);
      expect(json.stderr).toBe('');
      expect(JSON.parse(json.stdout)).toMatchObject({
        bufferedPoints: 3,
        segmentPoints: 0,
        walBytes: own.walBytes,
        walFiles: 1,
        lastSeq: 3,
      });
      const table = await runSluice(['ts', 'stats', dir]);
      expect(table.stdout).toMatch(new RegExp(`^walBytes +${own.walBytes}$`, 'm'));
      expect(table.stdout).toMatch(/^walFiles +1$/m);
    } finally {
      await writer.close();
    }
  });

  it('after compaction the log is empty and stats say so', { timeout: 60_000 }, async () => {
    const dir = path.join(tempDir('ts-stats-wal'), 'store');
    const writer = await TimeSeriesStore.open(dir, { compactIntervalMs: 0 });
    try {
      await writer.storeDataPoint('temp', '2024-01-01T00:00:00Z', 1);
      await writer.compact();
      const json = await runSluice(['ts', 'stats', dir, '--json']);
      expect(JSON.parse(json.stdout)).toMatchObject({ bufferedPoints: 0, segmentPoints: 1, walBytes: 0 });
      expect((await writer.stats()).walBytes).toBe(0);
    } finally {
      await writer.close();
    }
  });
});
