/**
 * Time as sluice writes it into names: file stamps of writer outputs, ids of pipeline runs and
 * lake versions. (Data timestamps — microseconds in the time-series store — are formatted by
 * `timeseries/validate.ts`; ingest file names by `ingest/stamp.ts`, the seed's own format.)
 */
import { randomBytes } from 'node:crypto';

/** `20260123T101530123Z`: UTC to the millisecond, sortable, safe in any file system. */
export function fileStamp(date = new Date()): string {
  return date.toISOString().replace(/[-:.]/g, '');
}

/** `20260123T101530123Z-a1b2c3`: a file stamp plus 24 random bits, for ids made in the same millisecond. */
export function stampedId(date = new Date()): string {
  return `${fileStamp(date)}-${randomBytes(3).toString('hex')}`;
}
