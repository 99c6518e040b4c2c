/**
 * File stamps: UTC with milliseconds, ISO 8601 basic form (`20250101T120000123Z`), so names sort
 * in time order as plain strings. A name is `<dataset>_<stamp>[-<suffix>].<ext>`; the suffix
 * makes saves in the same millisecond distinct: `-1`, `-2`, … on storages with atomic create
 * (the first free one wins), `-r<hex>` (random) on S3, where create-if-absent is not atomic.
 */
import { ValidationError } from '../errors.ts';

const STAMP = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/;

export function formatStamp(date: Date): string {
  const iso = date.toISOString(); // 2025-01-01T12:00:00.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${iso.slice(20, 23)}Z`;
}

export function parseStamp(stamp: string): Date | undefined {
  const m = STAMP.exec(stamp);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  const date = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, +ms!));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * A caller's timestamp as a Date: a Date, epoch milliseconds, or an ISO 8601 string. A string
 * without a zone (the seed's `"2025-01-01T12:00:00"`) is read as UTC, never as local time.
 */
export function toDate(timestamp: Date | string | number, what = 'timestamp'): Date {
  let date: Date;
  if (timestamp instanceof Date) date = new Date(timestamp.getTime());
  else if (typeof timestamp === 'number') date = new Date(timestamp);
  else if (typeof timestamp === 'string') {
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(timestamp.trim());
    const isDateOnly = /^\d{4}-\d{2}-\d{2}$/.test(timestamp.trim());
    date = new Date(hasZone || isDateOnly ? timestamp : `${timestamp}Z`);
  } else date = new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) {
    throw new ValidationError(
      `Invalid ${what} ${JSON.stringify(String(timestamp))}: use a Date, epoch milliseconds or ISO 8601`,
      { context: { [what]: String(timestamp) } },
    );
  }
  return date;
}

export interface StampedName {
  /** The dataset part (already a safe id). */
  dataset: string;
  stamp: string;
  date: Date;
  /** 0 without a suffix, n for `-n`; -1 for a random suffix. */
  seq: number;
  suffix: string;
  ext: string;
}

const NAME = /^(.+)_(\d{8}T\d{9}Z)(?:-(\d+|r[0-9a-f]+))?\.([A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*)$/;

/** Parses `<dataset>_<stamp>[-suffix].<ext>`; undefined for names sluice did not make. */
export function parseStampedName(name: string): StampedName | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const [, dataset, stamp, suffix = '', ext] = m;
  const date = parseStamp(stamp!);
  if (!date) return undefined;
  const seq = suffix === '' ? 0 : suffix.startsWith('r') ? -1 : Number(suffix);
  return { dataset: dataset!, stamp: stamp!, date, seq, suffix, ext: ext! };
}

export function stampedName(dataset: string, stamp: string, suffix: string, ext: string): string {
  return `${dataset}_${stamp}${suffix ? `-${suffix}` : ''}.${ext}`;
}

/**
 * Order of saved files, oldest first: by stamp, then by sequence suffix (none < -1 < -2 …,
 * the order they were created in), then by the name's bytes (random suffixes: a fixed but
 * arbitrary order among saves in the same millisecond).
 */
export function compareStamped(a: StampedName & { key: string }, b: StampedName & { key: string }): number {
  if (a.stamp !== b.stamp) return a.stamp < b.stamp ? -1 : 1;
  if (a.seq !== b.seq) return a.seq - b.seq;
  return Buffer.compare(Buffer.from(a.key), Buffer.from(b.key));
}
