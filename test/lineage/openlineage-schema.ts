/** A check of OpenLineage events against the vendored spec 2-0-2 and each facet's own schema (ajv). */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formatsModule from 'ajv-formats';

const SCHEMAS = path.resolve(import.meta.dirname, '../fixtures/openlineage');

export function openLineageValidator() {
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
