/**
 * Many writers, one store (issue #22): writer processes with separate home folders and different
 * spellings of the store's URL append at once, compacting at random; one is killed with SIGKILL
 * as it starts a compaction and restarted. Every acknowledged point must be in the store exactly once at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'multi-writer.ts');

interface Writer {
  proc: ChildProcess;
  /** Highest index acknowledged so far (-1: none). */
  acked: number;
  lines: string[];
  exited: Promise<number | null>;
}

function startWriter(
  url: string,
  tag: string,
  from: number,
  to: number,
  env: NodeJS.ProcessEnv,
  lease?: string,
): Writer {
  const proc = spawn(
    process.execPath,
    [FIXTURE, url, tag, String(from), String(to), ...(lease ? [lease] : [])],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const w: Writer = {
    proc,
    acked: from - 1,
    lines: [],
    exited: new Promise((r) => proc.on('exit', (code) => r(code))),
  };
  let rest = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const line of parts) {
      w.lines.push(line);
      const ack = /^ack (\d+)$/.exec(line);
      if (ack) w.acked = Number(ack[1]);
    }
  });
  let stderr = '';
  proc.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  w.exited = w.exited.then((code) => {
    if (code !== 0 && code !== null && code !== 3) throw new Error(`writer ${tag} exited ${code}: ${stderr}`);
    return code;
  });
  return w;
}

