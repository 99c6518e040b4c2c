/**
 * `sluice storage gc` and the lineage log: an orphan segment the store's log names (a compaction
 * killed after its records were stored, before its manifest) gets a `delete` record, durable
 * before the file goes, so `lineage verify` reports it `deleted`, not `missing`; an orphan no
 * record names gets none; a log that cannot be read leaves the store's files alone.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, copyFileSync, existsSync, readdirSync, readFileSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineageLog, outputUrl } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { segmentFiles } from './helpers.ts';

const options = { compactIntervalMs: 0, compactPoints: 0 } as const;
const twoDaysAgo = () => (Date.now() - 48 * 3_600_000) / 1000;

/** A compacted store under `<root>/lake/ts`, two old orphan segments beside a live one: the first recorded. */
async function storeWithOrphans(root: string) {
  const dir = path.join(root, 'lake', 'ts');
  const store = await TimeSeriesStore.open(dir, options);
  await store.storeDataPoints(
    Array.from({ length: 300 }, (_, i) => ({ variable: `v${i % 3}`, timestamp: i * 60_000, value: i })),
  );
  await store.compact();
  await store.close();
  const { live } = await segmentFiles(dir);
  const liveFile = path.join(dir, live[0] as string);
  const key = (f: string) => path.relative(dir, f).split(path.sep).join('/');
  const recorded = path.join(path.dirname(liveFile), 'mx00bbbb-000000000001.parquet');
  const unrecorded = path.join(path.dirname(liveFile), 'mx00bbbb-000000000002.parquet');
  // As a compaction killed after its commit was stored, before the manifest: a recorded file.
  const storage = createFsStorage({ root: dir });
  const log = new LineageLog(storage);
  const bytes = readFileSync(liveFile);
  await log.record(
    { output: outputUrl(storage, key(recorded)), operation: 'timeseries.compact', inputs: [] },
    async () => {
      copyFileSync(liveFile, recorded);
      return { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
    },
  );
  await log.flush();
  copyFileSync(liveFile, unrecorded);
  for (const f of [recorded, unrecorded]) utimesSync(f, twoDaysAgo(), twoDaysAgo());
  return { dir, recorded, unrecorded, url: (f: string) => outputUrl(storage, key(f)) };
}

interface Verified {
  output: string;
  status: string;
}

describe('storage gc and lineage', { timeout: 120_000 }, () => {
  it('a recorded orphan segment gc removes is `deleted` in verify, not `missing`; an unrecorded one gets no record', async () => {
    const root = tempDir('gc-lineage');
    const { dir, recorded, unrecorded, url } = await storeWithOrphans(root);
    const before = await runSluice(['lineage', 'verify', dir, '--json']);
    expect(before.code, before.stderr).toBe(0);

    const gc = await runSluice(['storage', 'gc', root]);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stdout).toContain('(orphan-segment,');
    expect(existsSync(recorded) || existsSync(unrecorded)).toBe(false);

    const after = await runSluice(['lineage', 'verify', dir, '--json']);
    expect(after.code, after.stdout + after.stderr).toBe(0);
    const outputs = JSON.parse(after.stdout) as Verified[];
    expect(outputs.find((o) => o.output === url(recorded))?.status).toBe('deleted');
    expect(outputs.some((o) => o.output === url(unrecorded))).toBe(false);
    expect(outputs.filter((o) => o.status !== 'ok' && o.status !== 'deleted')).toEqual([]);
    const log = readdirSync(path.join(dir, '_sluice', 'lineage'), { recursive: true })
      .filter((f) => String(f).endsWith('.jsonl'))
      .map((f) => readFileSync(path.join(dir, '_sluice', 'lineage', String(f)), 'utf8'))
      .join('');
    expect(log).toContain('"kind":"delete"');
    expect(log).toContain('"operation":"storage.gc"');
    expect(log).not.toContain('mx00bbbb-000000000002');
  });

  it('a store whose lineage log cannot be read is skipped, saying why, and its orphans stay', async () => {
    const root = tempDir('gc-lineage');
    const { dir, recorded, unrecorded } = await storeWithOrphans(root);
    const logDir = path.join(dir, '_sluice', 'lineage');
    const first = readdirSync(logDir, { recursive: true }).find((f) => String(f).endsWith('.jsonl'));
    appendFileSync(path.join(logDir, String(first)), '{"torn":\n');
    const gc = await runSluice(['storage', 'gc', root]);
    expect(gc.code, gc.stderr).toBe(0);
    expect(gc.stderr).toMatch(
      /skipped time-series store lake\/ts: cannot record its deletes in the lineage log \(E021: .*\.jsonl line \d+/,
    );
    expect(existsSync(recorded) && existsSync(unrecorded)).toBe(true);
  });
});
