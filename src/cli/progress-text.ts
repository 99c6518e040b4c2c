/**
 * How progress reads to a person: amounts in their unit, a rate over the last seconds and the
 * time left. Shared by the bar on a terminal and the log lines written when stderr is not one.
 */
import type { ProgressEvent, ProgressUnit } from '../util/progress.ts';
import { formatBytes } from '../util/sizes.ts';

/** 1234567 → '1,234,567' (whole numbers: counts are never fractional to a reader). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** An amount in its unit: bytes as a size ('48.2 MB'), anything else counted ('1,234 rows'). */
export function formatAmount(n: number, unit: ProgressUnit): string {
  return unit === 'bytes' ? formatBytes(n) : `${formatCount(n)} ${unit}`;
}

/** A rate: '45.1 MB/s', '48,200 rows/s'; below 10 a second with one decimal ('2.5 files/s'). */
export function formatRate(perSecond: number, unit: ProgressUnit): string {
  if (unit === 'bytes') return `${formatBytes(perSecond)}/s`;
  const n = perSecond < 10 ? perSecond.toFixed(1).replace(/\.0$/, '') : formatCount(perSecond);
  return `${n} ${unit}/s`;
}

/** A duration in seconds, as a clock would not: '0s', '42s', '3m05s', '2h07m'; '?' when unknown. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * The rate of the last `windowMs` (default 5 s): recent enough to follow a change of pace,
 * long enough that one slow chunk does not swing the time left.
 */
export class RateMeter {
  private readonly samples: { at: number; done: number }[] = [];
  private readonly windowMs: number;

  constructor(windowMs = 5000) {
    this.windowMs = windowMs;
  }

  add(at: number, done: number): void {
    // Samples closer than 100 ms replace the newest: a burst of events keeps the list short.
    const newest = this.samples[this.samples.length - 1];
    const previous = this.samples[this.samples.length - 2];
    if (newest && previous && at - previous.at < 100) {
      newest.at = at;
      newest.done = done;
      return;
    }
    this.samples.push({ at, done });
    // Keep one sample at or before the window's start, so the window is always covered.
    while (this.samples.length > 2 && (this.samples[1] as { at: number }).at <= at - this.windowMs)
      this.samples.shift();
  }

  /** Units per second, or undefined until two samples lie at least 100 ms apart. */
  perSecond(): number | undefined {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.at - first.at < 100) return undefined;
    return Math.max(0, ((last.done - first.done) * 1000) / (last.at - first.at));
  }
}

/** Seconds until `total` at `perSecond`; undefined when either is unknown or nothing moves. */
export function etaSeconds(event: ProgressEvent, perSecond: number | undefined): number | undefined {
  if (event.total === undefined || perSecond === undefined || perSecond <= 0) return undefined;
  return Math.max(0, (event.total - event.done) / perSecond);
}

/** `write out` or `ingest (raw/sdg/data.csv)`. */
export function progressLabel(event: ProgressEvent): string {
  return event.detail ? `${event.operation} (${event.detail})` : event.operation;
}

/**
 * One line of progress: `48.2 MB of 141.8 MB (34%), 45.1 MB/s, ETA 2s`; with no total known,
 * `1,234 rows, 5,200 rows/s`. The rate is left out until one is known.
 */
export function progressText(event: ProgressEvent, perSecond: number | undefined): string {
  const parts: string[] = [];
  if (event.total === undefined) parts.push(formatAmount(event.done, event.unit));
  else {
    const pct = event.total > 0 ? Math.min(100, Math.floor((event.done / event.total) * 100)) : 100;
    parts.push(
      `${formatAmount(event.done, event.unit)} of ${formatAmount(event.total, event.unit)} (${pct}%)`,
    );
  }
  if (perSecond !== undefined) parts.push(formatRate(perSecond, event.unit));
  const eta = etaSeconds(event, perSecond);
  if (eta !== undefined && event.total !== undefined && event.done < event.total)
    parts.push(`ETA ${formatDuration(eta)}`);
  return parts.join(', ');
}

/** The closing line: `141.8 MB in 3.1s (45.7 MB/s)`, the average over the whole run. */
export function finishedText(event: ProgressEvent, elapsedMs: number): string {
  const seconds = elapsedMs / 1000;
  const total =
    event.total !== undefined && event.done < event.total
      ? ` of ${formatAmount(event.total, event.unit)}`
      : '';
  const rate = seconds > 0 ? ` (${formatRate(event.done / seconds, event.unit)})` : '';
  const took = seconds < 10 ? `${seconds.toFixed(1)}s` : formatDuration(seconds);
  return `${formatAmount(event.done, event.unit)}${total} in ${took}${rate}`;
}
