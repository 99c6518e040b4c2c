/** Turns caller input into a validated columnar PointBatch, or throws for the whole batch. */
import { InvalidPointError } from '../errors.ts';
import { allocateBatch, type FreshBatch, T_BOOL, T_NULL, T_NUMBER, T_STRING } from './codec.ts';
import { type DictionarySlot, KnownIds } from './log-dictionary.ts';
import type { DataPointInput } from './types.ts';
import {
  encodeFlatMetadata,
  encodeMetadata,
  isFlatPlain,
  parseTimestamp,
  variableNameProblem,
} from './validate.ts';

function fail(index: number, variable: string, field: string, what: string): never {
  throw new InvalidPointError(
    `Point ${index} (variable ${JSON.stringify(variable)}): ${field} ${what}; nothing of this batch was stored`,
    { context: { index, variable, field } },
  );
}

/**
 * A variable's last flat metadata: its keys in order, their values (a copy: the caller may change
 * its object later) and its encoded JSON.
 */
interface FlatMeta extends DictionarySlot {
  keys: string[];
  values: unknown[];
  json: string;
  /** The buildBatch call that last listed `json`, and its index there (1-based). */
  batch: number;
  mi: number;
}

/**
 * Flat metadata by JSON: variables whose metadata is equal share one FlatMeta, so a batch lists
 * each distinct JSON once with no lookup per point.
 */
const flatByJson = new Map<string, FlatMeta>();

/**
 * What buildBatch keeps per variable name across calls: that the name is valid, its last flat
 * metadata (so a variable whose points each bring an equal object is encoded once, however many
 * variables share a batch), and its place in the batch being built. One map lookup per point.
 */
interface VarState extends DictionarySlot {
  name: string;
  /** The buildBatch call that last met this variable, and its index in that batch's names. */
  batch: number;
  vi: number;
  flat: FlatMeta | undefined;
  /**
   * The flat metadata the variable had before `flat`: a field that flips and flips back (a
   * quality going `uncertain` for one reading) then costs a second comparison, not an encoding.
   */
  alt: FlatMeta | undefined;
}
const varStates = new Map<string, VarState>();
let batchNo = 0;
/**
 * The state of each point's variable in the last batch, by point index (the first ORDERED
 * points): a producer that sends its variables in the same order batch after batch gets each
 * state by one string comparison instead of a map lookup.
 */
const lastOrder: (VarState | undefined)[] = [];
const ORDERED = 65_536;

/**
 * Whether `meta` is a plain object with the same keys, in the same order, holding the same
 * primitive values as `prev` — so it encodes to the same JSON.
 */
function sameFlatContent(prev: FlatMeta, meta: unknown): boolean {
  if (typeof meta !== 'object' || meta === null || Object.getPrototypeOf(meta) !== Object.prototype)
    return false;
  const { keys, values } = prev;
  let k = 0;
  for (const key in meta) {
    // Equal primitives only: NaN never equals, and objects fail the (flat) previous value.
    if (key !== keys[k] || (meta as Record<string, unknown>)[key] !== values[k]) return false;
    k++;
  }
  return k === keys.length;
}

/** The batch's metadata list and the index (1-based) of each distinct JSON in it. */
class BatchMetas {
  private readonly byJson = new Map<string, number>();
  private readonly byObject = new Map<object, number>();
  private readonly list: string[];
  private readonly slots: (DictionarySlot | undefined)[];
  /** Entries listed (the lists are presized: see presize). */
  private count = 0;
  private readonly known: KnownIds;
  constructor(batch: FreshBatch, expected: number, known: KnownIds) {
    this.known = known;
    this.list = presize(batch.metas, expected);
    this.slots = presize([], expected);
    batch.metaSlots = this.slots;
  }
  /** Lists `json` (with its slot) and returns its index. */
  add(json: string, slot: DictionarySlot | undefined): number {
    this.known.noteMeta(this.count, slot);
    this.list[this.count] = json;
    this.slots[this.count] = slot;
    return ++this.count;
  }
  /** Cuts the lists to the entries listed. */
  finish(): number {
    this.list.length = this.count;
    this.slots.length = this.count;
    return this.count;
  }
  /** Index of a non-flat metadata JSON (flat ones are listed through their FlatMeta). */
  index(json: string): number {
    let mi = this.byJson.get(json);
    if (mi === undefined) {
      mi = this.add(json, undefined);
      this.byJson.set(json, mi);
    }
    return mi;
  }
  /** The index of an object met earlier in this batch (objects do not change during one call). */
  ofObject(meta: object): number | undefined {
    return this.byObject.get(meta);
  }
  remember(meta: object, mi: number): void {
    this.byObject.set(meta, mi);
  }
}

