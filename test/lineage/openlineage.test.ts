/** The OpenLineage events sluice emits validate against the spec's own JSON schemas (vendored). */
import { describe, expect, it } from 'vitest';
import { datasetName, newRunId, runEvent, type SluiceRun } from '../../src/lineage/openlineage.ts';
import { openLineageValidator } from './openlineage-schema.ts';

const run: SluiceRun = {
  runId: newRunId(),
  job: 'pipeline.transform.country_summary',
  inputs: [{ url: 'file:///lake/landing/sales.parquet' }, { url: 's3://bucket/raw/sales.csv' }],
  outputs: [
    {
      url: 's3://bucket/lake/dev/staging/country_summary.parquet',
      fields: [
        { name: 'country', type: 'VARCHAR' },
        { name: 'total', type: 'DOUBLE' },
      ],
      rows: 3888,
      size: 41_234,
    },
  ],
  sql: 'select country, sum(v) as total from sales group by 1',
  parent: { runId: newRunId(), job: 'pipeline.run' },
};

describe('OpenLineage run events', () => {
  const validate = openLineageValidator();

  it('START, COMPLETE and FAIL validate against OpenLineage 2-0-2 and each facet against its schema', () => {
    for (const type of ['START', 'COMPLETE', 'FAIL'] as const) {
      const event = runEvent(
        type,
        run,
        new Date('2026-12-04T10:00:00Z'),
        new Error('disk full at /tmp?token=OLSECRET1'),
      ) as Record<string, unknown>;
      expect(validate(event), `${type}: ${JSON.stringify(event)}`).toEqual([]);
    }
  });

  it('a malformed event is caught by the same check (the validator is not vacuous)', () => {
    const event = runEvent('COMPLETE', run) as Record<string, unknown> & { run: { runId: string } };
    expect(validate({ ...event, run: { runId: 'not-a-uuid' } }).join()).toMatch(/runId|uuid/);
    expect(validate({ ...event, eventType: 'DONE' }).join()).toMatch(/eventType|allowed values/);
  });

  it('outputs carry statistics on COMPLETE only; errors are masked; datasets follow the naming convention', () => {
    const start = runEvent('START', run) as { outputs: { outputFacets?: unknown }[] };
    expect(start.outputs[0]?.outputFacets).toBeUndefined();
    const done = runEvent('COMPLETE', run) as {
      outputs: { outputFacets: { outputStatistics: { rowCount: number; size: number } } }[];
    };
    expect(done.outputs[0]?.outputFacets.outputStatistics).toMatchObject({ rowCount: 3888, size: 41_234 });
    const failed = JSON.stringify(
      runEvent('FAIL', run, new Date(), new Error('GET https://api/x?api_key=OLSECRET2 failed')),
    );
    expect(failed).not.toContain('OLSECRET2');
    expect(datasetName('file:///lake/a b.parquet')).toEqual({ namespace: 'file', name: '/lake/a b.parquet' });
    expect(datasetName('s3://bucket/lake/x.parquet')).toEqual({
      namespace: 's3://bucket',
      name: 'lake/x.parquet',
    });
  });
});
