/**
 * The strings a log file's version 4 records refer to by number: variable names and metadata JSON
 * texts, each numbered in the order of its first use in the file. A record carries the entries it
 * is the first to use and the numbers of every one it uses, so a batch of 10,000 variables names
 * them once per log file instead of once per record.
 *
 * The dictionary of a file is the entries of its whole records, in order. A torn record adds
 * nothing (replay stops before it, keeping the entries of the records before it), and the writer
 * takes back the entries of records a failed write cut off (`rollback`).
 */

/** The dictionary's size at one moment, to roll back to. */
export interface DictionaryMark {
  names: number;
  metas: number;
}

/**
 * Where a writer remembers a string's id, beside what it keeps per variable name and per metadata
 * text anyway (batch.ts): a batch of 10,000 variables then costs no map lookup per name. Valid
 * while `logEpoch` is the dictionary's current epoch (a new file, or a rollback, starts another).
 */
export interface DictionarySlot {
  logEpoch: object | undefined;
  logId: number;
}

/**
 * The ids of a batch's names and texts, gathered while the batch is built from the slots it
 * reads anyway. When every one was an id of one epoch and the file's dictionary is still in that
 * epoch when the record is encoded, the record takes them as they are: over 10,000 variables,
 * reading each slot again there cost a cache miss per name and per text.
 */
export class KnownIds {
  private epoch: object | undefined;
  private ok = true;
  /** `nVars, nMetas`, then the names' ids: the record's id list up to the texts. */
  readonly vars: Uint32Array;
  readonly metas: Uint32Array;

  /** Room for the ids of `vars` names and `metas` texts (the counts the batch is expected to have). */
  constructor(vars: number, metas: number) {
    this.vars = new Uint32Array(2 + vars);
    this.metas = new Uint32Array(metas);
  }

  noteVar(k: number, slot: DictionarySlot): void {
    this.note(this.vars, 2 + k, slot);
  }
  noteMeta(k: number, slot: DictionarySlot | undefined): void {
    this.note(this.metas, k, slot);
  }

  private note(list: Uint32Array, at: number, slot: DictionarySlot | undefined): void {
    if (!this.ok) return;
    const epoch = slot?.logEpoch;
    if (slot === undefined || epoch === undefined || at >= list.length || (this.epoch ?? epoch) !== epoch) {
      this.ok = false;
      return;
    }
    this.epoch = epoch;
    list[at] = slot.logId;
  }

  /** This, complete for `vars` names and `metas` texts, or undefined if some id is missing. */
  finish(vars: number, metas: number): KnownIds | undefined {
    if (!this.ok || vars + 2 !== this.vars.length || metas !== this.metas.length) return undefined;
    this.vars[0] = vars;
    this.vars[1] = metas;
    return this;
  }

  /** Whether the ids are those of `epoch`. */
  of(epoch: object): boolean {
    return this.epoch === epoch;
  }
}

export class LogDictionary {
  readonly names: string[] = [];
  readonly metas: string[] = [];
  private readonly nameIds = new Map<string, number>();
  private readonly metaIds = new Map<string, number>();
  /** Slots holding this object know their string's id (see DictionarySlot). */
  private epoch: object = {};

  /**
   * Writes the ids of `vars` and `metas` into `ids` (vars first, from index `at`) and returns the
   * entries they use that the dictionary had not held, which it now holds (names, then texts).
   * `slots`, where given, are the strings' slots, by the same index.
   */
  assign(
    batch: {
      vars: readonly string[];
      metas: readonly string[];
      varSlots?: readonly DictionarySlot[];
      metaSlots?: readonly (DictionarySlot | undefined)[];
    },
    ids: Uint32Array,
    at: number,
  ): { names: string[]; metas: string[] } {
    const added = { names: [] as string[], metas: [] as string[] };
    at = this.assignOne(batch.vars, batch.varSlots, this.names, this.nameIds, ids, at, added.names);
    this.assignOne(batch.metas, batch.metaSlots, this.metas, this.metaIds, ids, at, added.metas);
    return added;
  }

  private assignOne(
    texts: readonly string[],
    slots: readonly (DictionarySlot | undefined)[] | undefined,
    list: string[],
    byText: Map<string, number>,
    ids: Uint32Array,
    at: number,
    added: string[],
  ): number {
    const epoch = this.epoch;
    for (let k = 0; k < texts.length; k++) {
      const slot = slots?.[k];
      if (slot !== undefined && slot.logEpoch === epoch) {
        ids[at++] = slot.logId;
        continue;
      }
      const t = texts[k] as string;
      let id = byText.get(t);
      if (id === undefined) {
        id = list.length;
        list.push(t);
        byText.set(t, id);
        added.push(t);
      }
      if (slot !== undefined) {
        slot.logEpoch = epoch;
        slot.logId = id;
      }
      ids[at++] = id;
    }
    return at;
  }

  /** Whether `known` holds ids of this dictionary as it is now (then the record adds no entry). */
  holds(known: KnownIds): boolean {
    return known.of(this.epoch);
  }

  /** Adds the entries a decoded record introduced, in its order. */
  add(names: readonly string[], metas: readonly string[]): void {
    for (const n of names) {
      this.nameIds.set(n, this.names.length);
      this.names.push(n);
    }
    for (const m of metas) {
      this.metaIds.set(m, this.metas.length);
      this.metas.push(m);
    }
  }

  mark(): DictionaryMark {
    return { names: this.names.length, metas: this.metas.length };
  }

  /** Forgets every entry added since `mark`: the records that introduced them were not written. */
  rollback(mark: DictionaryMark): void {
    if (mark.names === this.names.length && mark.metas === this.metas.length) return;
    // Slots may hold ids given back here: none is trusted any more.
    this.epoch = {};
    for (const n of this.names.splice(mark.names)) this.nameIds.delete(n);
    for (const m of this.metas.splice(mark.metas)) this.metaIds.delete(m);
  }
}
