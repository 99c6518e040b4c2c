/**
 * A segment's Parquet file, written by DuckDB from sorted, resolved columns: the columns go in
 * through data chunks (engine/append-columns.ts) and out through one COPY.
 */
import { randomBytes } from 'node:crypto';
import { appendColumns } from '../engine/append-columns.ts';
import { type Engine, quoteLiteral } from '../engine/duckdb.ts';
import { T_BOOL, T_NUMBER, T_STRING } from './codec.ts';
import type { Columns } from './columns.ts';
import type { LastPoint } from './manifest.ts';

/**
 * Whether the value column holds both 0 and -0. DuckDB's Parquet dictionary (1.5) files them as
 * one value, so a segment written with it would return whichever came first for both.
 */
function hasSignedZeros(cols: Columns): boolean {
  let signs = 0;
  for (let i = 0; i < cols.length; i++) {
    const t = cols.type[i];
    const v = cols.num[i] as number;
    if ((t === T_NUMBER || t === T_BOOL) && v === 0) signs |= 1 / v < 0 ? 1 : 2;
    if (signs === 3) return true;
  }
  return false;
}

/**
 * Each row's metadata as an index (1-based; 0 = none) into the distinct JSON texts of `cols`,
 * which are few: query results and buffers share one string object per distinct text.
 */
function metadataIds(cols: Columns): { ids: Uint32Array; texts: string[] } {
  const ids = new Uint32Array(cols.length);
  const texts: string[] = [];
  const index = new Map<string, number>();
  let last: string | undefined;
  let lastId = 0;
  for (let i = 0; i < cols.length; i++) {
    const m = cols.metas[i];
    if (m === undefined) continue;
    if (m !== last) {
      let id = index.get(m);
      if (id === undefined) {
        texts.push(m);
        id = texts.length;
        index.set(m, id);
      }
      last = m;
      lastId = id;
    }
    ids[i] = lastId;
  }
  return { ids, texts };
}

/** Longest string value plus metadata kept in a manifest entry's `last` (characters). */
const LAST_POINT_TEXT = 512;

/** `{ last }` for the entry of a segment of sorted `cols`, or nothing when its texts are long. */
export function lastPointOf(cols: Columns): { last?: LastPoint } {
  const i = cols.length - 1;
  if (i < 0) return {};
  const type = cols.type[i] as number;
  const str = type === T_STRING ? cols.strs[i] : undefined;
  const meta = cols.metas[i];
  if ((str?.length ?? 0) + (meta?.length ?? 0) > LAST_POINT_TEXT) return {};
  return {
    last: {
      type,
      num: cols.num[i] as number,
      ...(str !== undefined ? { str } : {}),
      ...(meta !== undefined ? { meta } : {}),
    },
  };
}

/** Writes `cols` (sorted and resolved) of `variable` as a zstd Parquet file at local path `file`. */
export async function writeSegmentFile(
  engine: Engine,
  file: string,
  variable: string,
  cols: Columns,
): Promise<void> {
  const table = `seg_${randomBytes(6).toString('hex')}`;
  await engine.withConnection(async (conn) => {
    // Metadata as an index into the segment's distinct JSON texts (mostly a handful), so one
    // string per distinct value crosses to DuckDB, not one per row; many distinct texts go
    // row by row (a lookup list in the SQL would be as long as the data).
    const { ids, texts } = metadataIds(cols);
    const byIndex = texts.length <= 256;
    await conn.run(
      `CREATE TABLE ${table} (micros DOUBLE, type UTINYINT, value DOUBLE, str VARCHAR, meta ${byIndex ? 'UINTEGER' : 'VARCHAR'})`,
    );
    try {
      await appendColumns(conn, table, cols.length, [
        { type: 'DOUBLE', values: cols.micros },
        { type: 'UTINYINT', values: cols.type },
        {
          type: 'DOUBLE',
          values: cols.num,
          isNull: (i) => cols.type[i] !== T_NUMBER && cols.type[i] !== T_BOOL,
        },
        { type: 'VARCHAR', values: cols.strs.map((s, i) => (cols.type[i] === T_STRING ? s : undefined)) },
        byIndex ? { type: 'UINTEGER', values: ids } : { type: 'VARCHAR', values: cols.metas },
      ]);
      // cols are already sorted and resolved; DuckDB keeps insertion order through a scan and
      // a projection (a list lookup, not a join), so no ORDER BY.
      const list = `[${texts.map(quoteLiteral).join(', ')}]::VARCHAR[]`;
      const meta = byIndex ? `(${list})[meta]` : 'meta';
      await conn.run(
        `COPY (SELECT ${quoteLiteral(variable)} AS variable, make_timestamp(micros::BIGINT) AS ts,
                      type, value, str, ${meta} AS meta
               FROM ${table})
         TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION V2, ROW_GROUP_SIZE 1000000${hasSignedZeros(cols) ? ', DICTIONARY_SIZE_LIMIT 0' : ''})`,
      );
    } finally {
      await conn.run(`DROP TABLE IF EXISTS ${table}`);
    }
  });
}
