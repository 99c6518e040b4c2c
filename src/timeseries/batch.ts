/** Turns caller input into a validated columnar PointBatch, or throws for the whole batch. */
import { InvalidPointError } from '../errors.ts';
import { allocateBatch, type FreshBatch, T_BOOL, T_NULL, T_NUMBER, T_STRING } from './codec.ts';
import type { DataPointInput } from './types.ts';
import {
  encodeFlatMetadata,
  encodeMetadata,
  isFlatPlain,
  parseTimestamp,
  variableNameProblem,
} from './validate.ts';

// Names already validated: checking a 100-character name on every point costs more than the lookup.
const validNames = new Set<string>();

function checkName(name: unknown, index: number): void {
  if (typeof name === 'string' && validNames.has(name)) return;
  const problem = variableNameProblem(name);
  if (problem !== undefined) fail(index, String(name), 'variable', `name ${JSON.stringify(name)} ${problem}`);
  if (validNames.size > 100_000) validNames.clear();
  validNames.add(name as string);
}

function fail(index: number, variable: string, field: string, what: string): never {
  throw new InvalidPointError(
    `Point ${index} (variable ${JSON.stringify(variable)}): ${field} ${what}; nothing of this batch was stored`,
    { context: { index, variable, field } },
  );
}

/** A variable's last flat metadata object in a batch, its keys in order, and its index. */
interface FlatMeta {
  obj: Record<string, unknown>;
  keys: string[];
  mi: number;
}

/**
 * Whether `meta` is a plain object with the same keys, in the same order, holding the same
 * primitive values as `prev` (which isFlatPlain accepted) — so it encodes to the same JSON.
 */
function sameFlatContent(prev: FlatMeta, meta: unknown): boolean {
  if (typeof meta !== 'object' || meta === null || Object.getPrototypeOf(meta) !== Object.prototype)
    return false;
  const { obj, keys } = prev;
  let k = 0;
  for (const key in meta) {
    // Equal primitives only: NaN never equals, and objects fail the (flat) previous value.
    if (key !== keys[k] || (meta as Record<string, unknown>)[key] !== obj[key]) return false;
    k++;
  }
  return k === keys.length;
}

export function buildBatch(points: readonly DataPointInput[]): FreshBatch {
  const n = points.length;
  const batch = allocateBatch(n);
  const { varIdx, micros, type, num, metaIdx, strs, vars, metas } = batch;
  const varMap = new Map<string, number>();
  const metaByObject = new Map<object, number>();
  const metaByJson = new Map<string, number>();
  let lastMeta: unknown;
  let lastMi = 0;
  const prevFlat: (FlatMeta | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    const p = points[i];
    if (p === null || typeof p !== 'object') fail(i, '?', 'point', 'is not an object');
    const variable = p.variable;
    let vi = varMap.get(variable);
    if (vi === undefined) {
      checkName(variable, i);
      vi = vars.length;
      vars.push(variable);
      varMap.set(variable, vi);
    }
    varIdx[i] = vi;
    const ts = parseTimestamp(p.timestamp);
    if (ts === undefined)
      fail(i, variable, 'timestamp', `${JSON.stringify(String(p.timestamp))} cannot be parsed`);
    micros[i] = ts;
    const v = p.value;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(i, variable, 'value', `is not a finite number (${v})`);
      type[i] = T_NUMBER;
      num[i] = v;
    } else if (v === null) {
      type[i] = T_NULL;
    } else if (typeof v === 'string') {
      type[i] = T_STRING;
      strs.set(i, v);
    } else if (typeof v === 'boolean') {
      type[i] = T_BOOL;
      num[i] = v ? 1 : 0;
    } else {
      fail(i, variable, 'value', `must be a number, string, boolean or null, got ${typeof v}`);
    }
    const meta = p.metadata;
    if (meta === undefined || meta === null) continue;
    if (meta === lastMeta) {
      metaIdx[i] = lastMi;
      continue;
    }
    // Each parsed point has its own object, mostly equal to its variable's previous one: a
    // shallow comparison with that costs less than any encoding.
    const prev = prevFlat[vi];
    if (prev !== undefined && sameFlatContent(prev, meta)) {
      metaIdx[i] = prev.mi;
      continue;
    }
    let mi = typeof meta === 'object' ? metaByObject.get(meta) : undefined;
    let flat = false;
    if (mi === undefined) {
      let json: string;
      try {
        flat = typeof meta === 'object' && !Array.isArray(meta) && isFlatPlain(meta);
        json = flat ? encodeFlatMetadata(meta) : encodeMetadata(meta);
      } catch (error) {
        fail(i, variable, 'metadata', (error as Error).message);
      }
      mi = metaByJson.get(json);
      if (mi === undefined) {
        metas.push(json);
        mi = metas.length;
        metaByJson.set(json, mi);
      }
      metaByObject.set(meta, mi);
    }
    if (flat) prevFlat[vi] = { obj: meta as Record<string, unknown>, keys: Object.keys(meta), mi };
    metaIdx[i] = mi;
    lastMeta = meta;
    lastMi = mi;
  }
  return batch;
}

/** Validates one point (the single-point fast path); same rules and messages as buildBatch. */
export function validateSinglePoint(
  variable: string,
  timestamp: DataPointInput['timestamp'],
  value: DataPointInput['value'],
  metadata: DataPointInput['metadata'],
): { micros: number; type: number; num: number; str: string | undefined; metaJson: string | undefined } {
  checkName(variable, 0);
  const micros = parseTimestamp(timestamp);
  if (micros === undefined)
    fail(0, variable, 'timestamp', `${JSON.stringify(String(timestamp))} cannot be parsed`);
  let type: number;
  let num = 0;
  let str: string | undefined;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail(0, variable, 'value', `is not a finite number (${value})`);
    type = T_NUMBER;
    num = value;
  } else if (value === null) {
    type = T_NULL;
  } else if (typeof value === 'string') {
    type = T_STRING;
    str = value;
  } else if (typeof value === 'boolean') {
    type = T_BOOL;
    num = value ? 1 : 0;
  } else {
    fail(0, variable, 'value', `must be a number, string, boolean or null, got ${typeof value}`);
  }
  let metaJson: string | undefined;
  if (metadata !== undefined && metadata !== null) {
    try {
      metaJson = encodeMetadata(metadata);
    } catch (error) {
      fail(0, variable, 'metadata', (error as Error).message);
    }
  }
  return { micros, type, num, str, metaJson };
}
