/**
 * `validate` parses every model with DuckDB's own parser, as `run` will wrap it, so a model that
 * `run` would reject (a syntax error, two statements) fails `validate` with the model's name and
 * DuckDB's message. (Parse only: binding needs the landing data, which `run` reads.)
 */
import { duckdbReason, Engine } from '../engine/duckdb.ts';
import type { ModelDef } from './models.ts';

/** One line per model DuckDB cannot parse; empty when all parse. */
export async function modelSyntaxProblems(models: readonly ModelDef[]): Promise<string[]> {
  if (models.length === 0) return [];
  const engine = await Engine.create({ threads: 1 });
  try {
    const problems: string[] = [];
    for (const model of models) {
      try {
        // The same wrapping as run's `COPY (<sql>) TO …`, as a query json_serialize_sql accepts.
        const rows = await engine.query<{ j: string }>('SELECT json_serialize_sql($1::VARCHAR) AS j', [
          `SELECT * FROM (\n${model.sql}\n)`,
        ]);
        const parsed = JSON.parse(rows[0]?.j ?? '{}') as { error?: boolean; error_message?: string };
        if (parsed.error) problems.push(`model ${model.name} (${model.file}): ${parsed.error_message}`);
      } catch (error) {
        problems.push(`model ${model.name} (${model.file}): ${duckdbReason(error)}`);
      }
    }
    return problems;
  } finally {
    await engine.close();
  }
}