/** The index of flat metadata `f` in batch `id`, listing its JSON there first if need be. */
function flatIndex(f: FlatMeta, id: number, metas: BatchMetas): number {
  if (f.batch !== id) {
    f.batch = id;
    f.mi = metas.add(f.json, f);
  }
  return f.mi;
}

/**
 * `list` (empty) with room for `expected` entries, written by index and cut to size at the end:
 * growing four lists of 10,000 entries by push left about twice their size in garbage per batch,
 * which brought the next scavenge (that copies the batch being stored) closer.
 */
function presize<T>(list: T[], expected: number): T[] {
  list.length = expected;
  return list;
}

/** How many variables and metadata texts the last batch listed: the next one's lists' room. */
let lastCounts = { vars: 0, metas: 0 };

/**
 * Key lists by their JSON: the metadata of many variables has the same keys, and one shared list
 * stays in cache where one per variable would cost a memory miss per point.
 */
const keyLists = new Map<string, string[]>();

function sharedKeys(keys: string[]): string[] {
  const text = JSON.stringify(keys);
  const known = keyLists.get(text);
  if (known !== undefined) return known;
  if (keyLists.size >= 4096) keyLists.clear();
  keyLists.set(text, keys);
  return keys;
}

/**
 * The JSON of a metadata value that is not its variable's last one (validated and masked); a flat
 * one comes with its FlatMeta, shared with every variable whose metadata is equal.
 */
function encodeNew(meta: unknown): { json: string; flat?: FlatMeta } {
  if (typeof meta === 'object' && meta !== null && !Array.isArray(meta) && isFlatPlain(meta)) {
    const json = encodeFlatMetadata(meta);
    let flat = flatByJson.get(json);
    if (flat === undefined) {
      const keys = sharedKeys(Object.keys(meta));
      const values = keys.map((k) => (meta as Record<string, unknown>)[k]);
      flat = { keys, values, json, batch: 0, mi: 0, logEpoch: undefined, logId: 0 };
      flatByJson.set(json, flat);
    }
    return { json, flat };
  }
  return { json: encodeMetadata(meta) };
}

/** The state of a variable name, checking the name the first time it is met (point `index`). */
function stateOf(variable: string, index: number): VarState {
  let st = varStates.get(variable);
  if (st === undefined) {
    const problem = variableNameProblem(variable);
    if (problem !== undefined)
      fail(index, String(variable), 'variable', `name ${JSON.stringify(variable)} ${problem}`);
    st = { name: variable, batch: 0, vi: 0, flat: undefined, alt: undefined, logEpoch: undefined, logId: 0 };
    varStates.set(variable, st);
  }
  return st;
}

/**
 * The JSON of point `index`'s metadata: its variable's last one when the content is the same,
 * else encoded (and remembered when flat). Throws InvalidPointError for metadata JSON cannot hold.
 */
