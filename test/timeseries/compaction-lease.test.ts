/**
 * The lock-folder compaction lease under contention. Two takers that both see a dead holder's
 * lock must not both break it (the second would move away the lock the first just took), and a
 * waiter that saw the lock gone (released, not dead) must not break the lock a third holder has
 * just taken: either way two would compact at once.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileLease, redisLease } from '../../src/timeseries/compaction-lease.ts';
import { lockHost } from '../../src/util/lock-folder.ts';
import { deadPid } from '../helpers/processes.ts';
import { freePort, startRedisServer } from '../helpers/redis-server.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('lock-folder compaction lease', () => {
  it('lets one taker at a time in when many race for a dead holder’s lock', async () => {
    const host = lockHost();
    let inside = 0;
    let most = 0;
    let runs = 0;
    for (let round = 0; round < 15; round++) {
      const walRoot = tempDir(`lease-${round}`);
      const lock = path.join(walRoot, 'COMPACT.lock');
      await fsp.mkdir(path.join(lock, `${deadPid()}_${host}_dead${round}`), { recursive: true });
      await Promise.all(
        Array.from({ length: 6 }, () =>
          fileLease(walRoot, 'test store').hold(async (guard) => {
            inside++;
            most = Math.max(most, inside);
            await new Promise((r) => setTimeout(r, 2));
            await guard.assertHeld();
            inside--;
            runs++;
          }),
        ),
      );
      // Released by the last holder; no trash or staging folder of a taker is left.
      expect(await fsp.readdir(walRoot)).toEqual([]);
    }
    expect(runs).toBe(90);
    expect(most, 'takers that held the lease at the same moment').toBe(1);
  }, 60_000);

  it('6 holders × 60 runs: never two inside at once, never taken over', async () => {
    const walRoot = tempDir('lease-contention');
    let inside = 0;
    let most = 0;
    const failures: unknown[] = [];
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const lease = fileLease(walRoot, 'test-store');
        for (let run = 0; run < 60; run++) {
          await lease
            .hold(async (guard) => {
              inside++;
              most = Math.max(most, inside);
              await new Promise((r) => setTimeout(r, Math.random() * 3));
              await guard.assertHeld();
              inside--;
            })
            .catch((error: unknown) => {
              inside--;
              failures.push(error);
            });
        }
      }),
    );
    expect(failures).toEqual([]);
    expect(most).toBe(1);
  }, 120_000);
});

describe('Redis compaction lease', () => {
  it('a first connection that failed (Redis down) is tried again at the next compaction, not kept failed', async () => {
    const port = await freePort();
    const lease = redisLease(`redis://127.0.0.1:${port}/0`, `digest-${port}`, 'test store', {
      connectTimeoutMs: 300,
    });
    let ran = 0;
    await expect(lease.hold(async () => ran++)).rejects.toMatchObject({ code: 'E060' });
    expect(ran, 'nothing ran without the lease').toBe(0);
    const redis = await startRedisServer({ port });
    try {
      await lease.hold(async (guard) => {
        await guard.assertHeld();
        ran++;
      });
      expect(ran).toBe(1);
    } finally {
      await lease.close();
      await redis.stop('SIGKILL');
    }
  }, 30_000);
});
