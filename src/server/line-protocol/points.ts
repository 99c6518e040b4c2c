/**
 * Parsed line protocol → time-series points: the measurement and a field make the variable
 * `<measurement>.<field>`, the tags the point's metadata, and the timestamp (in the request's
 * precision) microseconds, the store's resolution. Every point is checked here, so that a bad
 * one is refused with its line number before anything of the request is stored.
 */
import { FormatError } from '../../errors.ts';
import type { DataPointInput, Metadata, PointValue } from '../../timeseries/index.ts';
import { variableNameProblem } from '../../timeseries/index.ts';
import type { LineField, ParsedLine } from './parse.ts';

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

function fieldValue(field: LineField): PointValue | undefined {
  return typeof field.value === 'bigint' ? undefined : field.value;
}

function fail(line: ParsedLine, reason: string): never {
  throw new FormatError(`line ${line.line}: ${reason}`, { context: { line: line.line, reason } });
}

/**
 * Epoch numbers from this on are microseconds to the store (smaller ones are milliseconds, see
 * TimestampInput); instants before it (1973) are passed as bigint, which is always microseconds.
 */
const MICROS_AS_NUMBER_FROM = 1e14;

/**
 * The points of parsed lines, every one checked. `nowMicros` stamps lines without a timestamp
 * (one instant for the whole request, as InfluxDB does). Lines of one series share their
 * metadata object and variable names, which the store's batch encoder also reuses.
 */
export function linesToPoints(
  lines: readonly ParsedLine[],
  precision: Precision,
  nowMicros: number,
): DataPointInput[] {
  const points: DataPointInput[] = [];
  const now = asTimestamp(nowMicros);
  const metadataOf = new Map<readonly [string, string][], Metadata | null>();
  const variablesOf = new Map<string, Map<string, string>>();
  let lastDigits: string | undefined;
  let lastTimestamp: number | bigint = now;
  for (const line of lines) {
    let timestamp = now;
    if (line.timestamp !== undefined) {
      if (line.timestamp !== lastDigits) {
        const micros = timestampMicros(line.timestamp, precision);
        if (micros === undefined)
          fail(
            line,
            `timestamp ${line.timestamp} (${precision}) is outside the range the store keeps (years 1685–2255)`,
          );
        lastDigits = line.timestamp;
        lastTimestamp = asTimestamp(micros);
      }
      timestamp = lastTimestamp;
    }
    let metadata = metadataOf.get(line.tags);
    if (metadata === undefined) {
      // Object.fromEntries defines own properties: a tag named __proto__ stays a tag.
      metadata = line.tags.length > 0 ? Object.fromEntries(line.tags) : null;
      metadataOf.set(line.tags, metadata);
    }
    let variables = variablesOf.get(line.measurement);
    if (!variables) {
      variables = new Map();
      variablesOf.set(line.measurement, variables);
    }
    for (const field of line.fields) {
      let variable = variables.get(field.key);
      if (variable === undefined) {
        variable = `${line.measurement}.${field.key}`;
        const problem = variableNameProblem(variable);
        if (problem !== undefined) fail(line, `variable name ${JSON.stringify(variable)} ${problem}`);
        variables.set(field.key, variable);
      }
      const value = fieldValue(field);
      if (value === undefined)
        fail(
          line,
          `${field.kind} ${String(field.value)} of field ${JSON.stringify(field.key)} does not fit a double exactly (beyond ±2^53); send it as a float or a string`,
        );
      points.push({ variable, timestamp, value, metadata });
    }
  }
  return points;
}

function asTimestamp(micros: number): number | bigint {
  return Math.abs(micros) >= MICROS_AS_NUMBER_FROM ? micros : BigInt(micros);
}
