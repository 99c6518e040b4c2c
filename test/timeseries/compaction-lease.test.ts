/**
 * The lock-folder lease under contention: holders released and taken in quick succession must
 * never be broken by a waiter that saw the lock gone (it was released, not dead) and then renamed
 * away the lock a third holder had just taken.
 */
import { describe, expect, it } from 'vitest';
import { fileLease } from '../../src/timeseries/compaction-lease.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('compaction lease (lock folder)', () => {
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
