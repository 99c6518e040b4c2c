/**
 * Issue #19: a poller → worker → time-series run, after which a segment's lineage lists the
 * objects (key + ETag) its points came from, `sluice lineage` shows them, `lineage verify` covers
 * the segments (and the poller's archives), and segments a compaction replaces are deleted, not
 * missing. The worker's batches are OpenLineage runs that validate against the spec.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LineageNode, lineageOf, readLineage, verifyLineage } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { TimeSeriesStore } from '../../src/timeseries/store.ts';
import { runCli, scratchDirs } from '../poller/fixtures.ts';
import { openLineageValidator } from './openlineage-schema.ts';

const scratch = scratchDirs('lineage-pwt');
const iso = (minute: number) => new Date(Date.UTC(2024, 0, 1, 0, minute)).toISOString();

function segmentsOf(store: string): string[] {
  const root = path.join(store, 'segments');
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.parquet'))
    .map((f) => path.join(root, f));
}

const objectsOf = (node: LineageNode): { url: string; etag?: string }[] =>
  (node.inputs ?? []).filter((i) => i.kind === 'object').map((i) => ({ url: i.url, etag: i.etag as string }));

describe('poller → worker → time-series lineage', { timeout: 120_000 }, () => {
  it('a segment lists the objects (key + ETag) its points came from; verify covers segments and archives', async () => {
    const dir = scratch('run');
    const inbox = path.join(dir, 'in');
    const store = path.join(dir, 'ts');
    const events = path.join(dir, 'openlineage.jsonl');
    const source = createFsStorage({ root: inbox });
    await source.put('a/t.json', JSON.stringify({ name: 'temp', value: 1, timestamp: iso(1) }));
    await source.put('b/h.csv', `name,value,timestamp\ntemp,2,${iso(2)}\ntemp,3,${iso(3)}\n`);
    await source.put('bad.json', '{"name": "temp", "value": ');
    const etags = new Map<string, string>();
    for (const key of ['a/t.json', 'b/h.csv', 'bad.json']) etags.set(key, (await source.stat(key)).etag);
    const q = ['--queue', `sqlite:${path.join(dir, 'q.db')}`, '--queue-name', 'lin'];

    const poll = await runCli(['poll', '--source', inbox, ...q, '--once', '--min-age', '0s']);
    expect(poll.code, poll.stderr).toBe(0);
    expect(JSON.parse(poll.stdout)).toMatchObject({ archived: 2, failed: 1, records: 3 });
    const work = await runCli(
      ['worker', ...q, '--handler', 'ingest_and_score_signal', '--store', store, '--drain'],
      { SLUICE_OPENLINEAGE_FILE: events },
    );
    expect(work.code, work.stderr).toBe(0);
    // The worker closed without compacting: this open replays its log and reads its sources back.
    const compact = await runCli(['ts', 'compact', store]);
    expect(compact.code, compact.stderr).toBe(0);

    const [segment, ...more] = segmentsOf(store);
    expect(more).toEqual([]);
    const node = await lineageOf(segment as string);
    expect(node).toMatchObject({ operation: 'timeseries.compact', status: 'committed', rows: 3 });
    const url = (key: string) => `file://${inbox}/${key}`;
    expect(objectsOf(node).sort((a, b) => a.url.localeCompare(b.url))).toEqual([
      { url: url('a/t.json'), etag: etags.get('a/t.json') },
      { url: url('b/h.csv'), etag: etags.get('b/h.csv') },
    ]);

    // The command shows them too.
    const shown = await runCli(['lineage', segment as string]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(url('a/t.json'));
    expect(shown.stdout).toContain(url('b/h.csv'));

    // The poller's archives and failed report name the object version each came from.
    const inboxLog = await readLineage(source);
    const archived = inboxLog.byOutput.get(url('processed/a/t.json'))?.at(-1);
    expect(archived?.intent).toMatchObject({
      operation: 'poller.archive',
      inputs: [{ kind: 'object', url: url('a/t.json'), etag: etags.get('a/t.json') }],
    });
    expect(archived?.commit?.sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const key of ['failed/bad.json', 'failed/bad.json.error.json']) {
      const w = inboxLog.byOutput.get(url(key))?.at(-1);
      expect(w?.intent.inputs, key).toEqual([
        { kind: 'object', url: url('bad.json'), etag: etags.get('bad.json'), size: 26 },
      ]);
      expect(w?.commit, key).toBeDefined();
    }
    expect((await verifyLineage(source)).corrupt).toEqual([]);

    // Verify covers the store's segments: all well, then one edited byte fails naming it.
    const ok = await runCli(['lineage', 'verify', store]);
    expect(ok.code, ok.stderr).toBe(0);
    const bytes = readFileSync(segment as string);
    bytes[10] = (bytes[10] as number) ^ 1;
    writeFileSync(segment as string, bytes);
    const bad = await runCli(['lineage', 'verify', store]);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toContain(path.basename(segment as string));
    bytes[10] = (bytes[10] as number) ^ 1;
    writeFileSync(segment as string, bytes);

    // A late point merges into the segment: the new one lists the old as an input, the old is `deleted`.
    const ts = await TimeSeriesStore.open(store, { compactIntervalMs: 0 });
    try {
      await ts.storeDataPoint('temp', iso(2.5), 9, null, {
        source: [{ kind: 'object', url: 'file:///nowhere/late.json', etag: '"e1"' }],
      });
      await ts.compact();
    } finally {
      await ts.close();
    }
    const [merged] = segmentsOf(store);
    const next = await lineageOf(merged as string);
    expect(objectsOf(next)).toEqual([{ url: 'file:///nowhere/late.json', etag: '"e1"' }]);
    const parent = next.inputs?.find((i) => i.kind === 'file');
    expect(parent?.url).toBe(`file://${segment}`);
    expect(objectsOf(parent as LineageNode).map((o) => o.url)).toEqual(
      expect.arrayContaining([url('a/t.json'), url('b/h.csv')]),
    );
    const report = await verifyLineage(createFsStorage({ root: store }));
    expect(report.corrupt).toEqual([]);
    expect(report.outputs.find((o) => o.output === `file://${segment}`)?.status).toBe('deleted');

    // One OpenLineage run per worker batch: START then COMPLETE, valid, inputs are the objects.
    const validate = openLineageValidator();
    const sent = readFileSync(events, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const e of sent) expect(validate(e)).toEqual([]);
    expect(sent.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    const done = sent[1];
    expect(done.job.name).toBe('sluice.worker.ingest_and_score_signal');
    expect(done.inputs.map((d: { name: string }) => d.name).sort()).toEqual([
      `${inbox}/a/t.json`,
      `${inbox}/b/h.csv`,
    ]);
    expect(done.outputs[0]).toMatchObject({ namespace: 'file', name: store });
    expect(done.outputs[0].outputFacets.outputStatistics.rowCount).toBe(3);
  });

  it('SLUICE_LINEAGE=0: the poller and the store write no records', async () => {
    const dir = scratch('off');
    const inbox = path.join(dir, 'in');
    const store = path.join(dir, 'ts');
    const source = createFsStorage({ root: inbox });
    await source.put('t.json', JSON.stringify({ name: 'temp', value: 1, timestamp: iso(1) }));
    const q = ['--queue', `sqlite:${path.join(dir, 'q.db')}`, '--queue-name', 'off'];
    const off = { SLUICE_LINEAGE: '0' };
    expect((await runCli(['poll', '--source', inbox, ...q, '--once', '--min-age', '0s'], off)).code).toBe(0);
    const work = await runCli(
      ['worker', ...q, '--handler', 'ingest_and_score_signal', '--store', store, '--drain'],
      off,
    );
    expect(work.code, work.stderr).toBe(0);
    expect((await runCli(['ts', 'compact', store], off)).code).toBe(0);
    expect(segmentsOf(store)).toHaveLength(1);
    expect(readdirSync(inbox)).not.toContain('_sluice');
    expect(readdirSync(store)).not.toContain('_sluice');
  });
});
