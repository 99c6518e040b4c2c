const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/**
 * Human-readable size in binary multiples with the seed's unit names: 1536 → '1.5 KB',
 * 1610612736 → '1.5 GB', 512 → '512 B'. One decimal, trailing '.0' dropped.
 */
export function formatBytes(size: number): string {
  if (!Number.isFinite(size)) throw new RangeError(`formatBytes: size must be a finite number, got ${size}`);
  const sign = size < 0 ? '-' : '';
  let value = Math.abs(size);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, '');
  return `${sign}${text} ${UNITS[unit]}`;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses a size such as '64KiB', '10MB', '1.5G' or '512' (bytes) into bytes. Units are binary
 * multiples whatever the spelling (KB = KiB = 1024), as formatBytes prints them. Throws a
 * RangeError for anything else, and for a fraction of a byte ('1.1KB' is 1126.4 bytes).
 */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:(b)|([kmgt])(?:i?b)?)?\s*$/i.exec(text);
  if (!m) throw new RangeError(`Invalid size ${JSON.stringify(text)}: use e.g. 512, 64KiB, 10MB, 1.5GB`);
  const unit = (m[2] ?? m[3] ?? '').toLowerCase();
  const bytes = Number(m[1]) * (SIZE_UNITS[unit] as number);
  if (!Number.isSafeInteger(bytes))
    throw new RangeError(
      `Invalid size ${JSON.stringify(text)}: it is ${bytes} bytes, not a whole number of bytes`,
    );
  return bytes;
}
