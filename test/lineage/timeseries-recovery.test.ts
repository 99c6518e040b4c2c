/**
 * The sources of points a writer acknowledged and then lost with the process (kill -9) are read
 * back from the store's lineage log by the next writer, so the segment it compacts them into still
 * lists them; a writer with lineage off leaves no record and its segment lists nothing.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lineageOf, verifyLineage } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { TimeSeriesStore } from '../../src/timeseries/store.ts';
import { tempDir } from '../helpers/tmp.ts';

const STORE_MODULE = new URL('../../src/timeseries/store.ts', import.meta.url).pathname;

/** A writer that appends with sources, waits for their records, and is killed before compacting. */
function killedWriter(store: string, env: NodeJS.ProcessEnv = {}): void {
  const script = `
    import { TimeSeriesStore } from ${JSON.stringify(STORE_MODULE)};
    const ts = await TimeSeriesStore.open(${JSON.stringify(store)}, { compactIntervalMs: 0 });
    for (let i = 0; i < 6; i++)
      await ts.storeDataPoint('temp', Date.UTC(2024, 0, 1, 0, i), i, null, {
        source: [{ kind: 'object', url: 'file:///nowhere/in/o' + (i % 3) + '.json', etag: '"e' + (i % 3) + '"' }],
      });
    await new Promise((r) => setTimeout(r, 400));
    process.kill(process.pid, 'SIGKILL');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    env: { ...process.env, SLUICE_LOG_LEVEL: 'error', ...env },
    encoding: 'utf8',
  });
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

async function compactAndTrace(store: string) {
  const ts = await TimeSeriesStore.open(store, { compactIntervalMs: 0 });
  try {
    expect((await ts.queryAll('temp')).length).toBe(6);
    await ts.compact();
  } finally {
    await ts.close();
  }
  const dir = path.join(store, 'segments');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.parquet'));
  expect(files).toHaveLength(1);
  return lineageOf(path.join(dir, files[0] as string), { depth: 1 });
}

describe('time-series provenance across a kill -9', { timeout: 60_000 }, () => {
  it('the next writer reads the lost writer’s sources back: the segment lists every object', async () => {
    const store = path.join(tempDir('ts-prov-kill'), 'ts');
    killedWriter(store);
    const node = await compactAndTrace(store);
    expect(node.operation).toBe('timeseries.compact');
    expect((node.inputs ?? []).map((i) => `${i.url} ${i.etag}`).sort()).toEqual([
      'file:///nowhere/in/o0.json "e0"',
      'file:///nowhere/in/o1.json "e1"',
      'file:///nowhere/in/o2.json "e2"',
    ]);
    // The log files' records are explained (deleted once compacted), the segment is ok.
    const report = await verifyLineage(createFsStorage({ root: store }));
    expect(report.corrupt).toEqual([]);
    expect(report.outputs.filter((o) => o.output.endsWith('.log')).map((o) => o.status)).toEqual(['deleted']);
  });

  it('SLUICE_LINEAGE=0 for the lost writer: no records, the segment lists no source', async () => {
    const store = path.join(tempDir('ts-prov-off'), 'ts');
    killedWriter(store, { SLUICE_LINEAGE: '0' });
    const node = await compactAndTrace(store);
    expect(node.inputs ?? []).toEqual([]);
  });
});
