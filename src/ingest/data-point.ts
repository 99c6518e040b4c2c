/** One incremental data point: validation and its JSONL line. */
import { ValidationError } from '../errors.ts';
import { isSensitiveName, maskSensitiveData, mayHoldSecrets } from '../secrets/mask.ts';
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

// The last flat metadata serialised (see flatMetadataJson), and scratch arrays for the next one.
let lastKeys: string[] = [];
let lastValues: unknown[] = [];
let lastJson: string | undefined;
/** `,"metadata":${lastJson}}\n`, made when first needed. */
let lastTail: string | undefined;
let scratchKeys: string[] = [];
let scratchValues: unknown[] = [];

/**
 * The JSON of `meta` in the common case — a plain object whose own values are strings, numbers,
 * booleans or null, with no sensitive key and no string that masking could change — or
 * undefined for anything else (the caller masks and serialises it in full). The result equals
 * `JSON.stringify(maskSensitiveData(meta))`, because masking leaves such an object as it is.
 *
 * Points usually carry the same metadata, so the last result is reused when the keys and values
 * read now are the ones it was built from. That is a comparison by content (=== on each key and
 * primitive value, in order), never by object identity, so an object mutated between two points
 * is serialised afresh; it costs one pass over the properties instead of a JSON.stringify.
 */
function flatMetadataJson(meta: object): string | undefined {
  const proto = Object.getPrototypeOf(meta);
  if ((proto !== Object.prototype && proto !== null) || 'toJSON' in meta) return undefined;
  let n = 0;
  let same = true;
  for (const key in meta) {
    if (!Object.hasOwn(meta, key)) return undefined;
    const value = (meta as Record<string, unknown>)[key];
    const type = typeof value;
    if (value !== null && type !== 'string' && type !== 'number' && type !== 'boolean') return undefined;
    scratchKeys[n] = key;
    scratchValues[n] = value;
    if (same && (lastKeys[n] !== key || lastValues[n] !== value)) same = false;
    n++;
  }
  if (same && n === lastKeys.length && lastJson !== undefined) return lastJson;
  let json = '{';
  for (let i = 0; i < n; i++) {
    const key = scratchKeys[i]!;
    const value = scratchValues[i];
    if (isSensitiveName(key) || (typeof value === 'string' && mayHoldSecrets(value))) return undefined;
    json += `${i === 0 ? '' : ','}${JSON.stringify(key)}:${JSON.stringify(value)}`;
  }
  json += '}';
  scratchKeys.length = n;
  scratchValues.length = n;
  [lastKeys, scratchKeys] = [scratchKeys, lastKeys];
  [lastValues, scratchValues] = [scratchValues, lastValues];
  lastJson = json;
  lastTail = undefined;
  return json;
}

// toISOString is slow relative to everything else per point; points come in bursts within the
// same second, so the part up to the seconds is reused.
let cachedSecond = Number.NaN;
let cachedPrefix = '';
/** `{"timestamp":"2025-01-01T12:00:00.` for cachedSecond. */
let cachedHead = '';

/** Caches the ISO prefix of a second; false for years outside 0000–9999. */
function cacheSecond(second: number): boolean {
  if (second === cachedSecond) return true;
  const iso = new Date(second * 1000).toISOString(); // 2025-01-01T12:00:00.000Z
  if (iso.length !== 24) return false;
  cachedSecond = second;
  cachedPrefix = iso.slice(0, 20);
  cachedHead = `{"timestamp":"${cachedPrefix}`;
  return true;
}

/** `000Z","value":` … `999Z","value":`: the rest of a line's timestamp, by millisecond. */
const MILLIS_THEN_VALUE = Array.from(
  { length: 1000 },
  (_, ms) => `${String(ms).padStart(3, '0')}Z","value":`,
);

function isoFromMs(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (!cacheSecond(second)) return new Date(ms).toISOString();
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
  const { timestamp: ts, value, metadata } = point;
  // The common point (integer epoch ms or a Date, a finite number, no metadata or flat metadata
  // with nothing to mask) is four cached or cheap pieces: this runs once per point.
  const ms = typeof ts === 'number' ? ts : ts instanceof Date ? ts.getTime() : Number.NaN;
  if (
    Number.isInteger(ms) &&
    Math.abs(ms) <= 8.64e15 &&
    typeof value === 'number' &&
    Number.isFinite(value)
  ) {
    const second = Math.floor(ms / 1000);
    const tail = metadata === undefined ? '}\n' : flatMetadataTail(metadata);
    if (tail !== undefined && cacheSecond(second))
      return cachedHead + MILLIS_THEN_VALUE[ms - second * 1000]! + String(value) + tail;
  }
  const timestamp = timestampIso(ts);
  checkValue(value, where);
  // Built by hand (same bytes as JSON.stringify of the record).
  const json = typeof value === 'number' ? String(value) : stringifyPlain(value);
  if (metadata === undefined) return `{"timestamp":"${timestamp}","value":${json}}\n`;
  const meta =
    (metadata !== null && typeof metadata === 'object' ? flatMetadataJson(metadata) : undefined) ??
    stringifyPlain(maskSensitiveData(metadata));
  return `{"timestamp":"${timestamp}","value":${json},"metadata":${meta}}\n`;
}

/** `,"metadata":<json>}\n` for flat metadata (see flatMetadataJson), cached with it. */
function flatMetadataTail(metadata: unknown): string | undefined {
  if (metadata === null || typeof metadata !== 'object') return undefined;
  const json = flatMetadataJson(metadata);
  if (json === undefined) return undefined;
  lastTail ??= `,"metadata":${json}}\n`;
  return lastTail;
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
