/**
 * The writer's read-modify-write lock under contention: takers racing for a dead holder's lock
 * must not both break it (the second would remove the lock the first just took), so never two run
 * at once; a live holder's lock is broken only once its heartbeat is older than `staleMs`.
 */
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockHost } from '../../src/util/lock-folder.ts';
import { withLock } from '../../src/writer/lock.ts';
import { deadPid } from '../helpers/processes.ts';
import { tempDir } from '../helpers/tmp.ts';

const host = lockHost();

describe('writer lock', () => {
  it('6 takers racing for a dead holder’s lock run one at a time (15 rounds)', async () => {
    let inside = 0;
    let most = 0;
    let runs = 0;
    for (let round = 0; round < 15; round++) {
      const dir = tempDir(`wlock-${round}`);
      const lock = path.join(dir, '.out.json.lock');
      await fsp.mkdir(path.join(lock, `${deadPid()}_${host}_dead`), { recursive: true });
      await Promise.all(
        Array.from({ length: 6 }, () =>
          withLock(lock, async () => {
            inside++;
            most = Math.max(most, inside);
            await new Promise((r) => setTimeout(r, 2));
            inside--;
            runs++;
          }),
        ),
      );
      expect(await fsp.readdir(dir), 'left beside the output').toEqual([]);
    }
    expect(runs).toBe(90);
    expect(most, 'holders at the same moment').toBe(1);
  }, 60_000);

  it('a live holder’s lock is waited for (E071 at the timeout); one silent for longer than staleMs is broken', async () => {
    const dir = tempDir('wlock-live');
    const lock = path.join(dir, '.out.json.lock');
    // This test's own process stands for the live holder.
    const owner = path.join(lock, `${process.pid}_${host}_other`);
    await fsp.mkdir(owner, { recursive: true });
    const ran: string[] = [];
    const refused = await withLock(lock, async () => ran.push('first'), { timeoutMs: 150 }).catch((e) => e);
    expect(refused).toMatchObject({ code: 'E071' });
    expect(refused.message).toContain(lock);
    expect(ran).toEqual([]);
    const long = new Date(Date.now() - 10_000);
    await fsp.utimes(owner, long, long);
    await withLock(lock, async () => ran.push('second'), { timeoutMs: 2_000, staleMs: 5_000 });
    expect(ran).toEqual(['second']);
    expect(await fsp.readdir(dir)).toEqual([]);
  });
});
