/**
 * IncrementalWriter on a real full disk (a small tmpfs, see helpers/full-disk.ts): a batch that
 * does not fit is refused with E012 naming the file, no line of it stays visible, every point
 * acknowledged before it is kept, and once space is freed the same writer appends again.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type DataPoint, IncrementalWriter, readDataPoints } from '../../src/ingest/index.ts';
import { verifyLineage } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { useFullDisk } from '../helpers/full-disk.ts';

const disk = useFullDisk('ingest-full', '8m');

async function values(root: string, dataset: string): Promise<unknown[]> {
  const storage = createFsStorage({ root });
  const out: unknown[] = [];
  for await (const p of readDataPoints(dataset, { storage })) out.push(p.value);
  await storage.close();
  return out;
}

const points = (from: number, n: number, pad = ''): DataPoint[] =>
  Array.from({ length: n }, (_, i) => ({
    timestamp: 1_700_000_000_000 + from + i,
    value: from + i,
    ...(pad ? { metadata: { pad } } : {}),
  }));

describe('IncrementalWriter on a full disk', () => {
  it('refuses a batch that does not fit with E012, shows none of it, keeps every acknowledged point and appends again once space is freed', async () => {
    const root = path.join(disk.dir, 'store');
    const storage = createFsStorage({ root });
    // The append's own take-back is what this tests: with lineage on, a disk this full refuses the
    // batch's lineage intent before the append is tried (E012 naming the log object, nothing written).
    const writer = await IncrementalWriter.open({
      storage,
      datasetId: 'full',
      batchSize: 100_000,
      lineage: false,
    });
    const file = storage.localPath!(writer.key);
    await writer.writeMany(points(0, 500));

    // Room for a few hundred of the next batch's 2,000 lines (about 100 bytes each): a short write.
    const seen = disk.fill(24 * 1024);
    expect(seen.code).toBe('ENOSPC');
    const before = await fsp.readFile(file);
    const refused = writer.writeMany(points(500, 2000, 'x'.repeat(40)));
    await expect(refused).rejects.toMatchObject({ code: 'E012' });
    await expect(refused).rejects.toThrow(`disk full writing ${file}`);
    // Nothing of the refused batch is in the file: not its whole lines, not a torn one.
    expect((await fsp.readFile(file)).equals(before)).toBe(true);

    // Completely full (but for the rest of the file's last page): one point bigger than a page.
    disk.fill();
    const single = writer.write({
      timestamp: 1_800_000_000_000,
      value: 'no room',
      metadata: { pad: 'y'.repeat(10_000) },
    });
    await expect(single).rejects.toMatchObject({ code: 'E012' });
    await expect(single).rejects.toThrow(`disk full writing ${file}`);
    expect((await fsp.readFile(file)).equals(before)).toBe(true);

    disk.free();
    await writer.write({ timestamp: 1_900_000_000_000, value: 'after' });
    await writer.writeMany(points(10_000, 3));
    await writer.close();
    await storage.close();

    const text = await fsp.readFile(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    // Every line is a whole point: the one acknowledged after the failure was not glued to a torn line.
    for (const line of text.split('\n').slice(0, -1)) expect(() => JSON.parse(line)).not.toThrow();
    expect(await values(root, 'full')).toEqual([
      ...Array.from({ length: 500 }, (_, i) => i),
      'after',
      10_000,
      10_001,
      10_002,
    ]);
  });

  it('with lineage on: a batch whose intent cannot be stored is refused (E012), no byte of it lands, and no record claims it', async () => {
    const root = path.join(disk.dir, 'lineage');
    const storage = createFsStorage({ root });
    const writer = await IncrementalWriter.open({
      storage,
      datasetId: 'full',
      batchSize: 100_000,
      lineage: true,
    });
    const file = storage.localPath!(writer.key);
    await writer.writeMany(points(0, 50));
    const before = await fsp.readFile(file);

    disk.fill();
    const refused = writer.writeMany(points(50, 50, 'x'.repeat(200)));
    await expect(refused).rejects.toMatchObject({ code: 'E012' });
    expect((await fsp.readFile(file)).equals(before)).toBe(true);

    disk.free();
    await writer.writeMany(points(100, 3));
    await writer.close();
    const report = await verifyLineage(storage);
    expect(report.corrupt).toEqual([]);
    expect(report.outputs.map((o) => o.status)).toEqual(['ok']);
    expect(await values(root, 'full')).toEqual([...Array.from({ length: 50 }, (_, i) => i), 100, 101, 102]);
    await storage.close();
  });
});
