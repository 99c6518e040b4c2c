/**
 * OpenLineage run events for a worker (docs/lineage.md): its jobs are grouped into batches (the
 * jobs begun within `batchMs`, at most `batchJobs` of them), and each batch is a run — a START
 * when its first job begins, a COMPLETE once its last job has ended (a FAIL, with the first error,
 * when any of its jobs failed). Inputs are the objects its jobs were read from (the poller names
 * each job's object version); outputs, the time-series store with the points stored as its row count.
 * Delivery never fails a job: the transport logs what it cannot send.
 */
import {
  createOpenLineageEmitter,
  type DatasetRef,
  newRunId,
  type OpenLineageTarget,
  runEvent,
} from '../lineage/index.ts';
import type { JobHandler } from '../queue/types.ts';

export interface WorkerRunsOptions {
  target: OpenLineageTarget;
  /** The job name runs are reported under. @default 'sluice.worker' */
  job?: string;
  /** The store (URL or path) the handler writes to, when it writes to one. */
  output?: string;
  /** @default 1000 */
  batchMs?: number;
  /** @default 1000 */
  batchJobs?: number;
}

interface Batch {
  runId: string;
  inputs: Map<string, DatasetRef>;
  jobs: number;
  stored: number;
  running: number;
  open: boolean;
  error?: unknown;
  timer?: NodeJS.Timeout;
}

export interface WorkerRuns {
  handler: JobHandler;
  /** Ends the open batch (once its jobs have ended) and waits until every event is sent. */
  close(): Promise<void>;
}

export function withRunEvents(handler: JobHandler, options: WorkerRunsOptions): WorkerRuns {
  const emitter = createOpenLineageEmitter(options.target);
  const job = options.job ?? 'sluice.worker';
  const outputs = options.output === undefined ? [] : [options.output];
  let sending: Promise<void> = Promise.resolve();
  let current: Batch | undefined;
  const send = (event: object) => {
    sending = sending.then(() => emitter.emit(event)).catch(() => {});
  };
  const run = (b: Batch) => ({
    runId: b.runId,
    job,
    inputs: [...b.inputs.values()],
    outputs: outputs.map((url) => ({ url, rows: b.stored })),
  });
  const close = (b: Batch) => {
    if (b.open) {
      b.open = false;
      clearTimeout(b.timer);
      if (current === b) current = undefined;
    }
    if (b.running > 0) return;
    send(
      b.error === undefined ? runEvent('COMPLETE', run(b)) : runEvent('FAIL', run(b), new Date(), b.error),
    );
  };
  const batch = (): Batch => {
    if (current?.open && current.jobs < (options.batchJobs ?? 1000)) return current;
    if (current) close(current);
    const b: Batch = { runId: newRunId(), inputs: new Map(), jobs: 0, stored: 0, running: 0, open: true };
    b.timer = setTimeout(() => close(b), options.batchMs ?? 1000);
    b.timer.unref();
    current = b;
    return b;
  };
  return {
    handler: async (j) => {
      const b = batch();
      b.jobs++;
      b.running++;
      if (j.source) b.inputs.set(j.source.url, { url: j.source.url });
      if (b.jobs === 1) send(runEvent('START', run(b)));
      try {
        await handler(j);
        b.stored++;
      } catch (error) {
        b.error ??= error;
        throw error;
      } finally {
        b.running--;
        if (!b.open) close(b);
      }
    },
    async close() {
      if (current) close(current);
      await sending;
    },
  };
}
