/**
 * Each DataWriter call is one OpenLineage run: a START, then a COMPLETE (or a FAIL with the
 * error), datasets named by storage URL, a schema facet and output statistics for Parquet. Every
 * event validates against the vendored spec and facet schemas; a real HTTP collector receives the
 * pairs; the config's settings (SLUICE_OPENLINEAGE_FILE) are used when the writer is given none.
 */
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { currentWrite, lineageUrl, readLineage } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { DataWriter } from '../../src/writer/index.ts';
import { tempDir } from '../helpers/tmp.ts';
import { openLineageValidator } from './openlineage-schema.ts';

interface Dataset {
  namespace: string;
  name: string;
  facets?: { schema?: { fields: { name: string; type: string }[] } };
  outputFacets?: { outputStatistics?: { rowCount?: number; size?: number } };
}
interface Event {
  eventType: string;
  eventTime: string;
  run: { runId: string; facets: { errorMessage?: { message: string } } };
  job: { namespace: string; name: string };
  inputs: Dataset[];
  outputs: Dataset[];
}

const dir = tempDir('openlineage-writer');
const validate = openLineageValidator();
const rows = Array.from({ length: 90 }, (_, i) => ({ id: i, region: i % 2 ? 'a' : 'b', v: i * 0.5 }));
const readEvents = (file: string): Event[] =>
  readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as Event);

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('OpenLineage events of writer calls', { timeout: 60_000 }, () => {
  it('START and COMPLETE per call, FAIL for a failed one; Parquet carries its schema and statistics; all validate', async () => {
    const taskDir = path.join(dir, 'task');
    const file = path.join(dir, 'events.jsonl');
    const writer = new DataWriter({ taskDir, lineage: true, openLineage: { file } });
    const parquet = await writer.writeDataframe(rows, 'sales', { format: 'parquet', partitionBy: 'region' });
    const single = await writer.writeDataframe(rows, 'flat', { format: 'parquet' });
    const csv = await writer.writeDataframe(rows, 'sales', { format: 'csv' });
    const failed = writer.writeDataframe([{ a: 1 }], 'bad/name', { format: 'csv' });
    await expect(failed).rejects.toThrow('bad/name');
    await writer.close();

    const events = readEvents(file);
    for (const e of events) expect(validate(e as never), JSON.stringify(e)).toEqual([]);
    expect(events.map((e) => e.eventType)).toEqual([
      'START',
      'COMPLETE',
      'START',
      'COMPLETE',
      'START',
      'COMPLETE',
      'START',
      'FAIL',
    ]);
    for (let i = 0; i < events.length; i += 2) {
      expect(events[i]?.run.runId).toBe(events[i + 1]?.run.runId);
      expect(events[i]?.job).toEqual({
        namespace: 'sluice',
        name: 'writer.writeDataframe',
        facets: expect.anything(),
      });
      expect((events[i]?.eventTime as string) <= (events[i + 1]?.eventTime as string)).toBe(true);
    }
    // A partitioned table is one dataset, its folder; the schema's partition column comes last.
    const done = events[1]?.outputs[0];
    expect(done).toMatchObject({ namespace: 'file', name: path.join(taskDir, 'output/sales') });
    expect(done?.facets?.schema?.fields.map((f) => [f.name, f.type])).toEqual([
      ['id', 'BIGINT'],
      ['v', 'DOUBLE'],
      ['region', 'VARCHAR'],
    ]);
    expect(done?.outputFacets?.outputStatistics).toEqual(
      expect.objectContaining({ rowCount: 90, size: parquet.sizeBytes }),
    );
    expect(events[3]?.outputs[0]).toMatchObject({ name: path.join(taskDir, 'output/flat.parquet') });
    expect(events[3]?.outputs[0]?.facets?.schema?.fields.map((f) => f.name)).toEqual(['id', 'region', 'v']);
    expect(events[3]?.outputs[0]?.outputFacets?.outputStatistics).toMatchObject({
      rowCount: 90,
      size: single.sizeBytes,
    });
    // CSV: statistics, no schema facet.
    expect(events[5]?.outputs[0]).toMatchObject({
      name: csv.location,
      outputFacets: { outputStatistics: { rowCount: 90, size: csv.sizeBytes } },
    });
    expect(events[5]?.outputs[0]?.facets).toBeUndefined();
    expect(events[7]?.run.facets.errorMessage?.message).toContain('bad/name');

    // The run of the events is the run of the lineage records.
    const index = await readLineage(createFsStorage({ root: taskDir }));
    const record = currentWrite(index, lineageUrl(csv.location));
    expect(record?.intent.run).toBe(events[4]?.run.runId);
  });

  it('a collector receives each call as a START/COMPLETE pair with the input file', async () => {
    const received: Event[] = [];
    const server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      received.push(JSON.parse(body) as Event);
      res.writeHead(201).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const taskDir = path.join(dir, 'collected');
      const writer = new DataWriter({ taskDir, lineage: true, openLineage: { url } });
      const input = { kind: 'file' as const, url: 'file:///data/raw/sales.csv', sha256: 'a'.repeat(64) };
      await writer.writeJson({ a: 1 }, 'doc', { inputs: [input] });
      await writer.close();
      expect(received.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
      for (const e of received) {
        expect(validate(e as never)).toEqual([]);
        expect(e.job.name).toBe('writer.writeJson');
        expect(e.inputs).toEqual([{ namespace: 'file', name: '/data/raw/sales.csv' }]);
      }
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('follows the config (SLUICE_OPENLINEAGE_FILE) when given no target; nothing is sent with lineage off', async () => {
    const file = path.join(dir, 'from-env.jsonl');
    vi.stubEnv('SLUICE_OPENLINEAGE_FILE', file);
    const writer = new DataWriter({ taskDir: path.join(dir, 'env') });
    await writer.writeDataframe(rows, 'sales', { format: 'jsonl' });
    await writer.close();
    expect(readEvents(file).map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);

    const offFile = path.join(dir, 'off.jsonl');
    vi.stubEnv('SLUICE_OPENLINEAGE_FILE', offFile);
    vi.stubEnv('SLUICE_LINEAGE', '0');
    const off = new DataWriter({ taskDir: path.join(dir, 'env-off') });
    await off.writeDataframe(rows, 'sales', { format: 'jsonl' });
    await off.close();
    expect(existsSync(offFile)).toBe(false);
  });
});
