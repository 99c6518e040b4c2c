/**
 * The first rows of a Parquet dataset for the dashboard, as JSON-safe values: DuckDB reads the
 * file (the local file itself, or a verified download of an S3 object into a private temp folder),
 * and BIGINTs, dates, blobs and nested values become what JSON can carry. Columns whose names say
 * they hold a secret are masked, as everywhere sluice shows data.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Environment } from '../../config/schema.ts';
import { Engine, quoteLiteral } from '../../engine/index.ts';
import type { Lake } from '../../pipeline/index.ts';
import { maskSensitiveData } from '../../secrets/mask.ts';
import { removeAtExit } from '../../util/exit-cleanup.ts';
import { formatBytes } from '../../util/sizes.ts';
import { HttpProblem } from '../http/problem.ts';

/** Rows a preview shows. */
export const PREVIEW_ROWS = 50;

/** Largest remote object a preview downloads: a click must not pull gigabytes to the server. */
export const MAX_REMOTE_PREVIEW_BYTES = 256 * 1024 * 1024;

export interface Preview {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** A value DuckDB's JS conversion gives, as JSON can hold it. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`;
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  return value;
}

export async function previewDataset(
  lake: Lake,
  env: Environment,
  file: { path: string; key: string; size: number },
): Promise<Preview> {
  const storage = lake.storage;
  const local = storage.capabilities.localFiles && storage.localPath;
  if (!local && file.size > MAX_REMOTE_PREVIEW_BYTES)
    throw new HttpProblem(
      413,
      `${env}/${file.path} is ${formatBytes(file.size)}; previews download at most ${formatBytes(MAX_REMOTE_PREVIEW_BYTES)} from remote storage: read it with DuckDB instead`,
    );
  const tmp = await mkdtemp(path.join(tmpdir(), 'sluice-preview-'));
  const forget = removeAtExit(tmp);
  const engine = await Engine.create({ threads: 1 });
  try {
    const parquet = quoteLiteral(await lake.localFile(storage, file.key, tmp));
    const columns = (
      await engine.query<{ column_name: string }>(`DESCRIBE SELECT * FROM read_parquet(${parquet})`)
    ).map((c) => c.column_name);
    const rows = await engine.query(`SELECT * FROM read_parquet(${parquet}) LIMIT ${PREVIEW_ROWS}`);
    return {
      columns,
      rows: rows.map((r) => maskSensitiveData(jsonSafe(r)) as Record<string, unknown>),
    };
  } finally {
    await engine.close();
    await rm(tmp, { recursive: true, force: true });
    forget();
  }
}
