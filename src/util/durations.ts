/** Durations as people write them in flags, config and environment variables. */

/** Parses '30s', '5m', '1h', '250ms', '2d' or a bare number of seconds into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) throw new RangeError(`Invalid duration ${JSON.stringify(text)}: use e.g. 250ms, 30s, 5m, 1h, 2d`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[
    unit as 'ms' | 's' | 'm' | 'h' | 'd'
  ];
  return n * factor;
}
