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

export class LogDictionary {
  readonly names: string[] = [];
  readonly metas: string[] = [];
  private readonly nameIds = new Map<string, number>();
  private readonly metaIds = new Map<string, number>();

  /**
   * Writes the ids of `vars` and `metas` into `ids` (vars first, from index `at`) and returns the
   * entries they use that the dictionary had not held, which it now holds (names, then texts).
   */
  assign(
    vars: readonly string[],
    metas: readonly string[],
    ids: Uint32Array,
    at: number,
  ): { names: string[]; metas: string[] } {
    const added = { names: [] as string[], metas: [] as string[] };
    at = this.assignOne(vars, this.names, this.nameIds, ids, at, added.names);
    this.assignOne(metas, this.metas, this.metaIds, ids, at, added.metas);
    return added;
  }

  private assignOne(
    texts: readonly string[],
    list: string[],
    byText: Map<string, number>,
    ids: Uint32Array,
    at: number,
    added: string[],
  ): number {
    for (const t of texts) {
      let id = byText.get(t);
      if (id === undefined) {
        id = list.length;
        list.push(t);
        byText.set(t, id);
        added.push(t);
      }
      ids[at++] = id;
    }
    return at;
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
    for (const n of this.names.splice(mark.names)) this.nameIds.delete(n);
    for (const m of this.metas.splice(mark.metas)) this.metaIds.delete(m);
  }
}
