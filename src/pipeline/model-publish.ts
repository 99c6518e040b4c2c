/**
 * The two halves of a model's run. `buildModel` runs its SQL into a temp Parquet file (that
 * file is what later models read as `staging.<name>`); `publishModels` then declares every built
 * model's outputs in one batch of lineage intents — each staging file with the landing files, the
 * staging files and the model text it was made from — and publishes them, each put atomic. A model
 * whose publish fails takes what was built from it down too: nothing in staging claims an input
 * that never reached the lake.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Environment } from '../config/schema.ts';
import { type DuckDBConnection, quoteIdent, quoteLiteral } from '../engine/duckdb.ts';
import { type LineageInput, lineageUrl } from '../lineage/index.ts';
import { hashLocalFile } from './hash-file.ts';
import type { Lake } from './lake.ts';
import type { LakeLineage, PlannedOutput } from './lineage.ts';
import { type ColumnRecord, recordKey, writeLoadRecord } from './load-records.ts';
import type { ModelDef } from './models.ts';
import { publishParquet } from './publish-parquet.ts';
import type { ModelOutcome } from './transformer.ts';

export interface BuiltModel {
  /** The temp Parquet file. */
  out: string;
  rows: number;
  bytes: number;
  sha256: string;
  columns: ColumnRecord[];
}

export async function buildModel(
  conn: DuckDBConnection,
  model: ModelDef,
  tmpDir: string,
): Promise<BuiltModel> {
  const out = path.join(tmpDir, `${model.name}.parquet`);
  const res = await conn.runAndReadAll(
    `COPY (\n${model.sql}\n) TO ${quoteLiteral(out)} (FORMAT parquet, COMPRESSION zstd)`,
  );
  const rows = Number((res.getRowObjectsJS()[0] as { Count: bigint }).Count);
  await conn.run(
    `CREATE VIEW staging.${quoteIdent(model.name)} AS SELECT * FROM read_parquet(${quoteLiteral(out)})`,
  );
  const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(out)})`);
  const columns = (desc.getRowObjectsJS() as { column_name: string; column_type: string }[]).map((c) => ({
    name: c.column_name,
    type: c.column_type,
  }));
  // Hashed once here: the lineage inputs of later models and the publish both use it.
  const { size: bytes, sha256 } = await hashLocalFile(out);
  return { out, rows, bytes, sha256, columns };
}

export interface PublishContext {
  lake: Lake;
  env: Environment;
  lineage: LakeLineage;
  /** In dependency order. */
  models: ModelDef[];
  built: Map<string, BuiltModel>;
  /** Per source, its landing files as the models read them. */
  sources: Map<string, LineageInput[]>;
  /** The build outcomes, completed here (rows, bytes; failed or skipped when a publish fails). */
  outcomes: Omit<ModelOutcome, 'final'>[];
}

export async function publishModels(ctx: PublishContext): Promise<void> {
  const { lake, env, lineage, built } = ctx;
  const ready = ctx.models.filter((m) => built.has(m.name));
  const planned: PlannedOutput[] = ready.flatMap((m) => [
    { key: `${env}/staging/${m.name}.parquet`, operation: 'pipeline.transform', inputs: modelInputs(ctx, m) },
    {
      key: lake.internalKey(env, recordKey(`staging/${m.name}.parquet`)),
      operation: 'pipeline.transform',
      inputs: [],
    },
  ]);
  const batch = await lineage.begin(planned);
  const unpublished = new Set<string>();
  for (const [i, model] of ready.entries()) {
    const outcome = ctx.outcomes.find((o) => o.model === model.name) as Omit<ModelOutcome, 'final'>;
    const b = built.get(model.name) as BuiltModel;
    const [file, record] = [batch.at(2 * i), batch.at(2 * i + 1)];
    const rel = `staging/${model.name}.parquet`;
    const upstream = model.dependsOn.find((d) => unpublished.has(d));
    if (upstream) {
      const why = `upstream model ${upstream} was not published`;
      file.abort(why);
      record.abort(why);
      Object.assign(outcome, { status: 'skipped', because: upstream });
      unpublished.add(model.name);
      continue;
    }
    const started = performance.now();
    try {
      await publishParquet(lake.env(env), rel, b.out, b.rows, b.sha256);
      file.commit({ sha256: b.sha256, size: b.bytes, rows: b.rows, fields: b.columns });
      const written = await writeLoadRecord(lake.internal(env), {
        path: rel,
        name: model.name,
        file: model.file,
        rows: b.rows,
        bytes: b.bytes,
        sha256: b.sha256,
        columns: b.columns,
        description: model.description,
        dependsOn: model.dependsOn,
        loadedAt: new Date().toISOString(),
      });
      record.commit(written);
      Object.assign(outcome, { rows: b.rows, bytes: b.bytes });
    } catch (error) {
      file.abort(error);
      record.abort(error);
      const message = ((error as Error).message ?? String(error)).split('\n')[0] ?? '';
      Object.assign(outcome, { status: 'failed', error: `${message} (publishing ${rel})` });
      unpublished.add(model.name);
    }
    outcome.durationMs += performance.now() - started;
  }
}

/** What a model's output was made from: the landing files of its sources, the models it reads, its SQL. */
function modelInputs(ctx: PublishContext, model: ModelDef): LineageInput[] {
  if (!ctx.lineage.enabled) return [];
  const landing = model.sources.flatMap((s) => ctx.sources.get(s) ?? []);
  const staging = model.dependsOn.map((d) => {
    const b = ctx.built.get(d) as BuiltModel;
    return ctx.lineage.fileInput(`${ctx.env}/staging/${d}.parquet`, b.sha256, b.bytes);
  });
  const sha256 = model.sha256 ?? createHash('sha256').update(model.sql).digest('hex');
  return [...landing, ...staging, { kind: 'model', name: model.name, url: lineageUrl(model.file), sha256 }];
}
