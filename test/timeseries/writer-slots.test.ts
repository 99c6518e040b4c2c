/**
 * Writer slots under contention: however the claims of several writers interleave, a slot is held
 * by one writer at a time — two writers in one slot share one log and one sequence space, and one's
 * compaction counts the other's points as compacted (they vanish from the store).
 */
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { claimWriterSlot, listSlots, takeIfAbandoned } from '../../src/timeseries/writer-slots.ts';
import { lockHost } from '../../src/util/lock-folder.ts';
import { deadPid } from '../helpers/processes.ts';
import { tempDir } from '../helpers/tmp.ts';
import { readManifestFile } from './helpers.ts';

const FIXTURE = path.join(import.meta.dirname, 'fixtures', 'claim-slot.ts');

/** Starts `n` processes that claim a slot of `root` at once; resolves to the `<id> <dir>` each holds. */
async function claimInProcesses(
  root: string,
  n: number,
): Promise<{ held: string[]; done: () => Promise<void> }> {
  const children = Array.from({ length: n }, () =>
    spawn(process.execPath, [FIXTURE, root], { stdio: ['pipe', 'pipe', 'inherit'] }),
  );
  const lines = children.map(
    (child) =>
      new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString('utf8');
          const m = /^slot (.*)\n/.exec(out);
          if (m) resolve(m[1] as string);
        });
        child.on('exit', (code) => reject(new Error(`claim-slot exited ${code} before claiming`)));
      }),
  );
  // Every child is up and waiting before any claims.
  await new Promise((r) => setTimeout(r, 300));
  for (const child of children) child.stdin.write('go\n');
  const held = await Promise.all(lines);
  return {
    held,
    done: async () => {
      const exits = children.map((c) => new Promise((r) => c.on('exit', r)));
      for (const child of children) child.stdin.end();
      await Promise.all(exits);
    },
  };
}

