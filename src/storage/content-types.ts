/**
 * Content types by file extension: the one table every put and sync uses when the caller gives
 * none, so an S3 object from sluice opens in a browser or a console as what it is (not
 * `application/octet-stream`), and the format modules name their types from it too.
 */

export const CONTENT_TYPES = {
  csv: 'text/csv; charset=utf-8',
  tsv: 'text/tab-separated-values; charset=utf-8',
  json: 'application/json',
  jsonl: 'application/x-ndjson',
  ndjson: 'application/x-ndjson',
  parquet: 'application/vnd.apache.parquet',
  arrow: 'application/vnd.apache.arrow.file',
  avro: 'application/avro',
  age: 'application/x-age-encryption',
  gz: 'application/gzip',
  zst: 'application/zstd',
  zip: 'application/zip',
  tar: 'application/x-tar',
  txt: 'text/plain; charset=utf-8',
  log: 'text/plain; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  html: 'text/html; charset=utf-8',
  xml: 'application/xml',
  yaml: 'application/yaml',
  yml: 'application/yaml',
  sql: 'application/sql',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  svg: 'image/svg+xml',
  pdf: 'application/pdf',
  duckdb: 'application/octet-stream',
} as const satisfies Record<string, string>;

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/**
 * The content type of a key by its extension (case-insensitive; `a.csv.gz` is gzip), or
 * `application/octet-stream` when unknown.
 */
export function contentTypeFor(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return DEFAULT_CONTENT_TYPE;
  return (CONTENT_TYPES as Record<string, string>)[name.slice(dot + 1).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}
