/**
 * The query parameters of `/api/ts/<store>/query`, read strictly: a value that cannot be read is
 * a 400 naming the parameter, never ignored.
 */
import type { AggregateFn } from '../../timeseries/index.ts';
import { parseTimestamp } from '../../timeseries/index.ts';
import { parseDuration } from '../../util/durations.ts';
import { HttpProblem } from '../http/problem.ts';

export const AGGREGATES: readonly AggregateFn[] = ['avg', 'min', 'max', 'sum', 'count', 'first', 'last'];

/**
 * `from`/`to`: ISO 8601 (UTC unless an offset is given), epoch ms (µs from 1e14 on, as the
 * library reads numbers), `now`, or a time relative to now such as `-1h` or `-30m`. Returned as
 * integer microseconds (a bigint, which the store never mistakes for milliseconds).
 */
export function timeParam(name: string, value: string | undefined): bigint | undefined {
  if (value === undefined || value === '') return undefined;
  const text = value.trim();
  const nowMicros = Date.now() * 1000;
  if (text === 'now') return BigInt(nowMicros);
  const relative = /^-\s*(\d+(?:\.\d+)?\s*(?:ms|s|m|h|d))$/i.exec(text);
  if (relative) return BigInt(Math.round(nowMicros - parseDuration(relative[1] as string) * 1000));
  const micros = parseTimestamp(/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text);
  if (micros === undefined)
    throw new HttpProblem(
      400,
      `${name} ${JSON.stringify(value.slice(0, 60))} is not a time: use ISO 8601, epoch ms, now or -1h`,
    );
  return BigInt(micros);
}

/** A positive whole number parameter, at most `max`. */
export function countParam(name: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max)
    throw new HttpProblem(
      400,
      `${name} must be a whole number from 1 to ${max}, got ${JSON.stringify(value.slice(0, 40))}`,
    );
  return n;
}

export function orderParam(value: string | undefined): 'asc' | 'desc' {
  if (value === undefined || value === '' || value === 'asc') return 'asc';
  if (value === 'desc') return 'desc';
  throw new HttpProblem(400, `order must be asc or desc, got ${JSON.stringify(value.slice(0, 40))}`);
}

export function aggregateParam(value: string): AggregateFn {
  if ((AGGREGATES as readonly string[]).includes(value)) return value as AggregateFn;
  throw new HttpProblem(
    400,
    `agg must be one of ${AGGREGATES.join(', ')}, got ${JSON.stringify(value.slice(0, 40))}`,
  );
}

/** `every`: a bucket width such as 30s, 1m, 1h (ms when a bare number). */
export function everyParam(value: string | undefined): number {
  if (value === undefined || value === '')
    throw new HttpProblem(400, 'agg needs every=<bucket width>, e.g. every=1m');
  let ms: number;
  try {
    ms = /^\d+$/.test(value) ? Number(value) : parseDuration(value);
  } catch {
    throw new HttpProblem(
      400,
      `every ${JSON.stringify(value.slice(0, 40))} is not a duration: use e.g. 30s, 1m, 1h`,
    );
  }
  if (!Number.isFinite(ms) || ms < 1) throw new HttpProblem(400, 'every must be at least 1ms');
  return ms;
}

/** Whether the client asked for CSV (`Accept: text/csv`, or `format=csv`). */
export function wantsCsv(accept: string | undefined, format: string | undefined): boolean {
  if (format !== undefined) {
    if (format === 'csv') return true;
    if (format === 'json') return false;
    throw new HttpProblem(400, `format must be json or csv, got ${JSON.stringify(format.slice(0, 40))}`);
  }
  return /\btext\/csv\b/i.test(accept ?? '');
}
