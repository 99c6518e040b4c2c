/**
 * OpenLineage run events (https://openlineage.io, spec 2-0-2) for sluice's steps, so Marquez and
 * other collectors see the same chain the lineage log keeps: a START and a COMPLETE or FAIL per
 * run, jobs named by operation, datasets named by storage URL as the OpenLineage naming
 * convention spells them (`file` + path, `s3://bucket` + key), Parquet schemas as schema facets
 * and row counts as output statistics.
 */
import { randomUUID } from 'node:crypto';
import { maskSecretsInString } from '../secrets/mask.ts';
import { VERSION } from '../version.ts';

export const OPENLINEAGE_SCHEMA_URL = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent';
export const SLUICE_PRODUCER = `https://www.npmjs.com/package/sluice/v/${VERSION}`;
const FACET = 'https://openlineage.io/spec/facets';

export type RunEventType = 'START' | 'COMPLETE' | 'FAIL';

export interface DatasetRef {
  url: string;
  /** Column names and types (a Parquet file's schema). */
  fields?: { name: string; type: string }[];
  rows?: number;
  size?: number;
}

export interface SluiceRun {
  /** A UUID; `newRunId()` makes one. */
  runId: string;
  /** The operation, e.g. `pipeline.transform.country_summary`. */
  job: string;
  /** @default 'sluice' */
  namespace?: string;
  inputs: DatasetRef[];
  outputs: DatasetRef[];
  /** SQL of a model step. */
  sql?: string;
  /** The run this one is a step of (a pipeline run). */
  parent?: { runId: string; job: string; namespace?: string };
}

export const newRunId = (): string => randomUUID();

/** OpenLineage's dataset naming: `file` + absolute path; `s3://bucket` + key; a URL's origin + path. */
export function datasetName(url: string): { namespace: string; name: string } {
  const masked = maskSecretsInString(url);
  if (masked.startsWith('file://')) return { namespace: 'file', name: masked.slice('file://'.length) };
  const m = /^([a-z][a-z0-9+.-]*:\/\/[^/]*)\/?(.*)$/i.exec(masked);
  if (!m) return { namespace: 'sluice', name: masked };
  return { namespace: m[1] as string, name: (m[2] ?? '').replace(/\?.*$/, '') || '/' };
}

const facet = (name: string, version: string) => ({
  _producer: SLUICE_PRODUCER,
  _schemaURL: `${FACET}/${version}/${name}.json#/$defs/${name}`,
});

/** One run event as the spec's RunEvent; `error` for FAIL events. */
export function runEvent(type: RunEventType, run: SluiceRun, at: Date = new Date(), error?: unknown): object {
  const namespace = run.namespace ?? 'sluice';
  const runFacets: Record<string, object> = {
    processing_engine: { ...facet('ProcessingEngineRunFacet', '1-1-1'), version: VERSION, name: 'sluice' },
  };
  if (run.parent) {
    runFacets.parent = {
      ...facet('ParentRunFacet', '1-2-0'),
      run: { runId: run.parent.runId },
      job: { namespace: run.parent.namespace ?? namespace, name: run.parent.job },
    };
  }
  if (type === 'FAIL' && error !== undefined) {
    runFacets.errorMessage = {
      ...facet('ErrorMessageRunFacet', '1-0-1'),
      message: maskSecretsInString(error instanceof Error ? error.message : String(error)),
      programmingLanguage: 'JavaScript',
    };
  }
  const jobFacets: Record<string, object> = {
    jobType: {
      ...facet('JobTypeJobFacet', '2-0-4'),
      processingType: 'BATCH',
      integration: 'SLUICE',
      jobType: 'TASK',
    },
  };
  if (run.sql !== undefined) jobFacets.sql = { ...facet('SQLJobFacet', '1-1-0'), query: run.sql };
  return {
    eventType: type,
    eventTime: at.toISOString(),
    producer: SLUICE_PRODUCER,
    schemaURL: OPENLINEAGE_SCHEMA_URL,
    run: { runId: run.runId, facets: runFacets },
    job: { namespace, name: run.job, facets: jobFacets },
    inputs: run.inputs.map((d) => ({ ...datasetName(d.url), ...datasetFacets(d) })),
    // Outputs carry their statistics only once they exist (COMPLETE).
    outputs: run.outputs.map((d) => ({
      ...datasetName(d.url),
      ...datasetFacets(d),
      ...(type === 'COMPLETE' && (d.rows !== undefined || d.size !== undefined)
        ? {
            outputFacets: {
              outputStatistics: {
                ...facet('OutputStatisticsOutputDatasetFacet', '1-0-2'),
                ...(d.rows === undefined ? {} : { rowCount: d.rows }),
                ...(d.size === undefined ? {} : { size: d.size }),
              },
            },
          }
        : {}),
    })),
  };
}

function datasetFacets(d: DatasetRef): { facets?: object } {
  if (!d.fields) return {};
  return {
    facets: {
      schema: {
        ...facet('SchemaDatasetFacet', '1-2-0'),
        fields: d.fields.map((f, i) => ({ name: f.name, type: f.type, ordinal_position: i + 1 })),
      },
    },
  };
}
