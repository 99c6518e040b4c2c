/**
 * The log record format: version 4 names a batch's variables and metadata texts by the numbers of
 * its log file's dictionary, writing each name and text once per file (in the first record that
 * uses it). Versions 3 (the batch's texts joined) and 2 (each text length-prefixed) are still
 * read, so a log written before the change replays. A text that could break the join is refused
 * before anything is written, and takes nothing into the dictionary.
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { buildBatch } from '../../src/timeseries/batch.ts';
import { decodeRecord, type PointBatch, T_NUMBER, T_STRING } from '../../src/timeseries/codec.ts';
import { LogDictionary } from '../../src/timeseries/log-dictionary.ts';
import { encodeRecord, singlePointBatch } from '../../src/timeseries/record-encode.ts';

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

/** Decodes one record with `dict` (a fresh one by default: the record opens its file). */
function decodeAll(bufs: Buffer[], dict = new LogDictionary()) {
  const r = decodeRecord(Buffer.concat(bufs), 0, dict);
  if (!r.ok) throw new Error(r.reason);
  return r.batch;
}

/** The columns of a batch as versions 2 and 3 lay them out (the same as version 4). */
function fixedPart(b: PointBatch, version: number): Buffer {
  const n = b.count;
  const fixed = Buffer.alloc(16 + n * 25);
  fixed.writeUInt8(version, 0);
  fixed.writeUInt32LE(n, 4);
  fixed.writeDoubleLE(b.firstSeq, 8);
  for (let i = 0; i < n; i++) {
    fixed.writeDoubleLE(b.micros[i] as number, 16 + 8 * i);
    fixed.writeDoubleLE(b.num[i] as number, 16 + 8 * n + 8 * i);
    fixed.writeUInt32LE(b.varIdx[i] as number, 16 + 16 * n + 4 * i);
    fixed.writeUInt32LE(b.metaIdx[i] as number, 16 + 20 * n + 4 * i);
    fixed.writeUInt8(b.type[i] as number, 16 + 24 * n + i);
  }
  return fixed;
}

function framed(payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(payload.length, 0);
  head.writeUInt32LE(crc32(payload), 4);
  return Buffer.concat([head, payload]);
}

const prefixed = (t: string) => {
  const bytes = Buffer.from(t);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(bytes.length, 0);
  return [len, bytes];
};

/** A record in the version 3 layout, as the writer before the dictionary made it. */
function versionThree(b: PointBatch): Buffer {
  const joined = (list: string[]) => {
    const text = Buffer.from(list.join('\n'));
    const head = Buffer.alloc(8);
    head.writeUInt32LE(list.length, 0);
    head.writeUInt32LE(text.length, 4);
    return [head, text];
  };
  const strings = [...b.strs.values()].flatMap(prefixed);
  return framed(Buffer.concat([fixedPart(b, 3), ...joined(b.vars), ...joined(b.metas), ...strings]));
}

