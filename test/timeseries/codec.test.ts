/**
 * The log record format: version 3 joins a batch's variable names and metadata texts (one
 * encoding for thousands of them); version 2 records, with each text length-prefixed, are still
 * read, so a log written before the change replays. A text that could break the join is refused
 * before anything is written.
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildBatch } from '../../src/timeseries/batch.ts';
import {
  decodeRecord,
  encodeBatch,
  encodeSinglePoint,
  type PointBatch,
  T_NUMBER,
  T_STRING,
} from '../../src/timeseries/codec.ts';

/** What a decoded batch holds, in plain arrays. */
function plain(b: PointBatch) {
  return {
    count: b.count,
    firstSeq: b.firstSeq,
    vars: b.vars,
    metas: b.metas,
    varIdx: Array.from(b.varIdx),
    micros: Array.from(b.micros),
    type: Array.from(b.type),
    num: Array.from(b.num),
    metaIdx: Array.from(b.metaIdx),
    strs: [...b.strs],
  };
}

function decodeAll(bufs: Buffer[]) {
  const r = decodeRecord(Buffer.concat(bufs), 0);
  if (!r.ok) throw new Error(r.reason);
  return r.batch;
}

/** A record in the version 2 layout, built by hand from a batch. */
function versionTwo(b: PointBatch): Buffer {
  const n = b.count;
  const fixed = Buffer.alloc(16 + n * 25);
  fixed.writeUInt8(2, 0);
  fixed.writeUInt32LE(n, 4);
  fixed.writeDoubleLE(b.firstSeq, 8);
  for (let i = 0; i < n; i++) {
    fixed.writeDoubleLE(b.micros[i] as number, 16 + 8 * i);
    fixed.writeDoubleLE(b.num[i] as number, 16 + 8 * n + 8 * i);
    fixed.writeUInt32LE(b.varIdx[i] as number, 16 + 16 * n + 4 * i);
    fixed.writeUInt32LE(b.metaIdx[i] as number, 16 + 20 * n + 4 * i);
    fixed.writeUInt8(b.type[i] as number, 16 + 24 * n + i);
  }
  const texts = (list: string[]) => {
    const parts = [Buffer.alloc(4)];
    parts[0]?.writeUInt32LE(list.length, 0);
    for (const t of list) {
      const bytes = Buffer.from(t);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(bytes.length, 0);
      parts.push(len, bytes);
    }
    return parts;
  };
  const strings = [...b.strs.values()].flatMap((s) => texts([s]).slice(1));
  const payload = Buffer.concat([fixed, ...texts(b.vars), ...texts(b.metas), ...strings]);
  const head = Buffer.alloc(8);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

const points = [
  { variable: 'temp', timestamp: 1000, value: 21.5, metadata: { unit: 'C', note: 'ünïcode ✓' } },
  { variable: 'état', timestamp: 2000, value: 'open', metadata: { unit: 'C', note: 'ünïcode ✓' } },
  { variable: 'temp', timestamp: 3000, value: true },
  { variable: 'flag', timestamp: 4000, value: null, metadata: { nested: { a: [1, 'two\nlines'] } } },
];

describe('log record codec', () => {
  it('round-trips a batch: names, metadata (a line break inside JSON escaped), strings, types', () => {
    const b = buildBatch(points);
    b.firstSeq = 41;
    const back = decodeAll(encodeBatch(b));
    expect(plain(back)).toEqual(plain(b));
    expect(back.vars).toEqual(['temp', 'état', 'flag']);
    expect(back.metas[1]).toBe('{"nested":{"a":[1,"two\\nlines"]}}');
    expect(back.strs.get(1)).toBe('open');
  });

  it('round-trips a batch of 10,000 variables, each with its own metadata', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({
      variable: `v${i}`,
      timestamp: i,
      value: i / 2,
      metadata: { source: `s${i}` },
    }));
    const b = buildBatch(many);
    const back = decodeAll(encodeBatch(b));
    expect(back.vars.length).toBe(10_000);
    expect(back.metas.length).toBe(10_000);
    expect(back.metas[9_999]).toBe('{"source":"s9999"}');
    expect(plain(back)).toEqual(plain(b));
  });

  it('reads version 2 records (texts length-prefixed) as they were written', () => {
    const b = buildBatch(points);
    b.firstSeq = 7;
    const r = decodeRecord(versionTwo(b), 0);
    expect(r.ok).toBe(true);
    if (r.ok) expect(plain(r.batch)).toEqual(plain(b));
  });

  it('round-trips single-point records, with and without metadata and strings', () => {
    for (const [meta, str] of [
      [undefined, undefined],
      ['{"k":1}', undefined],
      [undefined, 'text'],
      ['{"k":"ü"}', 'täxt'],
    ] as const) {
      const { bufs, batch } = encodeSinglePoint('x', 5, str ? T_STRING : T_NUMBER, 2, str, meta, 9);
      const back = decodeAll(bufs);
      expect(back.vars).toEqual(['x']);
      expect(back.metas).toEqual(meta === undefined ? [] : [meta]);
      expect(back.metaIdx[0]).toBe(meta === undefined ? 0 : 1);
      expect(back.strs.get(0)).toBe(str);
      expect(back.firstSeq).toBe(batch.firstSeq);
    }
  });

  it('refuses to encode a text holding a line break, which would split it in two', () => {
    const b = buildBatch([{ variable: 'ok', timestamp: 1, value: 1 }]);
    b.metas.push('{"a":\n1}');
    expect(() => encodeBatch(b)).toThrow(/line break/);
    expect(() => encodeSinglePoint('a\nb', 1, T_NUMBER, 1, undefined, undefined, 1)).toThrow(/line break/);
  });

  it('reports a record whose text count disagrees with its texts, rather than misreading it', () => {
    const b = buildBatch(points);
    const [fixed, tail] = encodeBatch(b) as [Buffer, Buffer];
    tail.writeUInt32LE(5, 0); // five names, where the joined text holds three
    const payload = Buffer.concat([fixed.subarray(8), tail]);
    fixed.writeUInt32LE(crc32(payload), 4);
    const r = decodeRecord(Buffer.concat([fixed, tail]), 0);
    expect(r).toMatchObject({ ok: false });
    if (!r.ok) expect(r.reason).toMatch(/3 texts where the record says 5/);
  });
});
