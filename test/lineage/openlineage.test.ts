/** The OpenLineage events sluice emits validate against the spec's own JSON schemas (vendored). */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { datasetName, newRunId, runEvent, type SluiceRun } from '../../src/lineage/openlineage.ts';

const SCHEMAS = path.resolve(import.meta.dirname, '../fixtures/openlineage');

function validator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // A CommonJS module: its default export is the plugin itself, or carries it as `.default`.
  const addFormats = ((formatsModule as { default?: unknown }).default ?? formatsModule) as (
    a: Ajv2020,
  ) => void;
  addFormats(ajv);
  const schemas = readdirSync(SCHEMAS)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(path.join(SCHEMAS, f), 'utf8')) as { $id: string });
  for (const s of schemas) ajv.addSchema(s);
  const core = ajv.getSchema('https://openlineage.io/spec/2-0-2/OpenLineage.json');
  if (!core) throw new Error('OpenLineage.json did not load');
  /** Errors of the event against the core schema and of each facet against its own schema. */
  return (event: Record<string, unknown>): string[] => {
    const errors: string[] = [];
    if (!core(event)) errors.push(...(core.errors ?? []).map((x) => `${x.instancePath} ${x.message}`));
    const facets: [string, Record<string, unknown>][] = [];
    const collect = (where: string, group: unknown) => {
      for (const [name, facet] of Object.entries((group ?? {}) as Record<string, Record<string, unknown>>))
        facets.push([`${where}.${name}`, { [name]: facet }]);
    };
    const e = event as {
      run: { facets?: unknown };
      job: { facets?: unknown };
      inputs: { facets?: unknown }[];
      outputs: { facets?: unknown; outputFacets?: unknown }[];
    };
    collect('run', e.run.facets);
    collect('job', e.job.facets);
    e.inputs.forEach((d, i) => {
      collect(`inputs[${i}]`, d.facets);
    });
    e.outputs.forEach((d, i) => {
      collect(`outputs[${i}]`, d.facets);
      collect(`outputs[${i}].outputFacets`, d.outputFacets);
    });
    for (const [where, wrapped] of facets) {
      const [name, facet] = Object.entries(wrapped)[0] as [string, { _schemaURL: string }];
      const id = facet._schemaURL.replace(/#.*$/, '');
      const check = ajv.getSchema(id);
      if (!check) {
        errors.push(`${where}: no vendored schema ${id}`);
        continue;
      }
      if (!check({ [name]: facet }))
        errors.push(...(check.errors ?? []).map((x) => `${where}${x.instancePath} ${x.message}`));
    }
    return errors;
  };
}

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
  const validate = validator();

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
