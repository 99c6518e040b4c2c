/**
 * Checks of the feed phase, against each stage's documented promise:
 * - fetch → lake: every batch lands whole; a second copy only where an attempt was killed or failed;
 * - poller → queue: exactly one job per record of every object (ids from key + ETag + record);
 * - worker → store: every job completed (at least once), exactly one point per (variable, time).
 */
import { recordJobId } from '../src/poller/poller.ts';
import { resolveSource } from '../src/poller/source.ts';
import { getObject, listObjects, type QueueJob, queueJobs, type S3Object, storePoints } from './inspect.ts';
import { type RoundPlan, roundWindow, type SignalRecord, VARIABLES } from './plan.ts';
import { comparePoints, detail, expectedPoints, type Tally, tally } from './tally.ts';
import { BUCKET, INBOX_KEEP, INCOMING, type World } from './world.ts';

// The poller derives job ids from its source storage's URL (the bucket) and the object's full key.
const source = resolveSource(`s3://${BUCKET}/${INCOMING}`);
const SCOPE = source.storage.url;
void source.storage.close();

export interface FetchAttempts {
  /** Attempts of a batch's fetch that were killed or failed (each may have saved a copy). */
  spoiled: Map<string, number>;
}

export interface LakeObject extends S3Object {
  /** The key it had in the inbox (the poller's job ids are derived from it). */
  sourceKey: string;
  where: 'processed' | 'inbox' | 'failed';
  lines: string[];
  sidecar: boolean;
}

/** Objects of the lake no earlier round claimed. */
export async function roundObjects(world: World, claimed: Set<string>): Promise<LakeObject[]> {
  const out: LakeObject[] = [];
  const places: [LakeObject['where'], string][] = [
    ['processed', 'processed/'],
    ['inbox', INCOMING],
    ['failed', 'failed/'],
  ];
  for (const [where, prefix] of places) {
    for (const o of await listObjects(world.s3, prefix)) {
      if (claimed.has(o.key) || o.key === INBOX_KEEP || o.key.endsWith('.error.json')) continue;
      claimed.add(o.key);
      const name = o.key.slice(prefix.length);
      const text = (await getObject(world.s3, o.key)).toString('utf8');
      const sidecar = name.endsWith('.meta.json');
      out.push({
        ...o,
        sourceKey: INCOMING + name,
        where,
        sidecar,
        lines: sidecar ? [text] : text.split('\n').filter((l) => l !== ''),
      });
    }
  }
  return out;
}

export function checkLake(plan: RoundPlan, objects: LakeObject[], attempts: FetchAttempts): Tally {
  const t = tally(
    'fetch → lake',
    'each batch lands whole; an extra copy only after a killed or failed attempt',
    'records',
  );
  const copies = new Map<string, number>();
  for (const o of objects) {
    if (o.sidecar) continue;
    let records: SignalRecord[];
    try {
      records = o.lines.map((l) => JSON.parse(l) as SignalRecord);
    } catch {
      // Atomic puts never leave such an object: whatever it holds is beyond the promise.
      t.duplicated++;
      detail(t, `${o.key}: not JSONL (${o.size} bytes)`);
      continue;
    }
    const batch = plan.batches.find((b) => b.id === records[0]?.source);
    const whole =
      batch !== undefined &&
      records.length === batch.records.length &&
      records.every((r, i) => JSON.stringify(r) === JSON.stringify(batch.records[i]));
    if (!batch || !whole) {
      t.duplicated += records.length;
      detail(t, `${o.key}: ${records.length} records that are not one whole batch of this round`);
      continue;
    }
    copies.set(batch.id, (copies.get(batch.id) ?? 0) + 1);
  }
  for (const b of plan.batches) {
    const n = copies.get(b.id) ?? 0;
    t.in += b.records.length;
    if (n === 0) {
      t.lost += b.records.length;
      detail(t, `batch ${b.id} (${b.records.length} records) never landed`);
      continue;
    }
    t.out += b.records.length;
    const allowed = 1 + (attempts.spoiled.get(b.id) ?? 0);
    if (n > allowed) {
      t.duplicated += (n - allowed) * b.records.length;
      detail(t, `batch ${b.id} landed ${n} times after ${allowed - 1} spoiled attempts`);
    }
    if (n > 1) t.notes.push(`batch ${b.id}: ${n} copies (${allowed - 1} killed/failed attempts)`);
  }
  return t;
}

