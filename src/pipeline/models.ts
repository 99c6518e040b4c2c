/**
 * SQL model files: `models/<name>.sql` (subfolders too), with optional header comments `-- name: x` and
 * `-- description: …`. A model reads `landing.<source>` (every Parquet file of a source) and
 * `staging.<model>` (another model's output); those references are its dependencies.
 */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { TransformationError } from '../errors.ts';
import { decodeUtf8 } from '../util/utf8.ts';

export interface ModelDef {
  name: string;
  description: string;
  file: string;
  sql: string;
  /** Models this one reads (staging.*). */
  dependsOn: string[];
  /** Sources this one reads (landing.*). */
  sources: string[];
  /** sha256 of the model file's bytes (what lineage records name the model's version by). */
  sha256?: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** SQL with comments and string literals blanked out, so references inside them are ignored. */
function codeOnly(sql: string): string {
  return sql.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'/g, (m) => ' '.repeat(m.length));
}

export function findReferences(sql: string): { landing: string[]; staging: string[] } {
  const refs = { landing: new Set<string>(), staging: new Set<string>() };
  const re = /\b(landing|staging)\s*\.\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)/gi;
  for (const m of codeOnly(sql).matchAll(re)) {
    const layer = (m[1] as string).toLowerCase() as 'landing' | 'staging';
    const raw = m[2] as string;
    refs[layer].add(raw.startsWith('"') ? raw.slice(1, -1).replaceAll('""', '"') : raw);
  }
  return { landing: [...refs.landing].sort(), staging: [...refs.staging].sort() };
}

/**
 * The model's statement as `run` wraps it (`COPY (<sql>) TO …`): without trailing comments,
 * semicolons and blank space, which would otherwise comment out or break the wrapping.
 */
export function statementBody(text: string): string {
  // Comments blanked, string literals kept: the code ends at the last non-blank character.
  const code = text.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|'(?:[^']|'')*'/g, (m) =>
    m.startsWith("'") ? m : ' '.repeat(m.length),
  );
  let end = code.length;
  for (;;) {
    while (end > 0 && /\s/.test(code[end - 1] as string)) end--;
    if (end > 0 && code[end - 1] === ';') end--;
    else break;
  }
  return text.slice(0, end).trim();
}

export function parseModel(file: string, text: string): ModelDef {
  const header = (key: string) => new RegExp(`^\\s*--\\s*${key}\\s*:\\s*(.+?)\\s*$`, 'mi').exec(text)?.[1];
  const name = header('name') ?? path.basename(file).replace(/\.sql$/i, '');
  if (!IDENT.test(name)) {
    throw new TransformationError(
      `Model ${file}: name ${JSON.stringify(name)} must be letters, digits and _`,
      {
        context: { model: name, file },
      },
    );
  }
  const sql = statementBody(text);
  const refs = findReferences(sql);
  return {
    name,
    description: header('description') ?? '',
    file,
    sql,
    dependsOn: refs.staging.filter((d) => d !== name),
    sources: refs.landing,
  };
}

/**
 * Every `.sql` file under `dir`, subfolders included (dbt keeps `models/staging/stg_orders.sql`);
 * folders starting with `.` or `_` are skipped. Names must be unique across folders.
 */
export async function loadModels(dir: string): Promise<ModelDef[]> {
  let names: string[];
  try {
    names = (await fsp.readdir(dir, { recursive: true }))
      .filter((n) => n.toLowerCase().endsWith('.sql'))
      .filter((n) => !n.split(path.sep).some((part) => part.startsWith('.') || part.startsWith('_')))
      .sort();
  } catch (error) {
    throw new TransformationError(`Cannot read models directory ${dir}: ${(error as Error).message}`, {
      cause: error,
      context: { dir },
    });
  }
  const models: ModelDef[] = [];
  const seen = new Map<string, string>();
  for (const n of names) {
    const file = path.join(dir, n);
    const bytes = await fsp.readFile(file);
    // SQL that is not UTF-8 would run with U+FFFD in its literals: refused, naming the file.
    const sql = decodeUtf8(bytes);
    if (sql === undefined)
      throw new TransformationError(`Model ${file} is not valid UTF-8; save it as UTF-8`, {
        context: { file },
      });
    const model = {
      ...parseModel(file, sql),
      sha256: createHash('sha256').update(bytes).digest('hex'),
    };
    const other = seen.get(model.name);
    if (other) {
      throw new TransformationError(`Model name ${model.name} is defined twice: ${other} and ${file}`, {
        context: { model: model.name },
      });
    }
    seen.set(model.name, file);
    models.push(model);
  }
  return models;
}

/** Dependency order (Kahn, ties by name); unknown models and cycles throw E004. */
export function orderModels(models: ModelDef[]): ModelDef[] {
  const byName = new Map(models.map((m) => [m.name, m]));
  for (const m of models) {
    for (const d of m.dependsOn) {
      if (!byName.has(d)) {
        throw new TransformationError(
          `Model ${m.name} (${m.file}) reads staging.${d}, but no model ${d} exists`,
          {
            context: { model: m.name, missing: d },
          },
        );
      }
    }
  }
  const remaining = new Map(models.map((m) => [m.name, new Set(m.dependsOn)]));
  const out: ModelDef[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining]
      .filter(([, deps]) => deps.size === 0)
      .map(([n]) => n)
      .sort();
    if (ready.length === 0) {
      const cycle = [...remaining.keys()].sort();
      throw new TransformationError(`Models depend on each other in a cycle: ${cycle.join(', ')}`, {
        context: { models: cycle },
      });
    }
    for (const n of ready) {
      remaining.delete(n);
      out.push(byName.get(n) as ModelDef);
      for (const deps of remaining.values()) deps.delete(n);
    }
  }
  return out;
}

/** Every model downstream of `name` (transitively). */
export function downstreamOf(name: string, models: ModelDef[]): Set<string> {
  const out = new Set<string>();
  let frontier = [name];
  while (frontier.length > 0) {
    const next: string[] = [];
    for (const m of models) {
      if (!out.has(m.name) && m.dependsOn.some((d) => frontier.includes(d))) {
        out.add(m.name);
        next.push(m.name);
      }
    }
    frontier = next;
  }
  return out;
}
