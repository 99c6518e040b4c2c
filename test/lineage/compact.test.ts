/**
 * `compactLineage` / `sluice lineage compact`: each past day's log objects merged into one (put,
 * then delete the parts), today's folder untouched, the log reading the same before, after and in
 * the window between the put and the deletes.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FormatError } from '../../src/errors.ts';
import { flushIngestLineage, saveApiResponse } from '../../src/ingest/index.ts';
import {
  compactLineage,
  LINEAGE_PREFIX,
  LineageLog,
  lineageOf,
  readLineage,
  verifyLineage,
} from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import type { Storage } from '../../src/storage/types.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Log object keys per day folder. */
async function objectsByDay(storage: Storage): Promise<Record<string, string[]>> {
  const days: Record<string, string[]> = {};
  for await (const e of storage.list({ prefix: LINEAGE_PREFIX, recursive: true })) {
    if (e.type !== 'object') continue;
    const day = e.key.slice(LINEAGE_PREFIX.length, LINEAGE_PREFIX.length + 10);
    days[day] = [...(days[day] ?? []), e.key];
  }
  return days;
}

const TOMORROW = () => new Date(Date.now() + 86_400_000);

async function saves(storage: Storage, n: number) {
  const saved = [];
  for (let i = 0; i < n; i++) saved.push(await saveApiResponse('r', { i }, { storage, statusCode: 200 }));
  await flushIngestLineage(storage);
  return saved;
}

/** What a reader makes of the log: every write with its commit, and verify's statuses. */
async function readBack(storage: Storage) {
  const index = await readLineage(storage);
  const writes = index.writes.map((w) => [w.intent.id, w.intent.output, w.commit?.sha256, w.aborted]);
  return { writes, verify: (await verifyLineage(storage)).outputs };
}

describe('compactLineage', () => {
  it("N saves → one object per past day; lineage and verify read the same; today's folder untouched", async () => {
    const root = tempDir('lineage-compact');
    const storage = createFsStorage({ root });
    const saved = await saves(storage, 8);
    const before = await readBack(storage);
    const tree = await lineageOf(saved[3]?.path as string);
    const [today, objects] = Object.entries(await objectsByDay(storage))[0] as [string, string[]];
    expect(objects).toHaveLength(9);

    // Today is never merged: writers still add to it.
    expect(await compactLineage(storage, { now: new Date(`${today}T23:59:59.999Z`) })).toEqual({
      compacted: [],
      unchanged: 0,
      skipped: 1,
    });
    expect((await objectsByDay(storage))[today]).toEqual(objects);

    // Seen from tomorrow, it is a past day.
    const report = await compactLineage(storage, { now: TOMORROW() });
    expect(report.compacted).toMatchObject([{ day: today, objects: 9, records: 16 }]);
    expect(report.compacted[0]?.key).toMatch(
      new RegExp(`^_sluice/lineage/${today}/compacted-[0-9a-z]+-[0-9a-f]{8}\\.jsonl$`),
    );
    expect(Object.values(await objectsByDay(storage))).toEqual([[report.compacted[0]?.key]]);
    expect(await readBack(storage)).toEqual(before);
    expect(await lineageOf(saved[3]?.path as string)).toEqual(tree);
    expect(before.verify.map((o) => o.status)).toEqual(saved.map(() => 'ok'));

    // Again: nothing to merge.
    expect(await compactLineage(storage, { now: TOMORROW() })).toEqual({
      compacted: [],
      unchanged: 1,
      skipped: 0,
    });
  });

  it('a crash between the put and the deletes: both exist, the log reads the same, the next run merges them', async () => {
    const storage = createFsStorage({ root: tempDir('lineage-compact-crash') });
    await saves(storage, 5);
    const before = await readBack(storage);
    const [day, parts] = Object.entries(await objectsByDay(storage))[0] as [string, string[]];
    // The put only, as compaction writes it before it deletes.
    const text = (await Promise.all(parts.map(async (k) => (await storage.get(k)).toString()))).join('');
    await storage.put(`${LINEAGE_PREFIX}${day}/compacted-crash-00000000.jsonl`, text);
    expect(await readBack(storage)).toEqual(before);

    const report = await compactLineage(storage, { now: TOMORROW() });
    expect(report.compacted).toMatchObject([{ day, objects: parts.length + 1, records: 10 }]);
    expect(Object.values(await objectsByDay(storage)).map((keys) => keys.length)).toEqual([1]);
    expect(await readBack(storage)).toEqual(before);
  });

  it('a torn line stops it before anything is written or deleted (E021 naming the object and line)', async () => {
    const storage = createFsStorage({ root: tempDir('lineage-compact-torn') });
    await saves(storage, 3);
    const [day, parts] = Object.entries(await objectsByDay(storage))[0] as [string, string[]];
    const torn = parts[1] as string;
    const bytes = (await storage.get(torn)).toString();
    await storage.put(torn, bytes.slice(0, bytes.length - 9));
    const compacting = compactLineage(storage, { now: TOMORROW() });
    await expect(compacting).rejects.toThrow(FormatError);
    await expect(compactLineage(storage, { now: TOMORROW() })).rejects.toMatchObject({
      code: 'E021',
      message: expect.stringContaining(torn),
    });
    expect((await objectsByDay(storage))[day]).toEqual(parts);
  });
});

describe('sluice lineage compact', { timeout: 60_000 }, () => {
  it('merges past days, leaves today, reports counts; lineage verify says the same after', async () => {
    const root = tempDir('lineage-compact-cli');
    const storage = createFsStorage({ root });
    // Two past days written by a log whose clock says so, and today's saves.
    for (const day of ['2026-01-02', '2026-01-03']) {
      const log = new LineageLog(storage, { now: () => new Date(`${day}T10:00:00.000Z`) });
      for (let i = 0; i < 4; i++) {
        await log.record(
          { output: `${storage.url}/old/${day}-${i}.json`, operation: 'test', inputs: [] },
          async () => {
            await storage.put(`old/${day}-${i}.json`, `${i}\n`);
            return { sha256: createHash('sha256').update(`${i}\n`).digest('hex'), size: 2 };
          },
        );
      }
      await log.flush();
    }
    await saves(storage, 2);
    const verifyBefore = await runSluice(['lineage', 'verify', root, '--json']);
    const before = await objectsByDay(storage);
    expect(before['2026-01-02']).toHaveLength(5);

    const run = await runSluice(['lineage', 'compact', root]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toBe('2026-01-02  5 objects → 1  8 records\n2026-01-03  5 objects → 1  8 records\n');
    expect(run.stderr).toContain(
      '2 days compacted (10 objects → 2), 0 already one object, 1 not yet over (today)',
    );
    const after = await objectsByDay(storage);
    expect(after['2026-01-02']).toHaveLength(1);
    expect(after['2026-01-03']).toHaveLength(1);
    const today = Object.keys(before).find((d) => !d.startsWith('2026-01-0')) as string;
    expect(after[today]).toEqual(before[today]);
    const verifyAfter = await runSluice(['lineage', 'verify', root, '--json']);
    expect(verifyAfter.stdout).toBe(verifyBefore.stdout);
    expect(verifyAfter.code).toBe(verifyBefore.code);

    const json = await runSluice(['lineage', 'compact', root, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ compacted: [], unchanged: 2, skipped: 1 });
  });
});