export interface QueueCheck {
  queue: Tally;
  worker: Tally;
  jobs: Map<string, QueueJob>;
}

export async function checkQueue(url: string, name: string, objects: LakeObject[]): Promise<QueueCheck> {
  const q = tally(
    'poller → queue',
    'exactly one job per record of every object (key + ETag + record number)',
    'jobs',
  );
  const w = tally(
    'queue → worker',
    'every job completes (at least once); only bad payloads dead-letter',
    'jobs',
  );
  const jobs = await queueJobs(url, name);
  const expected = new Map<string, { object: LakeObject; sidecar: boolean }>();
  for (const o of objects) {
    if (o.where === 'inbox') detail(q, `${o.key} still in the inbox after the round`);
    if (o.where === 'failed') detail(q, `${o.key} moved to failed/ (good content)`);
    o.lines.forEach((_, i) => {
      expected.set(recordJobId(SCOPE, o.sourceKey, o.etag, i + 1), { object: o, sidecar: o.sidecar });
    });
  }
  let sidecarsDead = 0;
  const unfinished = new Map<string, number>();
  for (const [id, want] of expected) {
    const job = jobs.get(id);
    if (!want.sidecar) q.in++;
    if (!job) {
      if (!want.sidecar) q.lost++;
      detail(q, `no job ${id} for ${want.object.key}`);
      continue;
    }
    if (want.sidecar) {
      if (job.state === 'dead' && /invalid ingest_and_score_signal payload/.test(job.error)) sidecarsDead++;
      else detail(w, `sidecar job ${id} is ${job.state}: ${job.error}`);
      continue;
    }
    q.out++;
    w.in++;
    if (job.state === 'completed') w.out++;
    else {
      w.lost++;
      const where = `${job.state} (${job.list})`;
      unfinished.set(where, (unfinished.get(where) ?? 0) + 1);
      detail(
        w,
        `job ${id} (${want.object.key}) is ${job.state} (${job.list})${job.error ? `: ${job.error.slice(0, 200)}` : ''}`,
      );
    }
  }
  for (const [key, job] of jobs) {
    if (expected.has(key)) continue;
    q.duplicated++;
    detail(
      q,
      `job ${key} (${job.state}) matches no record of any object: ${JSON.stringify(job.data).slice(0, 120)}`,
    );
  }
  if (unfinished.size > 0)
    w.details.unshift(
      `jobs not completed, by state: ${[...unfinished].map(([k, n]) => `${n} ${k}`).join(', ')}`,
    );
  if (sidecarsDead > 0)
    w.notes.push(
      `${sidecarsDead} jobs from fetch's .meta.json sidecars dead-lettered (E062), as the handler must`,
    );
  return { queue: q, worker: w, jobs };
}

/** The store holds exactly one point per record of round `round`, and still those of every earlier round. */
export async function checkStore(
  world: World,
  plans: readonly RoundPlan[],
): Promise<{ now: Tally; earlier: Tally }> {
  const now = tally(
    'worker → store',
    'exactly one point per (variable, timestamp), the value sent',
    'points',
  );
  const earlier = tally('store, earlier rounds', 'points of earlier rounds stay exactly as stored', 'points');
  const last = plans.at(-1);
  if (!last) return { now, earlier };
  const rows = await storePoints(
    `${world.disk.dir}/ts`,
    VARIABLES,
    roundWindow(1).from,
    roundWindow(last.round).to,
  );
  for (const plan of plans) {
    const { from, to } = roundWindow(plan.round);
    const inWindow = rows.filter((r) => r.micros >= from * 1000 && r.micros < to * 1000);
    comparePoints(plan === last ? now : earlier, expectedPoints(plan.batches), inWindow);
  }
  return { now, earlier };
}
