/**
 * The pipeline's side of lineage (docs/lineage.md). Every file a step writes into the lake —
 * landing and staging Parquet, promoted version copies and their plain copies, manifests, backups
 * and sluice's own records — has its intent durable in `<lake>/_sluice/lineage/` before the file
 * becomes visible, and its commit (sha256, size, rows) after; a write that fails gets an abort. A
 * step declares the outputs it knows in one `begin`, so it costs about one small object, and
 * flushes at its end. With config `lineage: false` (SLUICE_LINEAGE=0) every call is a no-op.
 */
import {
  createOpenLineageEmitter,
  type LineageInput,
  LineageLog,
  openLineageEventsOf,
  outputUrl,
  type WrittenOutput,
} from '../lineage/index.ts';
import type { Storage } from '../storage/types.ts';

export interface PlannedOutput {
  /** Key from the lake root (`dev/landing/sdg/data.parquet`, `_sluice/qa/manifest.json`). */
  key: string;
  operation: string;
  inputs: LineageInput[];
}

/** One declared output: how its write ended. Only the first call counts. */
export interface OutputRecord {
  commit(written: WrittenOutput): void;
  abort(error: unknown): void;
}

/** The outputs of one `begin`, in the order declared. */
export class OutputBatch {
  readonly records: OutputRecord[];
  private readonly open: Set<number>;

  constructor(log: LineageLog | undefined, ids: string[], count: number) {
    this.open = new Set(Array.from({ length: count }, (_, i) => i));
    this.records = Array.from({ length: count }, (_, i) => ({
      commit: (written: WrittenOutput) => {
        if (this.open.delete(i) && ids[i] !== undefined) log?.commit(ids[i], written);
      },
      abort: (error: unknown) => {
        if (this.open.delete(i) && ids[i] !== undefined) log?.abort(ids[i], error);
      },
    }));
  }

  /** The declared output at `i` (a batch is built from a list the caller holds). */
  at(i: number): OutputRecord {
    return this.records[i] as OutputRecord;
  }

  /** Every output whose write never ended is aborted: a failed step leaves no open intent. */
  abortOpen(error: unknown): void {
    for (const i of [...this.open]) this.at(i).abort(error);
  }
}

export class LakeLineage {
  /** The lake root: output keys are relative to it. */
  readonly storage: Storage;
  /** The pipeline run (or promotion) the records belong to. */
  readonly run: string | undefined;
  /** The log records go to (undefined: lineage is off). */
  readonly log: LineageLog | undefined;

  /** This object made the log (true) or shares a caller's, which flushes it at its own end. */
  private readonly owned: boolean;

  constructor(storage: Storage, log: LineageLog | undefined, run?: string, owned = true) {
    this.storage = storage;
    this.log = log;
    this.run = run;
    this.owned = owned;
  }

  /** The lake's lineage: `given` when a caller shares its log, none when turned off, else a new log. */
  static open(storage: Storage, enabled: boolean, given?: LineageLog | false): LakeLineage {
    if (given === false || !enabled) return new LakeLineage(storage, undefined);
    return new LakeLineage(storage, given ?? new LineageLog(storage), undefined, given === undefined);
  }

  get enabled(): boolean {
    return this.log !== undefined;
  }

  /** The same log, records tagged with another run. */
  withRun(run: string | undefined): LakeLineage {
    return new LakeLineage(this.storage, this.log, run, this.owned);
  }

  /** The URL records name a lake key by (what `lineageOf` computes for the file's path). */
  url(key: string): string {
    return outputUrl(this.storage, key);
  }

  /** A lake file read whole, by the sha256 of its bytes. */
  fileInput(key: string, sha256: string, size?: number): LineageInput {
    return { kind: 'file', url: this.url(key), sha256, ...(size === undefined ? {} : { size }) };
  }

  /** Makes the intents of `outputs` durable (with any records waiting) before they are written. */
  async begin(outputs: readonly PlannedOutput[]): Promise<OutputBatch> {
    if (!this.log || outputs.length === 0) return new OutputBatch(undefined, [], outputs.length);
    const ids = await this.log.begin(
      outputs.map((o) => ({
        output: this.url(o.key),
        operation: o.operation,
        inputs: o.inputs,
        ...(this.run === undefined ? {} : { run: this.run }),
      })),
    );
    await testPause();
    return new OutputBatch(this.log, ids, outputs.length);
  }

  /**
   * Records that a sluice operation is removing `keys` on purpose; durable at the next begin or
   * flush, which must come BEFORE the delete (else a crash between leaves a `missing` file).
   */
  deleting(keys: readonly string[], operation: string): void {
    for (const key of keys) this.log?.deleted(this.url(key), operation);
  }

  /** Makes every waiting record durable. */
  async flush(): Promise<void> {
    await this.log?.flush();
  }

  /**
   * The end of a step. On a log of its own, the step's commits and aborts are made durable now.
   * On a log shared by a pipeline run they are written in the background, off the run's path
   * (the next batch of intents waits for that put); a put that fails keeps them for the next
   * batch, and the run's last flush, which it awaits, reports a failure that stays.
   */
  async endStep(): Promise<void> {
    if (this.owned) await this.flush();
    else this.log?.flush().catch(() => {});
  }

  /** Flushes after a failure: the abort records are stored when possible, the first error wins. */
  async flushQuietly(): Promise<void> {
    await this.log?.flush().catch(() => {});
  }
}

/**
 * Sends run `run`'s OpenLineage events (a parent `job` run, a child per operation) to where the
 * config says, once its records are durable. Delivery never fails the run (the transport logs).
 */
export async function exportOpenLineage(
  target: { url?: string; apiKey?: string; file?: string } | undefined,
  lineage: LakeLineage,
  run: string,
  job: string,
): Promise<void> {
  if (!target || !lineage.log) return;
  const emitter = createOpenLineageEmitter(target);
  for (const event of openLineageEventsOf(lineage.log.recorded(), run, job, lineage.log.schemas()))
    await emitter.emit(event);
}

export { writtenText } from '../lineage/written.ts';

/**
 * What a copy's commit says beyond its hash: the rows and the columns its source's record holds
 * (read from the Parquet footer when the source was written; a copy has the same bytes).
 */
export function fileFacts(file: {
  rows?: number;
  columns?: { name: string; type: string }[];
}): Pick<WrittenOutput, 'rows' | 'fields'> {
  return {
    ...(file.rows === undefined ? {} : { rows: file.rows }),
    ...(file.columns === undefined ? {} : { fields: file.columns }),
  };
}

/** Test hook: a pause after each batch of intents is durable, so a crash test can kill right there. */
async function testPause(): Promise<void> {
  const ms = Number(process.env.SLUICE_TEST_LINEAGE_PAUSE_MS ?? 0);
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}
