/**
 * Profiles and the seeded plan of each round: which queue driver it uses, the records of its
 * batches, and when each fault lands. Everything here comes from the seed.
 */
import type { ApiFaultRates } from './api-server.ts';
import type { Rng } from './rng.ts';

export interface ProxyRates {
  reset: number;
  short: number;
  stall: number;
  stallMs: number;
  slowDown: number;
  slowDownOther: number;
  /** Uploads (PutObject, UploadPart) cut by a reset after half their body. */
  putReset: number;
  /** A read is reset once this many passed whole: a run always sees resets (CI once saw none). */
  resetAtLeastEvery: number;
}

export interface Profile {
  name: 'short' | 'long';
  rounds: number;
  batchesPerRound: number;
  recordsPerBatch: [number, number];
  /** Gap between two fetches (ms). */
  fetchGapMs: [number, number];
  /** Faults of the feed phase of one round. */
  pollerKills: number;
  workerKills: number;
  redisRestarts: number;
  diskFullWindows: number;
  diskFullHoldMs: [number, number];
  /** Chance that one attempt of a one-shot command (fetch, export, write, …) is killed. */
  oneShotKillChance: number;
  /** Chance that a downstream stage runs into a full disk. */
  downstreamDiskFullChance: number;
  proxy: ProxyRates;
  api: ApiFaultRates;
  /** Longest wait for the flow to drain after the faults of a round (ms). */
  settleTimeoutMs: number;
}

const PROXY: ProxyRates = {
  reset: 0.05,
  short: 0.03,
  stall: 0.05,
  stallMs: 1500,
  slowDown: 0.04,
  slowDownOther: 0.03,
  putReset: 0.03,
  resetAtLeastEvery: 40,
};
const API: ApiFaultRates = {
  unavailable: 0.2,
  reset: 0.15,
  stall: 0.15,
  stallMs: 1500,
  maxFaultsPerBatch: 2,
};

export const PROFILES: Record<Profile['name'], Profile> = {
  short: {
    name: 'short',
    rounds: 4,
    batchesPerRound: 10,
    recordsPerBatch: [200, 400],
    fetchGapMs: [200, 900],
    pollerKills: 2,
    workerKills: 2,
    redisRestarts: 1,
    diskFullWindows: 1,
    diskFullHoldMs: [1500, 4000],
    oneShotKillChance: 0.3,
    downstreamDiskFullChance: 0.6,
    proxy: PROXY,
    api: API,
    settleTimeoutMs: 180_000,
  },
  long: {
    name: 'long',
    rounds: 20,
    batchesPerRound: 10,
    recordsPerBatch: [150, 400],
    fetchGapMs: [200, 1200],
    pollerKills: 3,
    workerKills: 3,
    redisRestarts: 2,
    diskFullWindows: 2,
    diskFullHoldMs: [1500, 5000],
    oneShotKillChance: 0.3,
    downstreamDiskFullChance: 0.5,
    proxy: PROXY,
    api: API,
    settleTimeoutMs: 240_000,
  },
};

export const VARIABLES = ['soak_temp', 'soak_rpm', 'soak_load', 'soak_flow', 'soak_volt', 'soak_lux'];
/** Round r's points lie in hour r of 2030-01-01 UTC; record k of a round at k ms into it. */
const BASE_MS = Date.UTC(2030, 0, 1);

export interface SignalRecord {
  name: string;
  value: number;
  timestamp: string;
  source: string;
}

export interface Batch {
  id: string;
  records: SignalRecord[];
}

export type FaultEvent =
  | { at: number; kind: 'kill-poller' }
  | { at: number; kind: 'kill-worker' }
  | { at: number; kind: 'redis-restart'; downMs: number }
  | { at: number; kind: 'disk-full'; holdMs: number };

export interface RoundPlan {
  round: number;
  queueKind: 'sqlite' | 'redis';
  batches: Batch[];
  gapsMs: number[];
  /** Sorted by `at` (ms after the round starts). */
  events: FaultEvent[];
  /** The downstream stage that meets a full disk, if any, and when. */
  downstreamDiskFull?: { stage: 'export' | 'ingest-csv' | 'sync-down'; delayMs: number; holdMs: number };
  fromIso: string;
  toIso: string;
}

export function roundWindow(round: number): { from: number; to: number } {
  const from = BASE_MS + (round - 1) * 3_600_000;
  return { from, to: from + 3_600_000 };
}

export function planRound(
  profile: Profile,
  round: number,
  rng: Rng,
  firstKind: 'sqlite' | 'redis',
): RoundPlan {
  const r = rng.fork(`round-${round}`);
  const other = firstKind === 'sqlite' ? 'redis' : 'sqlite';
  const queueKind = round % 2 === 1 ? firstKind : other;
  const { from, to } = roundWindow(round);
  const batches: Batch[] = [];
  let k = 0;
  for (let b = 1; b <= profile.batchesPerRound; b++) {
    const id = `r${round}b${b}`;
    const n = r.int(...profile.recordsPerBatch);
    const records: SignalRecord[] = [];
    for (let i = 0; i < n; i++, k++) {
      records.push({
        name: VARIABLES[k % VARIABLES.length] ?? 'soak_temp',
        value: round * 1_000_000 + k,
        timestamp: new Date(from + k).toISOString(),
        source: id,
      });
    }
    batches.push({ id, records });
  }
  const gapsMs = batches.map(() => r.int(...profile.fetchGapMs));
  // Faults land while the batches arrive: about 1.2 s per fetch plus its gap.
  const span = gapsMs.reduce((a, g) => a + g + 1200, 0);
  const events: FaultEvent[] = [];
  const at = () => r.int(Math.floor(span * 0.05), Math.floor(span * 0.9));
  for (let i = 0; i < profile.pollerKills; i++) events.push({ at: at(), kind: 'kill-poller' });
  for (let i = 0; i < profile.workerKills; i++) events.push({ at: at(), kind: 'kill-worker' });
  if (queueKind === 'redis')
    for (let i = 0; i < profile.redisRestarts; i++)
      events.push({ at: at(), kind: 'redis-restart', downMs: r.int(500, 3000) });
  for (let i = 0; i < profile.diskFullWindows; i++)
    events.push({ at: at(), kind: 'disk-full', holdMs: r.int(...profile.diskFullHoldMs) });
  events.sort((a, b) => a.at - b.at);
  const plan: RoundPlan = {
    round,
    queueKind,
    batches,
    gapsMs,
    events,
    fromIso: new Date(from).toISOString(),
    toIso: new Date(to).toISOString(),
  };
  if (r.chance(profile.downstreamDiskFullChance)) {
    plan.downstreamDiskFull = {
      stage: r.pick(['export', 'ingest-csv', 'sync-down'] as const),
      delayMs: r.int(0, 400),
      holdMs: r.int(...profile.diskFullHoldMs),
    };
  }
  return plan;
}
