/**
 * Commander argParsers for flag values: each checks one kind of value (whole numbers, numbers,
 * ports, sizes, durations) and throws a UsageError (E022, exit code 2) naming the flag and the
 * value, so a bad value stops the command before it opens, creates or sends anything.
 */
import { UsageError } from '../errors.ts';
import { readDecimal } from '../util/decimal-text.ts';
import { parseDuration } from '../util/durations.ts';
import { HOST_RULE, normalizeHost } from '../util/host-names.ts';
import { parseStrictJson } from '../util/json-strict.ts';
import { parseSize } from '../util/sizes.ts';

export interface IntFlagOptions {
  /** @default 0 */
  min?: number;
  /** @default Number.MAX_SAFE_INTEGER */
  max?: number;
}

/** A whole number in [min, max], written in decimal digits (`Number` would take '', '0x10', '1e3'). */
export function intFlag(name: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: IntFlagOptions = {}) {
  return (value: string): number => {
    const n = /^[+-]?\d+$/.test(value) ? Number(value) : Number.NaN;
    if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${name} must be a whole number ${range}, got ${JSON.stringify(value)}`);
  };
}

/** A TCP port; 0 asks the system for a free one. */
export function portFlag(name: string) {
  const whole = intFlag(name, { min: 0, max: 65535 });
  return (value: string): number => {
    try {
      return whole(value);
    } catch {
      throw new UsageError(
        `${name} must be a port number from 0 to 65535 (0: any free port), got ${JSON.stringify(value)}`,
      );
    }
  };
}

/**
 * A host name or IP address to bind (`[::1]` as `::1`). An empty value is refused: Node would
 * read it as every interface, the opposite of what an unset variable should mean.
 */
export function hostFlag(name: string) {
  return (value: string): string => {
    const host = normalizeHost(value);
    if (host !== undefined) return host;
    throw new UsageError(`${name} must be ${HOST_RULE}, got ${JSON.stringify(value)}`);
  };
}

export interface NumberFlagOptions {
  /** Smallest accepted value, itself excluded. */
  above?: number;
  /** Largest accepted value, itself included. */
  max?: number;
}

/** A finite decimal number (12, 0.5, 1e3), optionally above a bound and up to a maximum. */
export function numberFlag(name: string, { above, max }: NumberFlagOptions = {}) {
  return (value: string): number => {
    const read = readDecimal(value);
    const n = read.value;
    const bounds = [above === undefined ? '' : `> ${above}`, max === undefined ? '' : `≤ ${max}`]
      .filter(Boolean)
      .join(' and ');
    if (n !== undefined && (above === undefined || n > above) && (max === undefined || n <= max)) return n;
    throw new UsageError(
      `${name} must be a number${bounds ? ` ${bounds}` : ''}, got ${JSON.stringify(value)}${read.problem ? `: it ${read.problem}` : ''}`,
    );
  };
}

/** A size such as 64KiB, 10MB or 512 (bytes; KB = KiB = 1024), in bytes, at least `min`. */
export function sizeFlag(name: string, { min = 1 }: { min?: number } = {}) {
  return (value: string): number => {
    let bytes: number;
    try {
      bytes = parseSize(value);
    } catch (error) {
      throw new UsageError(`${name}: ${(error as Error).message}`);
    }
    if (bytes < min)
      throw new UsageError(`${name} must be at least ${min} bytes, got ${JSON.stringify(value)}`);
    return bytes;
  };
}

/** A duration such as 30s, 500ms, 24h or 7d (a bare number is seconds), in ms. */
export function durationFlag(name: string, { positive = false }: { positive?: boolean } = {}) {
  return (value: string): number => {
    let ms: number;
    try {
      ms = parseDuration(value);
    } catch (error) {
      throw new UsageError(`${name}: ${(error as Error).message}`);
    }
    if (positive && !(ms > 0))
      throw new UsageError(`${name} must be a duration above 0, got ${JSON.stringify(value)}`);
    return ms;
  };
}

/**
 * A flag whose value is a JSON object (`--meta '{"unit":"C"}'`), read by the strict JSON path:
 * broken JSON says where it breaks, an integer a double cannot hold is refused rather than
 * rounded, and anything but an object is E022 naming the flag.
 */
export function jsonObjectFlag(name: string, value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseStrictJson(value, { label: 'JSON', source: name, line: 1 }, { bigIntegers: 'refuse' });
  } catch (error) {
    throw new UsageError(`${name} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`${name} must be a JSON object such as {"unit":"C"}, got ${value.slice(0, 80)}`);
  return parsed as Record<string, unknown>;
}