async function until(check: () => boolean, what: string, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every point of `w-<tag>` in the store, as values in time order. */
async function valuesOf(store: TimeSeriesStore, tag: string): Promise<number[]> {
  return (await store.queryAll(`w-${tag}`)).map((p) => p.value as number);
}

/**
 * Runs `tags.length` writers of `perWriter` points each; kills the second once it has acked a
 * third of its points, restarts it from its last ack (same home folder, same spelling), and checks
 * that every point of every writer is in the store exactly once.
 */
async function writeConcurrently(options: {
  spellings: string[];
  perWriter: number;
  env: (tag: string) => NodeJS.ProcessEnv;
  lease?: string;
  open: () => Promise<TimeSeriesStore>;
}): Promise<void> {
  const tags = options.spellings.map((_, i) => `t${i}`);
  const writers = tags.map((tag, i) =>
    startWriter(options.spellings[i] as string, tag, 0, options.perWriter, options.env(tag), options.lease),
  );
  const victim = writers[1] as Writer;
  await until(() => victim.acked >= options.perWriter / 3, 'the writer to kill to ack a third of its points');
  // Killed as it starts a compaction (its next one), so the run is cut off in flight.
  const compactions = victim.lines.filter((l) => l === 'compacting').length;
  await until(
    () =>
      victim.lines.filter((l) => l === 'compacting').length > compactions || victim.lines.at(-1) === 'done',
    'the writer to kill to start a compaction',
  );
  victim.proc.kill('SIGKILL');
  await victim.exited;
  // Its last compaction may be the final one: the restart then only recovers and compacts.
  const lastAck = victim.acked;
  const restarted = startWriter(
    options.spellings[1] as string,
    tags[1] as string,
    lastAck + 1,
    options.perWriter,
    options.env(tags[1] as string),
    options.lease,
  );
  for (const w of [...writers.filter((w) => w !== victim), restarted]) {
    expect(await w.exited, w.lines.slice(-3).join('\n')).toBe(0);
    expect(w.lines.at(-1)).toBe('done');
  }
  const store = await options.open();
  try {
    const expected = Array.from({ length: options.perWriter }, (_, i) => i);
    for (const tag of tags) expect(await valuesOf(store, tag), `points of writer ${tag}`).toEqual(expected);
  } finally {
    await store.close();
  }
}

describe('many writers, one store', () => {
  it('on a local path: 4 writer processes × 50,000 points, separate homes, four spellings, one killed as it compacts and restarted', async () => {
    const dir = path.join(tempDir('ts-multi'), 'store');
    const homes = new Map<string, string>();
    await writeConcurrently({
      spellings: [dir, `${dir}/`, path.relative(process.cwd(), dir), `file://${dir}`],
      perWriter: 50_000,
      env: (tag) => {
        if (!homes.has(tag)) homes.set(tag, tempDir(`home-${tag}`));
        return { HOME: homes.get(tag) };
      },
      open: () => TimeSeriesStore.open(dir, { readOnly: true, partitionMs: 3_600_000 }),
    });
  }, 300_000);

  it('on S3 with a Redis lease: 4 writer processes × 50,000 points, separate homes, four spellings, one killed as it compacts and restarted', async () => {
    const b = await freshBucket('ts-multi');
    const homes = new Map<string, string>();
    await writeConcurrently({
      spellings: [b.url('w'), b.url('w/'), `S3://${b.bucket}/w`, `S3://${b.bucket}/w/`],
      perWriter: 50_000,
      env: (tag) => {
        if (!homes.has(tag)) homes.set(tag, tempDir(`home-${tag}`));
        return { HOME: homes.get(tag), ...b.env };
      },
      lease: 'redis://127.0.0.1:6379/0',
      open: () =>
        TimeSeriesStore.open(b.url('w'), {
          readOnly: true,
          partitionMs: 3_600_000,
          storage: s3Options(),
          walDir: path.join(tempDir('ts-multi-reader'), 'wal'),
        }),
    });
  }, 300_000);

  it('on S3 without a lease, a second writer from another home folder is refused with E071, and the first keeps writing', async () => {
    const b = await freshBucket('ts-nolease');
    const first = startWriter(b.url('w'), 'a', 0, 3_000, {
      HOME: tempDir('home-a'),
      LINGER_MS: '4000',
      ...b.env,
    });
    await until(() => first.lines.includes('ready'), 'the first writer to open');
    const second = startWriter(`${b.url('w')}/`, 'b', 0, 1_000, { HOME: tempDir('home-b'), ...b.env });
    expect(await second.exited).toBe(3);
    expect(second.lines[0]).toMatch(/^refused E071 .*also written by process \d+ .*lease/);
    expect(await first.exited).toBe(0);
    const store = await TimeSeriesStore.open(b.url('w'), {
      readOnly: true,
      partitionMs: 3_600_000,
      storage: s3Options(),
      walDir: path.join(tempDir('ts-nolease-reader'), 'wal'),
    });
    try {
      expect(await valuesOf(store, 'a')).toEqual(Array.from({ length: 3_000 }, (_, i) => i));
      expect(await valuesOf(store, 'b')).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('two readers query while two writers append and compact: no error, never fewer points than were acknowledged', async () => {
    const dir = path.join(tempDir('ts-readers'), 'store');
    const writers = ['r0', 'r1'].map((tag) =>
      startWriter(dir, tag, 0, 30_000, { HOME: tempDir(`home-${tag}`) }),
    );
    await until(() => writers.every((w) => w.lines.includes('ready')), 'the writers to open');
    const readers = await Promise.all(
      [0, 1].map(() => TimeSeriesStore.open(dir, { readOnly: true, partitionMs: 3_600_000 })),
    );
    const acked = () => writers.reduce((sum, w) => sum + w.acked + 1, 0);
    let queries = 0;
    const errors: unknown[] = [];
    const running = () => writers.some((w) => w.lines.at(-1) !== 'done');
    await Promise.all(
      readers.map(async (reader) => {
        while (running()) {
          const before = acked();
          try {
            let seen = 0;
            for (const tag of ['r0', 'r1']) seen += (await reader.queryAll(`w-${tag}`)).length;
            expect(seen).toBeGreaterThanOrEqual(before);
            queries++;
          } catch (error) {
            errors.push(error);
            return;
          }
        }
      }),
    );
    for (const w of writers) expect(await w.exited).toBe(0);
    await Promise.all(readers.map((r) => r.close()));
    expect(errors).toEqual([]);
    expect(queries).toBeGreaterThan(4);
  }, 180_000);

  it('a writer that opens compacts the logs of every writer that is gone, not only the slot it takes', async () => {
    const dir = path.join(tempDir('ts-abandoned'), 'store');
    // Two writers acknowledge every point, then are killed before their first compaction.
    const writers = ['g0', 'g1'].map((tag) =>
      startWriter(dir, tag, 0, 2_000, { LINGER_MS: '60000', NO_RANDOM_COMPACT: '1' }),
    );
    await until(() => writers.every((w) => w.acked === 1_999), 'both writers to acknowledge every point');
    for (const w of writers) w.proc.kill('SIGKILL');
    for (const w of writers) await w.exited;
    // It takes one of the two slots as its own (compact() covers that one); the other is compacted at open.
    const store = await TimeSeriesStore.open(dir, { partitionMs: 3_600_000, compactIntervalMs: 0 });
    // What the open compacted is in what this writer reads at once, not after its own next compaction.
    for (const tag of ['g0', 'g1'])
      expect(await valuesOf(store, tag), `${tag} read by the writer that opened`).toEqual(
        Array.from({ length: 2_000 }, (_, i) => i),
      );
    await store.compact();
    await store.close();
    // Without the logs: every point is in segments now.
    const segmentsOnly = await TimeSeriesStore.open(dir, {
      readOnly: true,
      readWalTail: false,
      partitionMs: 3_600_000,
    });
    try {
      for (const tag of ['g0', 'g1'])
        expect(await valuesOf(segmentsOnly, tag), tag).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
    } finally {
      await segmentsOnly.close();
    }
  }, 120_000);
});
