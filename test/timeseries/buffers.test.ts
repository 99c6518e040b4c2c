/**
 * The buffers of points not yet compacted: committed batches are kept as they are and distributed
 * to per-variable buffers while the log waits for an fsync, or when read. Whatever the order of commits, reads and freezes, every
 * read must see exactly the points committed so far, sorted, with duplicates resolved.
 */

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildBatch } from '../../src/timeseries/batch.ts';
import { expectedSetPoints, PointBuffers } from '../../src/timeseries/buffers.ts';
import type { Columns } from '../../src/timeseries/columns.ts';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { ownColumns } from '../../src/timeseries/own-columns.ts';
import type { SeriesBuffer } from '../../src/timeseries/series-buffer.ts';
import type { DataPointInput } from '../../src/timeseries/types.ts';
import fc from '../helpers/fc.ts';
import { tempDir } from '../helpers/tmp.ts';

type Row = { micros: number; seq: number; value: unknown; meta: string | undefined };

function rows(c: Columns): Row[] {
  const out: Row[] = [];
  for (let i = 0; i < c.length; i++)
    out.push({
      micros: c.micros[i] as number,
      seq: c.seq[i] as number,
      value: c.type[i] === 2 ? c.strs[i] : c.type[i] === 0 ? null : c.num[i],
      meta: c.metas[i],
    });
  return out;
}

/** The model: every committed point of `variable` sorted by (micros, seq), the last per micros unless kept. */
function expected(points: (DataPointInput & { seq: number })[], variable: string, keep: boolean): Row[] {
  const mine = points
    .filter((p) => p.variable === variable)
    .map((p) => ({
      micros: (p.timestamp as number) * 1000,
      seq: p.seq,
      value: typeof p.value === 'boolean' ? (p.value ? 1 : 0) : p.value,
      meta: p.metadata ? JSON.stringify(p.metadata) : undefined,
    }))
    .sort((a, b) => a.micros - b.micros || a.seq - b.seq);
  if (keep) return mine;
  return mine.filter((r, i) => mine[i + 1]?.micros !== r.micros);
}

const point = fc.record({
  variable: fc.constantFrom('a', 'b', 'c'),
  timestamp: fc.integer({ min: 1, max: 40 }),
  value: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constantFrom('x', 'yy', null, true)),
  metadata: fc.option(fc.record({ unit: fc.constantFrom('C', 'F') }), { nil: undefined }),
});