/** A record in the version 2 layout, built by hand from a batch. */
function versionTwo(b: PointBatch): Buffer {
  const texts = (list: string[]) => {
    const count = Buffer.alloc(4);
    count.writeUInt32LE(list.length, 0);
    return [count, ...list.flatMap(prefixed)];
  };
  const strings = [...b.strs.values()].flatMap(prefixed);
  return framed(Buffer.concat([fixedPart(b, 2), ...texts(b.vars), ...texts(b.metas), ...strings]));
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
    const bufs = encodeRecord(b, new LogDictionary());
    expect(Buffer.concat(bufs).readUInt8(8)).toBe(4);
    const back = decodeAll(bufs);
    expect(plain(back)).toEqual(plain(b));
    expect(back.vars).toEqual(['temp', 'état', 'flag']);
    expect(back.metas[1]).toBe('{"nested":{"a":[1,"two\\nlines"]}}');
    expect(back.strs.get(1)).toBe('open');
  });

  it('writes 10,000 names and metadata texts once per log file: the next record of them refers by number', () => {
    const many = (t: number) =>
      Array.from({ length: 10_000 }, (_, i) => ({
        variable: `v${i}`,
        timestamp: t + i,
        value: i / 2,
        metadata: { source: `s${i}` },
      }));
    const writer = new LogDictionary();
    const reader = new LogDictionary();
    const first = buildBatch(many(0));
    const firstBytes = Buffer.concat(encodeRecord(first, writer));
    const second = buildBatch(many(20_000));
    second.firstSeq = 10_001;
    const secondBytes = Buffer.concat(encodeRecord(second, writer));
    // 25 bytes of columns and 8 of numbers a point; the first record also holds the texts.
    expect(secondBytes.length).toBeLessThan(10_000 * 34);
    expect(firstBytes.length).toBeGreaterThan(secondBytes.length + 10_000 * 20);
    const a = decodeAll([firstBytes], reader);
    const b = decodeAll([secondBytes], reader);
    expect(reader.names).toHaveLength(10_000);
    expect(reader.metas[9_999]).toBe('{"source":"s9999"}');
    expect(plain(a)).toEqual(plain(first));
    expect(plain(b)).toEqual(plain(second));
  });

  it('a batch built while its names had ids takes them only into the dictionary they are of', () => {
    const points = (t: number, extra = false) =>
      [...Array.from({ length: 50 }, (_, i) => `k${i}`), ...(extra ? ['k-new'] : [])].map((variable, i) => ({
        variable,
        timestamp: t + i,
        value: i,
        metadata: { source: variable },
      }));
    const writer = new LogDictionary();
    const reader = new LogDictionary();
    const first = buildBatch(points(0));
    decodeAll(encodeRecord(first, writer), reader);
    // Built now, its ids known; encoded after another record, into the same dictionary: by number.
    const known = buildBatch(points(100));
    const between = buildBatch(points(200, true));
    const betweenBytes = encodeRecord(between, writer);
    const knownBytes = Buffer.concat(encodeRecord(known, writer));
    expect(knownBytes.length).toBeLessThan(50 * 34 + 64);
    decodeAll(betweenBytes, reader);
    expect(plain(decodeAll([knownBytes], reader))).toEqual(plain(known));
    // Built with ids of the old file, encoded into a new file's dictionary: every name again.
    const late = buildBatch(points(300));
    const freshFile = new LogDictionary();
    const lateBytes = encodeRecord(late, freshFile);
    expect(freshFile.names).toHaveLength(50);
    expect(plain(decodeAll(lateBytes))).toEqual(plain(late));
    // Built before a rollback took entries back: the names it needs come again.
    const mark = writer.mark();
    encodeRecord(buildBatch([{ variable: 'k-rolled', timestamp: 1, value: 1 }, ...points(400)]), writer);
    const afterRollback = buildBatch([{ variable: 'k-rolled', timestamp: 2, value: 1 }, ...points(500)]);
    writer.rollback(mark);
    const rolledBytes = encodeRecord(afterRollback, writer);
    expect(plain(decodeAll(rolledBytes, reader))).toEqual(plain(afterRollback));
    expect(reader.names).toEqual(writer.names);
  });

  it('reads version 3 and version 2 records as they were written, without a dictionary', () => {
    const b = buildBatch(points);
    b.firstSeq = 7;
    for (const record of [versionThree(b), versionTwo(b)]) {
      const r = decodeRecord(record, 0);
      expect(r.ok).toBe(true);
      if (r.ok) expect(plain(r.batch)).toEqual(plain(b));
    }
  });

  it('round-trips single-point records, with and without metadata and strings; a name met before is a number', () => {
    const writer = new LogDictionary();
    const reader = new LogDictionary();
    const sizes: number[] = [];
    for (const [meta, str] of [
      [undefined, undefined],
      ['{"k":1}', undefined],
      [undefined, 'text'],
      ['{"k":"ü"}', 'täxt'],
      ['{"k":1}', undefined],
    ] as const) {
      const batch = singlePointBatch('x', 5, str ? T_STRING : T_NUMBER, 2, str, meta, 9);
      const bufs = encodeRecord(batch, writer);
      sizes.push(Buffer.concat(bufs).length);
      const back = decodeAll(bufs, reader);
      expect(plain(back)).toEqual(plain(batch));
      expect(back.vars).toEqual(['x']);
      expect(back.metas).toEqual(meta === undefined ? [] : [meta]);
      expect(back.metaIdx[0]).toBe(meta === undefined ? 0 : 1);
      expect(back.strs.get(0)).toBe(str);
    }
    expect(reader.names).toEqual(['x']);
    expect(reader.metas).toEqual(['{"k":1}', '{"k":"ü"}']);
    // Its first record named x; the second introduced {"k":1} (7 bytes), which the last reuses.
    expect(sizes[4]).toBe((sizes[1] as number) - 7);
    expect(sizes[1]).toBe((sizes[0] as number) - 1 + 4 + 7);
  });

  it('refuses to encode a text holding a line break, which would split it in two, and keeps nothing of it', () => {
    const dict = new LogDictionary();
    const b = buildBatch([{ variable: 'ok', timestamp: 1, value: 1 }]);
    b.metas.push('{"a":\n1}');
    expect(() => encodeRecord(b, dict)).toThrow(/line break/);
    const single = singlePointBatch('a\nb', 1, T_NUMBER, 1, undefined, undefined, 1);
    expect(() => encodeRecord(single, dict)).toThrow(/line break/);
    expect(dict.mark()).toEqual({ names: 0, metas: 0 });
  });

  it('reports a record whose text count disagrees with its texts, rather than misreading it', () => {
    const b = buildBatch(points);
    const [fixed, tail] = encodeRecord(b, new LogDictionary()) as [Buffer, Buffer];
    // The new names' count, after the two counts and the batch's 3 name and 2 text numbers.
    tail.writeUInt32LE(5, 8 + 4 * 5);
    const payload = Buffer.concat([fixed.subarray(8), tail]);
    fixed.writeUInt32LE(crc32(payload), 4);
    const r = decodeRecord(Buffer.concat([fixed, tail]), 0, new LogDictionary());
    expect(r).toMatchObject({ ok: false });
    if (!r.ok) expect(r.reason).toMatch(/3 texts where the record says 5/);
  });

  it('reports a record that names an entry its file never introduced, or read without its dictionary', () => {
    const writer = new LogDictionary();
    encodeRecord(buildBatch([{ variable: 'first', timestamp: 1, value: 1 }]), writer);
    const second = Buffer.concat(
      encodeRecord(buildBatch([{ variable: 'first', timestamp: 2, value: 2 }]), writer),
    );
    // Read alone (its file's first record lost), the name it refers to is unknown.
    const alone = decodeRecord(second, 0, new LogDictionary());
    expect(alone).toMatchObject({ ok: false });
    if (!alone.ok) expect(alone.reason).toMatch(/name id 0 is not in the log file's dictionary/);
    const bare = decodeRecord(second, 0);
    if (!bare.ok) expect(bare.reason).toMatch(/without its log file’s dictionary/);
    expect(bare.ok).toBe(false);
  });

  it('a torn record adds nothing to the dictionary: the records before it read, later ones are never read', () => {
    const writer = new LogDictionary();
    const records = [0, 1, 2].map((k) =>
      Buffer.concat(
        encodeRecord(
          buildBatch([
            { variable: 'shared', timestamp: k, value: k, metadata: { k: 'same' } },
            { variable: `only${k}`, timestamp: k, value: k, metadata: { k } },
          ]),
          writer,
        ),
      ),
    );
    const torn = Buffer.concat([
      records[0] as Buffer,
      records[1] as Buffer,
      (records[2] as Buffer).subarray(0, 60),
    ]);
    const reader = new LogDictionary();
    const read: PointBatch[] = [];
    for (let offset = 0; offset < torn.length; ) {
      const r = decodeRecord(torn, offset, reader);
      if (!r.ok) break;
      read.push(r.batch);
      offset += r.length;
    }
    expect(read.map((b) => b.vars)).toEqual([
      ['shared', 'only0'],
      ['shared', 'only1'],
    ]);
    expect(reader.names).toEqual(['shared', 'only0', 'only1']);
    expect(reader.metas).toEqual(['{"k":"same"}', '{"k":0}', '{"k":1}']);
  });
});
