/**
 * DataWriter on a real full disk (a small tmpfs, see helpers/full-disk.ts): writes are refused
 * with E012 naming the output, what was written before stays whole, no temp or lock file stays
 * behind, and the writer works again as soon as space is freed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataWriter } from '../../src/writer/index.ts';
import { useFullDisk } from '../helpers/full-disk.ts';

const disk = useFullDisk('writer-full', '8m');

/** Temp files of puts and lock files of read-modify-writes anywhere on the disk. */
const leftovers = () =>
  readdirSync(disk.dir, { recursive: true, encoding: 'utf8' }).filter((n) => /sluice-tmp|\.lock$/.test(n));

describe('DataWriter on a full disk', () => {
  it('refuses writes with E012 naming the output, keeps earlier outputs whole and works again once space is freed', async () => {
    const taskDir = path.join(disk.dir, 'task');
    const writer = new DataWriter({ taskDir });
    try {
      const rows = Array.from({ length: 200 }, (_, i) => ({ i, name: `row ${i}` }));
      const first = await writer.writeDataframe(rows, 'table', { format: 'csv' });
      await writer.appendToJsonArray({ n: 1 }, 'events');
      const tableBefore = readFileSync(first.location);

      expect(disk.fill().code).toBe('ENOSPC');
      const many = Array.from({ length: 20_000 }, (_, i) => ({ i, name: `row ${i} ${'x'.repeat(20)}` }));
      const table = writer.writeDataframe(many, 'table', { format: 'csv' });
      await expect(table).rejects.toMatchObject({ code: 'E012' });
      await expect(table).rejects.toThrow(
        `writeDataframe output/table failed: disk full writing ${first.location}`,
      );
      expect(readFileSync(first.location).equals(tableBefore)).toBe(true);

      const events = path.join(taskDir, 'events.json');
      const append = writer.appendToJsonArray({ n: 2, pad: 'p'.repeat(20_000) }, 'events');
      await expect(append).rejects.toMatchObject({ code: 'E012' });
      // Its lock file, beside it, is the first thing the full disk refuses.
      await expect(append).rejects.toThrow(
        new RegExp(`^appendToJsonArray events failed: disk full writing ${taskDir}/\\.?events\\.json`),
      );
      expect(JSON.parse(readFileSync(events, 'utf8'))).toEqual([{ n: 1 }]);
      expect(leftovers()).toEqual([]);

      disk.free();
      // At once, not after the lock timeout: a failed lock was not left behind.
      await writer.appendToJsonArray({ n: 3 }, 'events', {});
      expect(JSON.parse(readFileSync(events, 'utf8'))).toEqual([{ n: 1 }, { n: 3 }]);
      const again = await writer.writeDataframe(many, 'table', { format: 'csv' });
      expect(again.rows).toBe(20_000);
      expect(leftovers()).toEqual([]);
    } finally {
      disk.free();
      await writer.close();
    }
  });
});