describe('PointBuffers', () => {
  it('reads see every committed point, whatever the order of commits, reads and freezes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.array(point, { minLength: 1, maxLength: 12 }),
            fc.constantFrom('read', 'none', 'freeze', 'distribute'),
          ),
          {
            maxLength: 10,
          },
        ),
        fc.boolean(),
        (steps, keep) => {
          const buffers = new PointBuffers();
          let seq = 1;
          let active: (DataPointInput & { seq: number })[] = [];
          let frozen: typeof active = [];
          for (const [points, action] of steps) {
            const batch = buildBatch(points);
            batch.firstSeq = seq;
            active.push(...points.map((p, i) => ({ ...p, seq: seq + i })));
            seq += points.length;
            buffers.apply(batch);
            expect(buffers.buffered).toBe(active.length);
            if (action === 'distribute') buffers.distributePending();
            if (action === 'freeze' && buffers.frozen === undefined) {
              buffers.freeze();
              frozen = active;
              active = [];
            }
            if (action === 'read' || action === 'freeze')
              for (const v of ['a', 'b', 'c']) {
                const a = buffers.active.get(v);
                expect(a ? rows(a.sorted(keep)) : []).toEqual(expected(active, v, keep));
                const f = buffers.frozen?.get(v);
                expect(f ? rows(f.sorted(keep)) : []).toEqual(expected(frozen, v, keep));
              }
          }
          // A failed compaction puts the frozen points back, older than those that came since.
          buffers.unfreeze();
          const all = [...frozen, ...active];
          for (const v of ['a', 'b', 'c']) {
            const a = buffers.active.get(v);
            expect(a ? rows(a.sorted(keep)) : []).toEqual(expected(all, v, keep));
          }
          expect(buffers.buffered).toBe(all.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('skips the points a replayed batch has in segments already', () => {
    const buffers = new PointBuffers();
    const points = [1, 2, 3, 4, 5].map((t) => ({ variable: t % 2 ? 'odd' : 'even', timestamp: t, value: t }));
    const batch = buildBatch(points);
    batch.firstSeq = 10; // seqs 10…14
    buffers.apply(batch, 12);
    expect(rows(buffers.active.get('odd')?.sorted(false) as Columns).map((r) => r.seq)).toEqual([14]);
    expect(rows(buffers.active.get('even')?.sorted(false) as Columns).map((r) => r.seq)).toEqual([13]);
    const covered = buildBatch(points);
    covered.firstSeq = 20;
    buffers.apply(covered, 24);
    expect(buffers.active.get('odd')?.length).toBe(1);
  });

  it('batches listing the same variables where the last did go to the set now active, across freezes and reorders', () => {
    const buffers = new PointBuffers();
    let seq = 1;
    const commit = (vars: string[], t: number, meta?: string) => {
      const b = buildBatch(
        vars.map((variable) => ({
          variable,
          timestamp: t,
          value: t,
          ...(meta ? { metadata: { m: meta } } : {}),
        })),
      );
      b.firstSeq = seq;
      seq += b.count;
      buffers.apply(b);
    };
    const seen = (set: Map<string, { sorted(k: boolean): Columns }>, v: string) =>
      rows(set.get(v)?.sorted(false) as Columns).map((r) => [r.micros / 1000, r.meta]);
    commit(['x', 'y'], 1, 'a');
    commit(['x', 'y'], 2, 'a');
    const frozen = buffers.freeze();
    commit(['x', 'y'], 3, 'a'); // same names, same places, same text: a new set and a new dict
    commit(['y', 'x'], 4, 'b'); // places swapped
    commit(['z', 'x'], 5); // a new name where y was, no metadata
    expect(seen(frozen, 'x')).toEqual([
      [1, '{"m":"a"}'],
      [2, '{"m":"a"}'],
    ]);
    expect(seen(frozen, 'y')).toEqual(seen(frozen, 'x'));
    expect(seen(buffers.active, 'x')).toEqual([
      [3, '{"m":"a"}'],
      [4, '{"m":"b"}'],
      [5, undefined],
    ]);
    expect(seen(buffers.active, 'y')).toEqual([
      [3, '{"m":"a"}'],
      [4, '{"m":"b"}'],
    ]);
    expect(seen(buffers.active, 'z')).toEqual([[5, undefined]]);
    // A failed compaction: the frozen points come back beside the newer ones.
    buffers.unfreeze();
    commit(['x', 'y'], 6, 'a');
    expect(seen(buffers.active, 'y').map(([t]) => t)).toEqual([1, 2, 3, 4, 6]);
    expect(seen(buffers.active, 'x').at(-1)).toEqual([6, '{"m":"a"}']);
  });

  it('sorted columns of in-order points are unchanged by later commits', () => {
    const buffers = new PointBuffers();
    const first = buildBatch(
      [1, 2, 3].map((t) => ({ variable: 'v', timestamp: t, value: t, metadata: { k: t } })),
    );
    first.firstSeq = 1;
    buffers.apply(first);
    const before = rows(buffers.active.get('v')?.sorted(false) as Columns);
    const cols = buffers.active.get('v')?.sorted(false) as Columns;
    // Enough later points to make the buffer grow (its arrays are replaced, not changed).
    const later = buildBatch(
      Array.from({ length: 500 }, (_, i) => ({ variable: 'v', timestamp: 10 + i, value: -i })),
    );
    later.firstSeq = 4;
    buffers.apply(later);
    expect(buffers.active.get('v')?.length).toBe(503);
    expect(rows(cols)).toEqual(before);
    // No string values: no string slots (the columns are the first 3 points either way).
    expect(cols.strs.length).toBe(0);
    expect(before.map((r) => r.meta)).toEqual(['{"k":1}', '{"k":2}', '{"k":3}']);
  });

  it('a freeze puts every variable in one block, and what a cache keeps of it is a copy of its own', () => {
    const buffers = new PointBuffers();
    const batch = buildBatch(
      Array.from({ length: 300 }, (_, i) => ({
        variable: `v${i % 3}`,
        timestamp: i + 1,
        value: i % 7 === 0 ? `s${i}` : i,
        metadata: { k: i % 2 },
      })),
    );
    batch.firstSeq = 1;
    buffers.apply(batch);
    const frozen = buffers.freeze();
    const blocks = new Set([...frozen.values()].map((b) => b.micros.buffer));
    expect(blocks.size).toBe(1);
    const cols = frozen.get('v1')?.sorted(false) as Columns;
    const own = ownColumns(cols);
    expect(own.micros.buffer).not.toBe(cols.micros.buffer);
    expect(own.micros.buffer.byteLength).toBeLessThan(30 * cols.length);
    expect(rows(own)).toEqual(rows(cols));
    // Columns of their own already (a merge's, a decoded segment's) are kept as they are.
    expect(ownColumns(own)).toBe(own);
  });
});

describe('many wide batches placed at once (in tiles)', () => {
  it('every variable gets its points in commit order, strings and metadata with them, across tiles of batches and positions', () => {
    const buffers = new PointBuffers();
    const all: (DataPointInput & { seq: number })[] = [];
    let seq = 1;
    // 40 batches (three tiles of 16) of 600 points (three tiles of 256) over 300 variables: two
    // points a variable a batch, some late and some on a timestamp already used.
    for (let k = 0; k < 40; k++) {
      const points: DataPointInput[] = Array.from({ length: 600 }, (_, i) => ({
        variable: `v${(i * 7 + k) % 300}`,
        timestamp: 1 + ((k * 600 + i) % 997) * 3 + (i % 11 === 0 ? -2 : 0),
        value: i % 13 === 0 ? `s${k}-${i}` : i % 17 === 0 ? null : k * 1000 + i,
        ...(i % 5 === 0 ? { metadata: { k: i % 3 } } : {}),
      }));
      const batch = buildBatch(points);
      batch.firstSeq = seq;
      all.push(...points.map((p, i) => ({ ...p, seq: seq + i })));
      seq += points.length;
      buffers.apply(batch);
    }
    const frozen = buffers.freeze();
    expect(frozen.size).toBe(300);
    for (const keep of [false, true])
      for (const v of ['v0', 'v1', 'v150', 'v299']) {
        const f = frozen.get(v) as SeriesBuffer;
        expect(rows(f.sorted(keep))).toEqual(expected(all, v, keep));
      }
    let held = 0;
    for (const buf of frozen.values()) held += buf.length;
    expect(held).toBe(24_000);
  });
});

describe('room for a set that is expected to reach a size', () => {
  const batch = (k: number) => {
    const b = buildBatch(
      Array.from({ length: 100 }, (_, i) => ({
        variable: `v${i % 4}`,
        timestamp: k * 100 + i + 1,
        value: i,
      })),
    );
    b.firstSeq = k * 100 + 1;
    return b;
  };

  it("a buffer made for a set gets its variable's share of the expected points at once, and never grows", () => {
    const buffers = new PointBuffers(10_000);
    buffers.apply(batch(0));
    buffers.distributePending();
    const first = buffers.active.get('v1') as SeriesBuffer;
    // 25 of the first 100 points: a quarter of 10,000, a tenth more.
    expect(first.micros.length).toBe(2750);
    for (let k = 1; k < 100; k++) {
      buffers.apply(batch(k));
      buffers.distributePending();
    }
    const v1 = buffers.active.get('v1') as SeriesBuffer;
    expect(v1.length).toBe(2500);
    expect(v1.micros.buffer).toBe(first.micros.buffer);
    expect(rows(v1.sorted(false)).map((r) => r.micros)).toEqual(
      Array.from({ length: 2500 }, (_, j) => (j * 4 + 2) * 1000),
    );
  });

  it('a store allowed terabytes before compacting gives its buffers room for 8M points, not for that', () => {
    const buffers = new PointBuffers(
      expectedSetPoints({ readOnly: false, compactPoints: 0, compactBytes: 2 ** 40 }),
    );
    buffers.apply(batch(0));
    buffers.distributePending();
    expect(buffers.active.get('v1')?.micros.length).toBe(2_200_000);
  });

  it('without a bound, buffers double as they fill', () => {
    const buffers = new PointBuffers();
    buffers.apply(batch(0));
    buffers.distributePending();
    expect(buffers.active.get('v1')?.micros.length).toBe(25);
    buffers.apply(batch(1));
    buffers.distributePending();
    expect(buffers.active.get('v1')?.micros.length).toBe(50);
  });

  it("the expected size is the fewer of compactPoints and what compactBytes holds; a reader's is 0", () => {
    expect(expectedSetPoints({ readOnly: false, compactPoints: 1_000_000, compactBytes: 16 << 20 })).toBe(
      578_524,
    );
    expect(expectedSetPoints({ readOnly: false, compactPoints: 1000, compactBytes: 16 << 20 })).toBe(1000);
    expect(expectedSetPoints({ readOnly: false, compactPoints: 0, compactBytes: 0 })).toBe(0);
    expect(expectedSetPoints({ readOnly: true, compactPoints: 1000, compactBytes: 0 })).toBe(0);
  });
});

describe('distribution while the log fsyncs', () => {
  const root = tempDir('ts-distribute');
  const buffersOf = (store: TimeSeriesStore) =>
    (store as unknown as { state: { buffers: PointBuffers } }).state.buffers;
  const batchOf = (k: number) =>
    Array.from({ length: 500 }, (_, i) => ({
      variable: `v${i % 5}`,
      timestamp: k * 1000 + i + 1,
      value: i,
      metadata: { q: i % 2 },
    }));

  it("with durability 'fsync', each commit places the batches before it while its fsync runs; reads and compaction see every point", async () => {
    const store = await TimeSeriesStore.open(path.join(root, 'fsync'), { compactIntervalMs: 0 });
    try {
      for (let k = 0; k < 4; k++) await store.storeDataPoints(batchOf(k));
      // The first three were placed during the later commits' fsyncs; the last waits.
      expect(buffersOf(store).undistributed).toBe(500);
      expect((await store.stats()).bufferedPoints).toBe(2000);
      expect(await store.queryAll('v3')).toHaveLength(400);
      await store.compact();
      const points = await store.queryAll('v3');
      expect(points.map((p) => p.micros)).toEqual(
        batchOf(0)
          .concat(batchOf(1), batchOf(2), batchOf(3))
          .filter((p) => p.variable === 'v3')
          .map((p) => p.timestamp * 1000),
      );
    } finally {
      await store.close();
    }
  });

  it('batches of a point for each of many variables wait for a read (placing them one by one cost more than at once)', async () => {
    const store = await TimeSeriesStore.open(path.join(root, 'wide'), { compactIntervalMs: 0 });
    try {
      const wide = (k: number) =>
        Array.from({ length: 400 }, (_, i) => ({ variable: `w${i}`, timestamp: k + 1, value: i }));
      for (let k = 0; k < 3; k++) await store.storeDataPoints(wide(k));
      expect(buffersOf(store).undistributed).toBe(1200);
      expect(await store.queryAll('w7')).toHaveLength(3);
      expect(buffersOf(store).undistributed).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("with durability 'os' (no fsync to wait for), batches wait for the first read", async () => {
    const store = await TimeSeriesStore.open(path.join(root, 'os'), {
      compactIntervalMs: 0,
      durability: 'os',
    });
    try {
      for (let k = 0; k < 3; k++) await store.storeDataPoints(batchOf(k));
      expect(buffersOf(store).undistributed).toBe(1500);
      expect(await store.queryAll('v0')).toHaveLength(300);
      expect(buffersOf(store).undistributed).toBe(0);
    } finally {
      await store.close();
    }
  });
});
