import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSqliteStateStore, ownerIsDeadLocally, type PollerStateStore } from '../../src/poller/state.ts';
import { createRedisStateStore } from '../../src/poller/state-redis.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('poller-state');

function stateConformance(label: string, open: (scope: string) => PollerStateStore) {
  describe(`poller state: ${label}`, () => {
    it('one claim at a time; done objects are never claimed again; release frees the lease', async () => {
      const scope = `scope-${randomBytes(4).toString('hex')}`;
      const a = open(scope);
      const b = open(scope);
      try {
        expect(await a.claim('k/1.json', 'e1', 60_000)).toEqual({ claimed: true });
        expect(await b.claim('k/1.json', 'e1', 60_000)).toEqual({ claimed: false });
        // Another ETag of the same key is another object.
        expect((await b.claim('k/1.json', 'e2', 60_000)).claimed).toBe(true);
        await a.mark('k/1.json', 'e1', 'enqueued');
        await a.release('k/1.json', 'e1');
        expect(await b.claim('k/1.json', 'e1', 60_000)).toEqual({ claimed: true, status: 'enqueued' });
        await b.mark('k/1.json', 'e1', 'done');
        expect(await a.claim('k/1.json', 'e1', 60_000)).toEqual({ claimed: false, status: 'done' });
        await b.mark('k/1.json', 'e2', 'failed');
        expect(await a.claim('k/1.json', 'e2', 60_000)).toEqual({ claimed: false, status: 'failed' });
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('an expired lease can be taken over; renew keeps it', async () => {
      const scope = `scope-${randomBytes(4).toString('hex')}`;
      const a = open(scope);
      const b = open(scope);
      try {
        expect((await a.claim('x.csv', 'e', 150)).claimed).toBe(true);
        await new Promise((r) => setTimeout(r, 100));
        await a.renew('x.csv', 'e', 300);
        await new Promise((r) => setTimeout(r, 100));
        expect((await b.claim('x.csv', 'e', 150)).claimed).toBe(false);
        await new Promise((r) => setTimeout(r, 300));
        expect((await b.claim('x.csv', 'e', 150)).claimed).toBe(true);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}

stateConformance('sqlite', (scope) => createSqliteStateStore(path.join(dir, 'state.db'), scope));
const redisPrefix = `sluice-test-${randomBytes(3).toString('hex')}`;
stateConformance('redis', (scope) =>
  createRedisStateStore({ url: 'redis://127.0.0.1:6379/0', prefix: redisPrefix }, scope),
);

describe('ownerIsDeadLocally', () => {
  it('is true only for a pid on this host that has exited', () => {
    const exited = spawnSync(process.execPath, [
      '-e',
      'process.stdout.write(String(process.pid))',
    ]).stdout.toString();
    expect(ownerIsDeadLocally(`${hostname()}|${exited}|x`)).toBe(true);
    expect(ownerIsDeadLocally(`${hostname()}|${process.pid}|x`)).toBe(false);
    expect(ownerIsDeadLocally(`other-host|${exited}|x`)).toBe(false);
    expect(ownerIsDeadLocally('garbage')).toBe(false);
  });
});