function metadataJson(st: VarState, meta: unknown, variable: string, index: number): string {
  if (st.flat !== undefined && sameFlatContent(st.flat, meta)) return st.flat.json;
  const alt = st.alt;
  if (alt !== undefined && sameFlatContent(alt, meta)) {
    st.alt = st.flat;
    st.flat = alt;
    return alt.json;
  }
  let encoded: { json: string; flat?: FlatMeta };
  try {
    encoded = encodeNew(meta);
  } catch (error) {
    fail(index, variable, 'metadata', (error as Error).message);
  }
  // Not flat: the variable's next point compares with its earlier flat metadata only.
  if (st.flat !== undefined) st.alt = st.flat;
  st.flat = encoded.flat;
  return encoded.json;
}

export function buildBatch(points: readonly DataPointInput[]): FreshBatch {
  const n = points.length;
  const batch = allocateBatch(n);
  const { varIdx, micros, type, num, metaIdx, strs } = batch;
  const vars = presize(batch.vars, Math.min(n, lastCounts.vars));
  const varSlots = presize<DictionarySlot>([], vars.length);
  batch.varSlots = varSlots;
  let nv = 0;
  const known = new KnownIds(vars.length, Math.min(n, lastCounts.metas));
  const metas = new BatchMetas(batch, Math.min(n, lastCounts.metas), known);
  const id = ++batchNo;
  // Between calls only: states of this batch must stay the ones in the maps.
  if (varStates.size > 100_000) {
    varStates.clear();
    lastOrder.length = 0;
  }
  if (flatByJson.size > 100_000) flatByJson.clear();
  let lastMeta: unknown;
  let lastMi = 0;
  for (let i = 0; i < n; i++) {
    const p = points[i];
    if (p === null || typeof p !== 'object') fail(i, '?', 'point', 'is not an object');
    const variable = p.variable;
    let st = i < ORDERED ? lastOrder[i] : undefined;
    if (st === undefined || st.name !== variable) {
      st = stateOf(variable, i);
      if (i < ORDERED) lastOrder[i] = st;
    }
    if (st.batch !== id) {
      st.batch = id;
      st.vi = nv;
      known.noteVar(nv, st);
      // The name the store already holds, not the parsed one: the batch's list of names lives
      // until its set is placed (at 10,000 variables, the freeze), and the parsed strings can
      // then die young with their points.
      vars[nv] = st.name;
      varSlots[nv++] = st;
    }
    varIdx[i] = st.vi;
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
    // shallow comparison with that costs less than any encoding, or than looking the object up
    // (a fresh object has no identity hash yet: a map lookup makes one). A flat object is never
    // among those looked up by identity, so the order changes nothing.
    const prev = st.flat;
    let mi: number;
    if (prev !== undefined && sameFlatContent(prev, meta)) mi = flatIndex(prev, id, metas);
    else {
      // A nested object met earlier in this batch is not encoded again (nor is it flat).
      const seen = typeof meta === 'object' ? metas.ofObject(meta) : undefined;
      if (seen !== undefined) {
        mi = seen;
        if (st.flat !== undefined) st.alt = st.flat;
        st.flat = undefined;
      } else {
        const json = metadataJson(st, meta, variable, i);
        if (st.flat !== undefined) mi = flatIndex(st.flat, id, metas);
        else {
          mi = metas.index(json);
          if (typeof meta === 'object') metas.remember(meta, mi);
        }
      }
    }
    metaIdx[i] = mi;
    lastMeta = meta;
    lastMi = mi;
  }
  vars.length = nv;
  varSlots.length = nv;
  lastCounts = { vars: nv, metas: metas.finish() };
  batch.knownIds = known.finish(nv, lastCounts.metas);
  return batch;
}

/** Validates one point (the single-point fast path); same rules and messages as buildBatch. */
export function validateSinglePoint(
  variable: string,
  timestamp: DataPointInput['timestamp'],
  value: DataPointInput['value'],
  metadata: DataPointInput['metadata'],
): { micros: number; type: number; num: number; str: string | undefined; metaJson: string | undefined } {
  const st = stateOf(variable, 0);
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
  const metaJson =
    metadata === undefined || metadata === null ? undefined : metadataJson(st, metadata, variable, 0);
  return { micros, type, num, str, metaJson };
}
