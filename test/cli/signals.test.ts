/** The pieces of the stop policy, in process: the shared signal, the line, the trackers. */
import { afterEach, describe, expect, it } from 'vitest';
import { maskRedisUrl, reconnectDelay } from '../../src/backends/redis.ts';
import { parkAfterStop, trackJobs, trackLeases, untilStopped } from '../../src/cli/actions/queue-stop.ts';
import {
  commandSignal,
  describeInterruption,
  installSignalHandlers,
  interruptedBy,
  reportInterruption,
  signalOfExitCode,
} from '../../src/cli/signals.ts';
import type { PollerStateStore } from '../../src/poller/state.ts';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { tempDir } from '../helpers/tmp.ts';

let remove: (() => void) | undefined;
afterEach(() => {
  remove?.();
  remove = undefined;
});

describe('the shared SIGINT/SIGTERM handler', () => {
  it('the first signal aborts the command signal; the line says what was kept; 130/143', () => {
    const before = process.listenerCount('SIGTERM');
    remove = installSignalHandlers({ graceMs: 60_000 });
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    const signal = commandSignal();
    describeInterruption(() => '3 jobs done, no job in flight');
    expect(signal.aborted).toBe(false);
    process.emit('SIGTERM', 'SIGTERM');
    expect(signal.aborted).toBe(true);
    expect(interruptedBy()).toBe('SIGTERM');
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    try {
      expect(reportInterruption('SIGTERM')).toBe(143);
    } finally {
      process.stderr.write = write;
    }
    expect(written).toEqual(['interrupted (SIGTERM): 3 jobs done, no job in flight\n']);
    remove();
    remove = undefined;
    expect(process.listenerCount('SIGTERM')).toBe(before);
    expect(interruptedBy()).toBeUndefined();
  });

  it('maps exit codes back to signals', () => {
    expect(signalOfExitCode(130)).toBe('SIGINT');
    expect(signalOfExitCode(143)).toBe('SIGTERM');
    expect(signalOfExitCode(1)).toBeUndefined();
  });
});

describe('stop helpers of worker and poll', () => {
  it('untilStopped: the result when work ends, undefined once the grace after the abort is over', async () => {
    const ac = new AbortController();
    expect(await untilStopped(Promise.resolve(7), ac.signal, 10)).toBe(7);
    const never = new Promise<number>(() => {});
    const started = Date.now();
    setTimeout(() => ac.abort(), 20);
    expect(await untilStopped(never, ac.signal, 50)).toBeUndefined();
    expect(Date.now() - started).toBeGreaterThanOrEqual(60);
    await expect(
      untilStopped(Promise.reject(new Error('boom')), new AbortController().signal, 10),
    ).rejects.toThrow('boom');
  });

  it('trackJobs counts jobs done and in flight, and says where unfinished ones go', async () => {
    let release: () => void = () => {};
    const jobs = trackJobs(() => new Promise<void>((r) => (release = r)));
    const queue = { kind: 'bullmq' } as Parameters<typeof jobs.stopLine>[0];
    const first = jobs.handler({ id: '1', name: 'n', data: {}, attempt: 1 });
    expect(jobs.stopLine(queue, 30_000)).toBe('0 jobs done, 1 job in flight returned to the queue');
    release();
    await first;
    expect(jobs.stopLine(queue, 30_000)).toBe('1 job done, no job in flight');
    void jobs.handler({ id: '2', name: 'n', data: {}, attempt: 1 });
    expect(jobs.stopLine({ kind: 'sqlite' } as typeof queue, 30_000)).toBe(
      '1 job done, 1 job in flight will run again when its lease ends (30s)',
    );
    jobs.handedBack();
    expect(jobs.stopLine({ kind: 'sqlite' } as typeof queue, 30_000)).toBe(
      '1 job done, 1 job in flight returned to the queue',
    );
  });

  it('trackLeases gives back the leases still held, claims nothing once stopped', async () => {
    const calls: string[] = [];
    const state: PollerStateStore = {
      claim: async (key) => {
        calls.push(`claim ${key}`);
        return { claimed: true };
      },
      renew: async () => {},
      mark: async (key, _etag, status) => {
        calls.push(`mark ${key} ${status}`);
      },
      release: async (key) => {
        calls.push(`release ${key}`);
      },
      close: async () => {},
    };
    const ac = new AbortController();
    const tracked = trackLeases(state, ac.signal);
    await tracked.claim('a', 'e', 1000);
    await tracked.claim('b', 'e', 1000);
    await tracked.mark('a', 'e', 'done');
    ac.abort();
    expect(await tracked.claim('c', 'e', 1000)).toEqual({ claimed: false });
    await tracked.releaseHeld();
    expect(calls).toEqual(['claim a', 'claim b', 'mark a done', 'release b']);
    expect(tracked.stopLine()).toBe(
      '1 object archived or failed, leases of 1 object in flight released (polled again next time)',
    );
  });

  it('parkAfterStop: enqueueing after the stop never settles; reads still answer', async () => {
    const queue = createSqliteQueue({ path: `${tempDir('park')}/q.db`, name: 'p' });
    const ac = new AbortController();
    const parked = parkAfterStop(queue, ac.signal);
    expect(await parked.add({ id: 'x', name: 'n', data: {} })).toBe(true);
    ac.abort();
    const late = await Promise.race([
      parked.addBulk([{ id: 'y', name: 'n', data: {} }]).then(() => 'settled'),
      new Promise((r) => setTimeout(() => r('parked'), 50)),
    ]);
    expect(late).toBe('parked');
    expect((await parked.counts()).waiting).toBe(1);
    await queue.close();
  });
});

describe('Redis connection helpers', () => {
  it('masks the password (or a token user name) of a Redis URL, keeps the rest', () => {
    expect(maskRedisUrl('redis://:hunter2@127.0.0.1:6379/0')).toBe('redis://:********@127.0.0.1:6379/0');
    expect(maskRedisUrl('rediss://user:p%40ss@h:6380/2')).toBe('rediss://user:********@h:6380/2');
    expect(maskRedisUrl('redis://127.0.0.1:6379/0')).toBe('redis://127.0.0.1:6379/0');
  });

  it('reconnects after 100 ms doubling, capped at 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(reconnectDelay)).toEqual([
      100, 200, 400, 800, 1600, 3200, 5000, 5000,
    ]);
  });
});
