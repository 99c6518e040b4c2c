/** One incremental data point: validation and its JSONL line. */
import { ValidationError } from '../errors.ts';
import { isSensitiveName, maskSensitiveData } from '../secrets/mask.ts';
import { toDate } from './stamp.ts';

export interface DataPoint {
  /** Date, epoch ms or ISO 8601 (zone-less is UTC); stored as ISO 8601 UTC with milliseconds. */
  timestamp: Date | string | number;
  /** Any JSON value; numbers must be finite. */
  value: unknown;
  /** Masked before it is stored. */
  metadata?: Record<string, unknown>;
}

function checkValue(value: unknown, where: string): void {
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new ValidationError(`Invalid value ${value} for ${where}: numbers must be finite`, {
      context: { where },
    });
  }
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    throw new ValidationError(`Invalid value for ${where}: ${typeof value} is not JSON`, {
      context: { where },
    });
  }
}

/** True when masking would change `value`: a sensitive key, or a string that may hold a URL secret. */
function needsMasking(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('=') || value.includes('@');
  if (value === null || typeof value !== 'object' || depth > 32) return depth > 32;
  if (Array.isArray(value)) return value.some((v) => needsMasking(v, depth + 1));
  if (value instanceof Date) return false;
  for (const key in value) {
    if (isSensitiveName(key) || needsMasking((value as Record<string, unknown>)[key], depth + 1)) return true;
  }
  return false;
}

// toISOString is slow relative to everything else per point; points come in bursts within the
// same second, so the part up to the seconds is reused.
let cachedSecond = Number.NaN;
let cachedPrefix = '';

function isoFromMs(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = new Date(second * 1000).toISOString(); // 2025-01-01T12:00:00.000Z
    if (iso.length !== 24) return new Date(ms).toISOString(); // years outside 0000–9999
    cachedSecond = second;
    cachedPrefix = iso.slice(0, 20);
  }
  const millis = ms - second * 1000;
  return `${cachedPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

function timestampIso(ts: Date | string | number): string {
  // Fast paths for the common shapes; toDate validates and reads zone-less strings as UTC.
  if (typeof ts === 'number' && Number.isInteger(ts) && Math.abs(ts) <= 8.64e15) return isoFromMs(ts);
  if (typeof ts === 'number' && Number.isFinite(ts)) return toDate(ts).toISOString();
  if (ts instanceof Date && !Number.isNaN(ts.getTime())) return isoFromMs(ts.getTime());
  return toDate(ts).toISOString();
}

/** The JSONL line for one point: `{"timestamp":"…Z","value":…,"metadata":…}\n`. */
export function dataPointLine(point: DataPoint, where = 'data point'): string {
  const timestamp = timestampIso(point.timestamp);
  checkValue(point.value, where);
  let metadata: unknown;
  if (point.metadata !== undefined) {
    // Masking copies the whole object; most metadata has nothing to mask, so check first.
    metadata = needsMasking(point.metadata) ? maskSensitiveData(point.metadata) : point.metadata;
  }
  // Built by hand (same bytes as JSON.stringify of the record): this runs once per point.
  const value = typeof point.value === 'number' ? String(point.value) : stringifyPlain(point.value);
  const meta = metadata === undefined ? '' : `,"metadata":${stringifyPlain(metadata)}`;
  return `{"timestamp":"${timestamp}","value":${value}${meta}}\n`;
}

function stringifyPlain(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  }
}

/** A point as stored and read back. */
export interface StoredPoint {
  timestamp: string;
  value: unknown;
  metadata?: Record<string, unknown>;
}
