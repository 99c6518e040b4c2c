/**
 * latest() of a read-only store from the segment files' footers: a variable spread over several
 * segment files and windows answers from its newest file only; a point still in the writer's log
 * wins when newer (or at the same instant, written later); retention is respected; a file of many
 * variables written without the footer's last points (an earlier sluice) is scanned instead, and
 * a torn footer value is refused with what is wrong (the reader then scans that file too).
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { keyValueOf, readFooter } from '../../src/timeseries/parquet/footer.ts';
import { decodeLastRows, LAST_ROWS_KEY } from '../../src/timeseries/segment-last-rows.ts';
import { SegmentFiles } from '../../src/timeseries/segments.ts';
import { tempDir } from '../helpers/tmp.ts';
import { readManifestFile } from './helpers.ts';

const T0 = Date.UTC(2024, 0, 1);
const HOUR = 3_600_000;
const names = Array.from({ length: 40 }, (_, i) => `v${i}`);
const proto = SegmentFiles.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;

/** A store of three compactions over three one-hour windows; `late` only in the first. */
async function build(dir: string) {
  const writer = await TimeSeriesStore.open(dir, {
    compactIntervalMs: 0,
    compactPoints: 0,
    partitionMs: HOUR,
  });
  for (let w = 0; w < 3; w++) {
    await writer.storeDataPoints(
      names.map((v, i) => ({
        variable: v,
        timestamp: T0 + w * HOUR + i,
        value: w * 100 + i,
        metadata: { w, unit: 'C' },
      })),
    );
    if (w === 0) await writer.storeDataPoint('late', T0 + 10, 'only in the first', { note: 'old' });
    await writer.compact();
  }
  return writer;
}

describe('latest() from segment footers', () => {
  it('reads the newest file of each variable only, and the log wins when newer', async () => {
    const dir = path.join(tempDir('ts-latest-footer'), 'store');
    const writer = await build(dir);
    try {
      const keys = new Set((await readManifestFile(dir)).segments.map((s) => s.key));
      expect(keys.size, 'three files').toBe(3);
      // In the log, not compacted: a later point of v1, and one of v2 at its last instant (written later).
      await writer.storeDataPoint('v1', T0 + 5 * HOUR, 'from the log');
      await writer.storeDataPoint('v2', T0 + 2 * HOUR + 2, -2, { in: 'log' });
      const reader = await TimeSeriesStore.open(dir, { readOnly: true });
      const footer = vi.spyOn(proto, 'footerLastRows');
      const scan = vi.spyOn(proto, 'scanLastRows');
      const rows = vi.spyOn(proto, 'readFile');
      try {
        const asked = [...names, 'late', 'none'];
        const got = await reader.latest(asked);
        expect(got).toEqual(await writer.latest(asked));
        expect(got[0]).toMatchObject({ variable: 'v0', value: 200, metadata: { w: 2, unit: 'C' } });
        expect(got[1]).toMatchObject({ variable: 'v1', value: 'from the log' });
        expect(got[2]).toMatchObject({ variable: 'v2', value: -2, metadata: { in: 'log' } });
        expect(got[3]).toMatchObject({ variable: 'v3', value: 203 });
        expect(got[40]).toMatchObject({
          variable: 'late',
          value: 'only in the first',
          metadata: { note: 'old' },
        });
        expect(got[41]).toBeUndefined();
        // The newest file for the 40, the first for `late`: two footers, nothing scanned.
        expect(footer).toHaveBeenCalledTimes(2);
        expect(scan).not.toHaveBeenCalled();
        // Only v2's run, to resolve its log point against the file's at the same instant.
        expect(rows).toHaveBeenCalledTimes(1);
      } finally {
        footer.mockRestore();
        scan.mockRestore();
        rows.mockRestore();
        await reader.close();
      }

      // Retention drops the windows before the cut: `late` has nothing left.
      await writer.applyRetention({ olderThan: T0 + 2 * HOUR });
      const after = await TimeSeriesStore.open(dir, { readOnly: true });
      try {
        const got = await after.latest(['late', 'v3']);
        expect(got[0]).toBeUndefined();
        expect(got[1]).toMatchObject({ value: 203 });
        expect(got).toEqual(await writer.latest(['late', 'v3']));
      } finally {
        await after.close();
      }
    } finally {
      await writer.close();
    }
  });

  it('scans files without last points in their footer; a torn value says what is wrong', async () => {
    const dir = path.join(tempDir('ts-latest-nofooter'), 'store');
    const writer = await build(dir);
    const expected = await writer.latest([...names, 'late']);
    await writer.close();
    const keys = [...new Set((await readManifestFile(dir)).segments.map((s) => s.key))];
    const first = path.join(dir, keys[0] as string);
    expect(decodeLastRows(keyValueOf(await readFooter(first), LAST_ROWS_KEY) as Buffer).size).toBe(41);
    // Rewritten as an earlier sluice wrote them: the same rows in the same order, no footer key.
    const engine = await Engine.create({ threads: 1 });
    try {
      for (const k of keys) {
        const file = path.join(dir, k);
        await engine.run(
          `COPY (SELECT * FROM read_parquet(${quoteLiteral(file)}) ) TO ${quoteLiteral(`${file}.tmp`)} (FORMAT parquet)`,
        );
        await fsp.rename(`${file}.tmp`, file);
      }
    } finally {
      await engine.close();
    }
    expect(keyValueOf(await readFooter(first), LAST_ROWS_KEY)).toBeUndefined();
    const reader = await TimeSeriesStore.open(dir, { readOnly: true });
    const scan = vi.spyOn(proto, 'scanLastRows');
    try {
      expect(await reader.latest([...names, 'late'])).toEqual(expected);
      expect(
        scan,
        'the newest file scanned once; the first one’s one run read by its row',
      ).toHaveBeenCalledTimes(1);
    } finally {
      scan.mockRestore();
      await reader.close();
    }
    expect(() => decodeLastRows(Buffer.of(1, 0, 0x80))).toThrow(/sluice.last_rows ends early/);
    expect(() => decodeLastRows(Buffer.of(9, 0))).toThrow(/unknown version 9/);
  });
});
