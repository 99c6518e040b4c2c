/**
 * A pipeline run reported to an OpenLineage collector (#19): `sluice demo` with
 * SLUICE_OPENLINEAGE_URL set sends a real local collector a START and a COMPLETE for the run and
 * for each step (ingest, transform, the promotion), children naming their parent run; every event
 * validates against the spec; the same events go to SLUICE_OPENLINEAGE_FILE.
 */
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { openLineageValidator } from './openlineage-schema.ts';

interface Event {
  eventType: string;
  eventTime: string;
  run: { runId: string; facets: { parent?: { run: { runId: string }; job: { name: string } } } };
  job: { name: string };
  inputs: { namespace: string; name: string }[];
  outputs: {
    namespace: string;
    name: string;
    facets?: { schema?: { fields: { name: string; type: string; ordinal_position: number }[] } };
    outputFacets?: { outputStatistics?: { rowCount?: number } };
  }[];
}

/** The columns of a Parquet file as DuckDB reads its footer. */
async function footerColumns(file: string): Promise<{ name: string; type: string }[]> {
  const engine = await Engine.create({ threads: 1 });
  try {
    const rows = await engine.query<{ column_name: string; column_type: string }>(
      `DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(file)})`,
    );
    return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
  } finally {
    await engine.close();
  }
}

describe('OpenLineage export of a pipeline run', { timeout: 180_000 }, () => {
  it('a collector gets START/COMPLETE pairs for the run and each step, valid against the spec', async () => {
    const received: Event[] = [];
    const server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      if (req.url === '/api/v1/lineage' && req.headers.authorization === 'Bearer OLPIPEKEY1')
        received.push(JSON.parse(body));
      res.writeHead(req.url === '/api/v1/lineage' ? 201 : 404).end();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const dir = tempDir('ol-pipeline');
    const file = path.join(dir, 'events.jsonl');
    try {
      const run = await runSluice(['demo', '--scale', '0.1'], {
        cwd: dir,
        env: {
          SLUICE_OPENLINEAGE_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          SLUICE_OPENLINEAGE_API_KEY: 'OLPIPEKEY1',
          SLUICE_OPENLINEAGE_FILE: file,
        },
      });
      expect(run.code, run.stderr).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
    const validate = openLineageValidator();
    for (const e of received) expect(validate(e as never), JSON.stringify(e)).toEqual([]);
    const byRun = new Map<string, Event[]>();
    for (const e of received) byRun.set(e.run.runId, [...(byRun.get(e.run.runId) ?? []), e]);
    for (const [, events] of byRun) expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE']);
    const jobs = [...byRun.values()].map((events) => events[0]?.job.name).sort();
    expect(jobs).toEqual(
      expect.arrayContaining([
        'pipeline.ingest',
        'pipeline.promote.dev-to-qa',
        'pipeline.run',
        'pipeline.transform',
      ]),
    );
    const parent = received.find((e) => e.job.name === 'pipeline.run')?.run.runId;
    const transform = received.find((e) => e.job.name === 'pipeline.transform' && e.eventType === 'COMPLETE');
    expect(transform?.run.facets.parent?.run.runId).toBe(parent);
    expect(transform?.inputs.some((d) => d.namespace === 'file' && d.name.includes('/landing/'))).toBe(true);
    expect(transform?.outputs.some((d) => (d.outputFacets?.outputStatistics?.rowCount ?? 0) > 0)).toBe(true);
    // Every Parquet output carries its schema (from the footer), the staging file's as DuckDB reads it.
    const completes = received.filter((e) => e.eventType === 'COMPLETE');
    const outputNamed = (job: string, suffix: string) =>
      completes.find((e) => e.job.name === job)?.outputs.find((d) => d.name.endsWith(suffix));
    const staging = outputNamed('pipeline.transform', '/dev/staging/sdg_indicators.parquet');
    const fields = staging?.facets?.schema?.fields ?? [];
    expect(fields.map((f) => f.name)).toEqual(['indicator_id', 'country_id', 'year', 'value']);
    expect(fields.map((f) => f.ordinal_position)).toEqual([1, 2, 3, 4]);
    const onDisk = await footerColumns(staging?.name as string);
    expect(fields.map((f) => ({ name: f.name, type: f.type }))).toEqual(onDisk);
    expect(onDisk.find((c) => c.name === 'value')?.type).toBe('DECIMAL(18,4)');
    const landing = outputNamed('pipeline.ingest', '/dev/landing/sdg/SDG_DATA.parquet');
    expect(landing?.facets?.schema?.fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['indicator_id', 'country_id', 'year', 'value']),
    );
    const parquetOutputs = completes
      .filter((e) => e.job.name.startsWith('pipeline.'))
      .flatMap((e) => e.outputs)
      .filter((d) => d.name.endsWith('.parquet'));
    expect(parquetOutputs.some((d) => d.name.includes('/_sluice/qa/versions/'))).toBe(true);
    expect(parquetOutputs.some((d) => d.name.includes('/qa/staging/'))).toBe(true);
    for (const d of parquetOutputs) expect(d.facets?.schema?.fields.length ?? 0, d.name).toBeGreaterThan(0);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(received.length);
    expect(readFileSync(file, 'utf8')).not.toContain('OLPIPEKEY1');
    // The columns go to the events only: the lineage log's records stay as they were.
    const log = readdirSync(path.join(dir, 'sluice-demo/lake/_sluice/lineage'), { recursive: true });
    for (const f of log.filter((n) => String(n).endsWith('.jsonl')))
      expect(
        readFileSync(path.join(dir, 'sluice-demo/lake/_sluice/lineage', String(f)), 'utf8'),
      ).not.toContain('indicator_id');
  });
});
