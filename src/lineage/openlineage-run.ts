/**
 * OpenLineage events for one sluice run, made from the lineage records it stored: a run per
 * operation (`pipeline.ingest`, `pipeline.transform`, `pipeline.promote`, …) with START at its
 * first intent and COMPLETE at its last commit (FAIL with the first abort's error), inputs and
 * outputs named by storage URL, row counts and sizes as output statistics, all children of one
 * parent run for the sluice run. Built after the run's records are durable, so a collector sees
 * exactly what the lineage log beside the data holds.
 */

import { type DatasetRef, newRunId, runEvent } from './openlineage.ts';
import type { LineageRecord } from './record.ts';

interface OperationRun {
  started: string;
  ended: string;
  inputs: Map<string, DatasetRef>;
  outputs: Map<string, DatasetRef>;
  error?: string;
}

/**
 * The events of sluice run `run` (parent first, then each operation's START and end, in time
 * order); `schemas` are the columns of outputs by intent id (`LineageLog.schemas()`), each an
 * output's schema facet.
 */
export function openLineageEventsOf(
  records: readonly LineageRecord[],
  run: string,
  parentJob: string,
  schemas: ReadonlyMap<string, DatasetRef['fields']> = new Map(),
): object[] {
  const intents = new Map<string, { operation: string; output: string }>();
  const operations = new Map<string, OperationRun>();
  for (const r of records) {
    if (r.kind !== 'intent' || r.run !== run) continue;
    intents.set(r.id, { operation: r.operation, output: r.output });
    let op = operations.get(r.operation);
    if (!op) {
      op = { started: r.at, ended: r.at, inputs: new Map(), outputs: new Map() };
      operations.set(r.operation, op);
    }
    if (r.at < op.started) op.started = r.at;
    for (const input of r.inputs)
      if (input.kind !== 'http' && input.kind !== 'model' && input.url !== undefined)
        op.inputs.set(input.url, { url: input.url });
  }
  for (const r of records) {
    if (r.kind !== 'commit' && r.kind !== 'abort') continue;
    const intent = intents.get(r.id);
    const op = intent && operations.get(intent.operation);
    if (!intent || !op) continue;
    if (r.at > op.ended) op.ended = r.at;
    if (r.kind === 'abort') op.error ??= r.error;
    else {
      const fields = schemas.get(r.id);
      op.outputs.set(intent.output, {
        url: intent.output,
        rows: r.rows ?? 0,
        size: r.size,
        ...(fields ? { fields } : {}),
      });
    }
  }
  if (operations.size === 0) return [];
  const parent = { runId: newRunId(), job: parentJob };
  const runs = [...operations].sort((a, b) => a[1].started.localeCompare(b[1].started));
  const first = runs[0]?.[1].started as string;
  // ISO times of one clock: the text order is the time order.
  const last =
    runs
      .map(([, op]) => op.ended)
      .sort()
      .at(-1) ?? first;
  const failed = runs.find(([, op]) => op.error !== undefined)?.[1].error;
  const whole = { runId: parent.runId, job: parentJob, inputs: [], outputs: [] };
  const events: object[] = [runEvent('START', whole, new Date(first))];
  for (const [operation, op] of runs) {
    const step = {
      runId: newRunId(),
      job: operation,
      inputs: [...op.inputs.values()],
      outputs: [...op.outputs.values()],
      parent,
    };
    events.push(runEvent('START', step, new Date(op.started)));
    events.push(
      op.error === undefined
        ? runEvent('COMPLETE', step, new Date(op.ended))
        : runEvent('FAIL', step, new Date(op.ended), op.error),
    );
  }
  events.push(
    failed === undefined
      ? runEvent('COMPLETE', whole, new Date(last))
      : runEvent('FAIL', whole, new Date(last), failed),
  );
  return events;
}
