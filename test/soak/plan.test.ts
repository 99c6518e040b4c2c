/**
 * The fault soak's replay promise (docs/soak.md): a seed fixes the data and the fault plan of
 * every round, and each concern draws from its own stream, so one more draw in one place does
 * not move the others. (The soak itself is `npm run soak`, not a test.)
 */
import { describe, expect, it } from 'vitest';
import { PROFILES, planRound } from '../../soak/plan.ts';
import { Rng } from '../../soak/rng.ts';

describe('soak plan', () => {
  it('a seed gives the same rounds: data, queue driver, fault timeline', () => {
    const a = [1, 2, 3].map((r) => planRound(PROFILES.short, r, new Rng(123), 'redis'));
    const b = [1, 2, 3].map((r) => planRound(PROFILES.short, r, new Rng(123), 'redis'));
    expect(b).toEqual(a);
    const other = planRound(PROFILES.short, 1, new Rng(124), 'redis');
    expect(other.events).not.toEqual(a[0]?.events);
  });

  it('rounds alternate the queue driver and keep their records apart', () => {
    const rounds = [1, 2, 3, 4].map((r) => planRound(PROFILES.short, r, new Rng(9), 'sqlite'));
    expect(rounds.map((r) => r.queueKind)).toEqual(['sqlite', 'redis', 'sqlite', 'redis']);
    const keys = rounds.flatMap((r) =>
      r.batches.flatMap((b) => b.records.map((x) => `${x.name}|${x.timestamp}`)),
    );
    expect(new Set(keys).size).toBe(keys.length);
    for (const r of rounds) {
      for (const b of r.batches)
        for (const x of b.records) {
          expect(x.timestamp >= r.fromIso && x.timestamp < r.toIso).toBe(true);
        }
      expect(r.events.map((e) => e.at)).toEqual([...r.events.map((e) => e.at)].sort((x, y) => x - y));
      expect(r.events.filter((e) => e.kind === 'redis-restart').length).toBe(
        r.queueKind === 'redis' ? PROFILES.short.redisRestarts : 0,
      );
    }
  });

  it('forked streams do not move each other', () => {
    const root = new Rng(77);
    const first = root.fork('kills');
    const drawn = [first.float(), first.float()];
    const again = new Rng(77);
    again.fork('proxy').float(); // another concern draws first
    const second = again.fork('kills');
    expect([second.float(), second.float()]).toEqual(drawn);
  });
});
