/**
 * Line protocol → time-series points: the measurement and a field make the variable
 * `<measurement>.<field>`, the tags the point's metadata, and the timestamp (in the request's
 * precision) microseconds, the store's resolution. Every point is checked here, so that a bad
 * one is refused with its line number before anything of the request is stored.
 */
import { FormatError } from '../../errors.ts';
import type { DataPointInput, Metadata, PointValue } from '../../timeseries/index.ts';
import { variableNameProblem } from '../../timeseries/index.ts';
import { scanLineProtocol } from './scan.ts';

/** Timestamp units the write endpoints accept (v1 also takes its short names, see `readPrecision`). */
export type Precision = 'ns' | 'us' | 'ms' | 's' | 'm' | 'h';

const V1_NAMES: Record<string, Precision> = {
  n: 'ns',
  ns: 'ns',
  u: 'us',
  us: 'us',
  ms: 'ms',
  s: 's',
  m: 'm',
  h: 'h',
};
const V2_NAMES: Record<string, Precision> = { ns: 'ns', us: 'us', ms: 'ms', s: 's' };

/** The `precision` query parameter of v1 `/write` or v2 `/api/v2/write`; undefined when invalid. */
export function readPrecision(value: string | undefined, api: 'v1' | 'v2'): Precision | undefined {
  if (value === undefined || value === '') return 'ns';
  return (api === 'v1' ? V1_NAMES : V2_NAMES)[value];
}

/** Microseconds per unit, for the units coarser than a microsecond. */
const MICROS_PER: Record<Exclude<Precision, 'ns'>, number> = {
  us: 1,
  ms: 1_000,
  s: 1_000_000,
  m: 60_000_000,
  h: 3_600_000_000,
};

/**
 * A timestamp's digits in `precision` → integer microseconds. Nanoseconds are floored to the
 * microsecond (the store's resolution), so two points 1 ns apart share a timestamp. Undefined
 * when the instant is outside what the store keeps exactly (±2^53 µs, about 1685–2255).
 */
export function timestampMicros(digits: string, precision: Precision): number | undefined {
  let micros: number;
  if (precision === 'ns') {
    if (digits.startsWith('-')) {
      const ns = BigInt(digits);
      const floored = ns / 1000n - (ns % 1000n === 0n ? 0n : 1n);
      micros = Number(floored);
      if (BigInt(micros) !== floored) return undefined;
    } else micros = digits.length > 3 ? Number(digits.slice(0, -3)) : 0;
  } else {
    const n = Number(digits);
    if (!Number.isSafeInteger(n)) return undefined;
    micros = n * MICROS_PER[precision];
  }
  return Number.isSafeInteger(micros) ? micros : undefined;
}

/**
 * timestampMicros of `text.slice(start, end)`, reading a non-negative nanosecond timestamp (the
 * usual one) in place: its microseconds are its digits but the last three, and a value the
 * store cannot keep exactly comes out unsafe (over 2^53) however the sum rounds.
 */
function microsAt(text: string, start: number, end: number, precision: Precision): number | undefined {
  if (precision !== 'ns' || text.charCodeAt(start) === 45)
    return timestampMicros(text.slice(start, end), precision);
  let micros = 0;
  for (let i = start; i < end - 3; i++) micros = micros * 10 + (text.charCodeAt(i) - 48);
  return Number.isSafeInteger(micros) ? micros : undefined;
}

function fail(line: number, reason: string): never {
  throw new FormatError(`line ${line}: ${reason}`, { context: { line, reason } });
}

/**
 * Epoch numbers from this on are microseconds to the store (smaller ones are milliseconds, see
 * TimestampInput); instants before it (1973) are passed as bigint, which is always microseconds.
 */
const MICROS_AS_NUMBER_FROM = 1e14;

function asTimestamp(micros: number): number | bigint {
  return Math.abs(micros) >= MICROS_AS_NUMBER_FROM ? micros : BigInt(micros);
}

/** What a series yields once: its metadata object (shared by its points) and variable names by field. */
interface SeriesPoints {
  metadata: Metadata | null;
  variables: Map<string, string>;
}

export interface LineProtocolPointsOptions {
  precision: Precision;
  /** Stamps lines without a timestamp: one instant for the whole request, as InfluxDB does. */
  nowMicros: number;
  /** @default unlimited */
  maxPoints?: number;
}

/**
 * The store's points of a line-protocol body, every one checked (syntax, variable names,
 * timestamps and integers the store keeps exactly); throws FormatError naming the first bad line.
 * Points are built as the body is scanned, with no object per line or field in between.
 */
export function lineProtocolPoints(text: string, options: LineProtocolPointsOptions): DataPointInput[] {
  const { precision } = options;
  const points: DataPointInput[] = [];
  const now = asTimestamp(options.nowMicros);
  scanLineProtocol(
    text,
    {
      point(line, series, fields, tsStart, tsEnd) {
        let timestamp = now;
        if (tsStart >= 0) {
          const micros = microsAt(text, tsStart, tsEnd, precision);
          if (micros === undefined)
            fail(
              line,
              `timestamp ${text.slice(tsStart, tsEnd)} (${precision}) is outside the range the store keeps (years 1685–2255)`,
            );
          timestamp = asTimestamp(micros);
        }
        let memo = series.memo as SeriesPoints | undefined;
        if (!memo) {
          // Object.fromEntries defines own properties: a tag named __proto__ stays a tag.
          memo = {
            metadata: series.tags.length > 0 ? Object.fromEntries(series.tags) : null,
            variables: new Map(),
          };
          series.memo = memo;
        }
        for (let i = 0; i < fields.count; i++) {
          const key = fields.keys[i] as string;
          let variable = memo.variables.get(key);
          if (variable === undefined) {
            variable = `${series.measurement}.${key}`;
            const problem = variableNameProblem(variable);
            if (problem !== undefined) fail(line, `variable name ${JSON.stringify(variable)} ${problem}`);
            memo.variables.set(key, variable);
          }
          const value = fields.values[i];
          if (typeof value === 'bigint')
            fail(
              line,
              `${fields.kinds[i]} ${value} of field ${JSON.stringify(key)} does not fit a double exactly (beyond ±2^53); send it as a float or a string`,
            );
          points.push({ variable, timestamp, value: value as PointValue, metadata: memo.metadata });
        }
      },
    },
    options.maxPoints,
  );
  return points;
}
