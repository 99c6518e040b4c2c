/** OpenLineage runs of a worker's batches (src/jobs/worker-runs.ts), checked against the spec. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { withRunEvents } from '../../src/jobs/index.ts';
import type { Job } from '../../src/queue/types.ts';
import { tempDir } from '../helpers/tmp.ts';
import { openLineageValidator } from './openlineage-schema.ts';

const job = (id: string, key?: string): Job => ({
  id,
  name: 'n',
  data: {},
  attempt: 1,
  ...(key ? { source: { url: `s3://bucket/${key}`, etag: `"${key}"` } } : {}),
});

describe('worker batches as OpenLineage runs', () => {
  it('a START and a COMPLETE per batch, a FAIL naming the first error when a job failed', async () => {
    const file = path.join(tempDir('worker-runs'), 'events.jsonl');
    const runs = withRunEvents(
      async (j) => {
        if (j.id === 'bad')
          throw new Error('value must be a finite number (from https://api.example.com/v1?token=abc123)');
      },
      {
        target: { file },
        job: 'sluice.worker.test',
        output: 'file:///data/ts',
        batchJobs: 2,
        batchMs: 60_000,
      },
    );
    await runs.handler(job('a', 'in/a.json'));
    await runs.handler(job('b', 'in/b.json'));
    await runs.handler(job('c', 'in/c.json'));
    await expect(runs.handler(job('bad'))).rejects.toThrow('finite');
    await runs.close();
    const events = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const validate = openLineageValidator();
    for (const e of events) expect(validate(e)).toEqual([]);
    expect(events.map((e) => e.eventType)).toEqual(['START', 'COMPLETE', 'START', 'FAIL']);
    const [, first, , second] = events;
    expect(first.run.runId).toBe(events[0].run.runId);
    expect(first.inputs).toEqual([
      { namespace: 's3://bucket', name: 'in/a.json' },
      { namespace: 's3://bucket', name: 'in/b.json' },
    ]);
    expect(first.outputs[0]).toMatchObject({ namespace: 'file', name: '/data/ts' });
    expect(first.outputs[0].outputFacets.outputStatistics.rowCount).toBe(2);
    expect(second.run.runId).not.toBe(first.run.runId);
    expect(second.outputs[0].outputFacets).toBeUndefined();
    expect(second.run.facets.errorMessage.message).toContain('value must be a finite number');
    expect(JSON.stringify(second)).not.toContain('abc123');
  });
});