describe('writer slots', () => {
  it('4 processes claiming at once on a fresh store each hold their own slot (10 rounds)', async () => {
    for (let round = 0; round < 10; round++) {
      const root = path.join(tempDir(`slots-proc-${round}`), 'wal');
      const { held, done } = await claimInProcesses(root, 4);
      try {
        const dirs = held.map((h) => h.slice(h.indexOf(' ') + 1));
        expect(new Set(dirs).size, `slots held in round ${round}: ${held.join(', ')}`).toBe(4);
        // The log root's slot has one id, the one its id file keeps, whoever asked first.
        const rootId = (await fsp.readFile(path.join(root, 'WRITER_ID'), 'utf8')).trim();
        const rootHolder = held.find((h) => h.endsWith(` ${root}`));
        expect(rootHolder).toBe(`${rootId} ${root}`);
        expect((await listSlots(root)).map((s) => s.id).sort()).toEqual(
          held.map((h) => h.split(' ')[0]).sort(),
        );
      } finally {
        await done();
      }
      // Released: nothing of a lock is left beside the logs.
      for (const slot of await listSlots(root))
        expect(await fsp.readdir(slot.dir)).toEqual(slot.dir === root ? ['WRITER_ID', 'writers'] : []);
    }
  }, 120_000);

  it('8 claims at once in one process, 100 rounds: never one slot twice', async () => {
    let shared = 0;
    for (let round = 0; round < 100; round++) {
      const root = path.join(tempDir('slots-inproc'), 'wal');
      const slots = await Promise.all(Array.from({ length: 8 }, () => claimWriterSlot(root)));
      if (new Set(slots.map((s) => s.dir)).size < 8) shared++;
      for (const s of slots) await s.release();
    }
    expect(shared, 'rounds in which two claims got one slot').toBe(0);
  }, 60_000);

  it('a dead writer’s slot is taken by exactly one of 6 takers racing for it', async () => {
    const host = lockHost();
    for (let round = 0; round < 15; round++) {
      const root = path.join(tempDir(`slots-dead-${round}`), 'wal');
      const dir = path.join(root, 'writers', 'abc123');
      await fsp.mkdir(path.join(dir, 'OWNER', `${deadPid()}_${host}_dead`), { recursive: true });
      await fsp.writeFile(path.join(dir, 'wal-0000000000000001.log'), '');
      const taken = await Promise.all(
        Array.from({ length: 6 }, () => takeIfAbandoned({ id: 'abc123', dir })),
      );
      const holders = taken.filter((t) => t !== undefined);
      expect(holders.length, `takers that got the dead writer's slot in round ${round}`).toBe(1);
      const owners = await fsp.readdir(path.join(dir, 'OWNER'));
      expect(owners).toHaveLength(1);
      expect(owners[0]).toMatch(new RegExp(`^${process.pid}_`));
      await holders[0]?.release();
      expect((await fsp.readdir(dir)).sort()).toEqual(['wal-0000000000000001.log']);
    }
  }, 60_000);

  it('a slot an older sluice holds through its LOCK file is not taken while that writer lives; a dead one’s is', async () => {
    const root = path.join(tempDir('slots-legacy'), 'wal');
    const dir = path.join(root, 'writers', 'old1');
    await fsp.mkdir(dir, { recursive: true });
    await fsp.writeFile(path.join(dir, 'wal-0000000000000001.log'), '');
    // This test's own process stands for the live older writer.
    await fsp.writeFile(path.join(dir, 'LOCK'), `${process.pid} ${hostname()}`);
    expect(await takeIfAbandoned({ id: 'old1', dir })).toBeUndefined();
    expect(await fsp.readdir(dir)).not.toContain('OWNER');
    await fsp.writeFile(path.join(dir, 'LOCK'), `${deadPid()} ${hostname()}`);
    const held = await takeIfAbandoned({ id: 'old1', dir });
    expect(held).toBeDefined();
    expect((await fsp.readdir(dir)).sort()).toEqual(['OWNER', 'wal-0000000000000001.log']);
    await held?.release();
  });

  it('a writer whose slot was taken over publishes nothing (E071) and keeps its points in its log', async () => {
    const dir = path.join(tempDir('slots-taken'), 'store');
    const opts = { partitionMs: 3_600_000, compactIntervalMs: 0, compactPoints: 0 };
    const store = await TimeSeriesStore.open(dir, opts);
    const T0 = Date.UTC(2024, 0, 1);
    const points = (from: number) =>
      Array.from({ length: 100 }, (_, i) => ({
        variable: 'v',
        timestamp: T0 + (from + i) * 1000,
        value: from + i,
      }));
    await store.storeDataPoints(points(0));
    await store.compact();
    await store.storeDataPoints(points(100));
    const before = await readManifestFile(dir);
    // Another host broke this writer's lock (it stalled past the heartbeat's limit) and took the slot.
    const [slot] = await listSlots(path.join(dir, 'wal'));
    const lock = path.join(slot?.dir ?? '', 'OWNER');
    const [mine] = await fsp.readdir(lock);
    await fsp.rename(path.join(lock, mine ?? ''), path.join(dir, 'moved-away'));
    await fsp.mkdir(path.join(lock, '4242_otherhost_abc'));
    const error = await store.compact().catch((e) => e);
    expect(error).toMatchObject({ code: 'E071' });
    expect(error.message).toContain(
      `Writer slot ${slot?.dir} is no longer this writer's (held by 4242_otherhost_abc)`,
    );
    expect(await readManifestFile(dir)).toEqual(before);
    expect((await store.queryAll('v')).map((p) => p.value)).toEqual(
      points(0)
        .concat(points(100))
        .map((p) => p.value),
    );
    await store.close();
    // The log still holds the 100 points the refused compaction took.
    await fsp.rm(lock, { recursive: true });
    const again = await TimeSeriesStore.open(dir, { ...opts, readOnly: true });
    expect((await again.queryAll('v')).length).toBe(200);
    await again.close();
  });
});
