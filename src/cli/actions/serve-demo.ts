/**
 * `sluice serve --demo`: serves the project `sluice demo` made — its lake, a time-series store
 * `plant` with a few days of sample readings, and a poller and worker fed from `<demo>/inbox/`
 * (three files on first run: readings that land in the store `signals`, one whose payload the
 * worker refuses, which is dead-lettered, and one that does not parse, which goes to `failed/`),
 * so every view of the dashboard has something to show. Sample data is created on the first run
 * only; later runs serve what is there. When no token is configured, an admin token is made for
 * the run and printed once on stderr (nowhere else).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError } from '../../errors.ts';
import { StoreRegistry } from '../../server/stores.ts';
import type { OpenStorageOptions } from '../../storage/open.ts';
import { type DataPointInput, TimeSeriesStore } from '../../timeseries/index.ts';

/** The store of sample readings the explorer opens with. */
export const DEMO_STORE = 'plant';
/** The store the demo's worker writes the inbox's readings into. */
export const DEMO_SIGNALS_STORE = 'signals';
const DAYS = 3;
const STEP_MS = 10_000;

export interface DemoProject {
  dir: string;
  configFile: string;
}

const isDir = (p: string) => existsSync(p) && statSync(p).isDirectory();

/** A folder `sluice demo` made: its config, models and raw data. */
function isDemoProject(dir: string): boolean {
  return (
    existsSync(path.join(dir, 'sluice.config.yaml')) &&
    isDir(path.join(dir, 'models')) &&
    isDir(path.join(dir, 'data', 'raw'))
  );
}

/**
 * The demo project: `dir` when given, else `./sluice-demo` (where `sluice demo` leaves it), else
 * the current folder when it is one (after `cd sluice-demo`, as the demo's next commands do).
 */
export function findDemoProject(dir: string | undefined, cwd = process.cwd()): DemoProject {
  const candidates = dir ? [path.resolve(cwd, dir)] : [path.join(cwd, 'sluice-demo'), cwd];
  const found = candidates.find(isDemoProject);
  if (!found)
    throw new NotFoundError(
      `No sluice demo project in ${candidates.join(' or ')} (a folder with sluice.config.yaml, models/ and data/raw/): run \`sluice demo\` first, then serve it from the same folder`,
      { context: { path: candidates[0] } },
    );
  return { dir: found, configFile: path.join(found, 'sluice.config.yaml') };
}

/** The poller and worker entries of the demo (as a `serve:` section would name them). */
export function demoTasks(project: DemoProject): {
  pollers: Record<string, unknown>[];
  workers: Record<string, unknown>[];
} {
  const queue = `sqlite:${path.join(project.dir, 'queue.db')}`;
  return {
    pollers: [{ source: path.join(project.dir, 'inbox'), queue, interval: '5s', minAge: '0s' }],
    workers: [
      {
        queue,
        handler: 'ingest_and_score_signal',
        timeseries: DEMO_SIGNALS_STORE,
        attempts: 3,
        backoff: 500,
      },
    ],
  };
}

/** A small deterministic generator, so every demo draws the same curves. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Readings every 10 s over the last three days, ending at the last full hour. */
export function samplePoints(endMs: number): DataPointInput[] {
  const end = Math.floor(endMs / 3_600_000) * 3_600_000;
  const start = end - DAYS * 86_400_000;
  const noise = random(42);
  const points: DataPointInput[] = [];
  for (let t = start; t < end; t += STEP_MS) {
    const day = (2 * Math.PI * (t % 86_400_000)) / 86_400_000;
    const drift = (t - start) / (end - start);
    const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
    const stopped = (t / 3_600_000) % 31 < 0.25; // a pump stop now and then
    points.push(
      { variable: 'boiler.temp', timestamp: t, value: round(71 + 6 * Math.sin(day) + 2 * drift + noise()) },
      {
        variable: 'boiler.pressure',
        timestamp: t,
        value: round(2.1 + 0.25 * Math.sin(day + 1) + 0.05 * noise(), 3),
      },
      {
        variable: 'pump.rpm',
        timestamp: t,
        value: stopped ? 0 : round(1450 + 40 * Math.sin(day * 3) + 10 * noise(), 0),
      },
      {
        variable: 'pump.vibration',
        timestamp: t,
        value: round(0.3 + 0.1 * noise() + (stopped ? 0 : 0.05 * Math.sin(day * 7)), 3),
      },
    );
  }
  return points;
}

/** Creates the store `plant` under the time-series root with sample readings, unless it exists. */
export async function seedDemoStore(
  timeseriesRoot: string,
  storage: OpenStorageOptions = {},
  now = Date.now(),
): Promise<boolean> {
  const url = new StoreRegistry({ root: timeseriesRoot }).urlOf(DEMO_STORE);
  try {
    await (await TimeSeriesStore.open(url, { create: false, readOnly: true, storage })).close();
    return false;
  } catch (error) {
    if (!(error instanceof NotFoundError)) throw error;
  }
  const store = await TimeSeriesStore.open(url, { compactIntervalMs: 0, storage });
  try {
    const points = samplePoints(now);
    for (let i = 0; i < points.length; i += 50_000) await store.storeDataPoints(points.slice(i, i + 50_000));
    await store.compact();
  } finally {
    await store.close();
  }
  return true;
}

/** The inbox's first files (written once: a folder that exists is the user's). */
export async function seedDemoInbox(project: DemoProject, now = Date.now()): Promise<boolean> {
  const inbox = path.join(project.dir, 'inbox');
  if (existsSync(inbox)) return false;
  const staging = `${inbox}.tmp-${process.pid}`;
  await mkdir(staging, { recursive: true });
  const rows = ['name,value,timestamp'];
  for (let i = 0; i < 60; i++) {
    const at = new Date(now - (60 - i) * 60_000).toISOString();
    rows.push(`line.flow,${(12 + 3 * Math.sin(i / 6)).toFixed(2)},${at}`);
  }
  await writeFile(path.join(staging, 'readings.csv'), `${rows.join('\n')}\n`);
  // The worker refuses this payload (value is not a number): the job is dead-lettered at once.
  await writeFile(
    path.join(staging, 'bad-reading.json'),
    '{"name": "line.flow", "value": "n/a", "source": "sensor-7"}\n',
  );
  // This one does not parse: the poller moves it to failed/ with an error report beside it.
  await writeFile(path.join(staging, 'truncated.json'), '{"name": "line.flow", "value": \n');
  await rename(staging, inbox);
  return true;
}

/** An admin token for this run when none is configured; undefined when there are tokens. */
export function demoToken(configured: boolean): string | undefined {
  return configured ? undefined : randomBytes(24).toString('hex');
}
