/**
 * Timestamps of the usual form (`YYYY-MM-DDTHH:MM:SSZ`, with a fraction) are read without the
 * regular expression; every input must get the same answer from that path as from the general
 * one. The general path is reached by a leading space, which the fast path never accepts and
 * parseTimestamp trims.
 */
import { describe, expect, it } from 'vitest';
import { parseTimestamp } from '../../src/timeseries/validate.ts';

const pad = (x: number, w: number) => String(x).padStart(w, '0');

function forms(): string[] {
  const out: string[] = [];
  for (const y of [1, 99, 100, 1970, 2000, 2023, 2024, 2100, 9999])
    for (const mo of [0, 1, 2, 12, 13])
      for (const d of [0, 1, 28, 29, 30, 31, 32])
        for (const [h = 0, mi = 0, s = 0] of [
          [0, 0, 0],
          [23, 59, 59],
          [24, 0, 0],
          [12, 60, 0],
          [12, 0, 60],
        ])
          for (const f of ['', '.1', '.123456', '.123456789', '.1234567890', ',5', '.', '.12a'])
            for (const z of ['Z', 'z', '+00:00', ''])
              for (const t of ['T', ' ', 't'])
                out.push(
                  `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}${t}${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${f}${z}`,
                );
  return out;
}

describe('ISO timestamp fast path', () => {
  it('agrees with the general parser on every form, valid or not', () => {
    const all = forms();
    const differ = all.filter((s) => parseTimestamp(s) !== parseTimestamp(` ${s}`));
    expect(all.length).toBeGreaterThan(100_000);
    expect(differ).toEqual([]);
  });

  it('reads the usual form exactly, fractions to the microsecond, and refuses impossible dates', () => {
    expect(parseTimestamp('2024-02-29T23:59:59.999999Z')).toBe(
      Date.UTC(2024, 1, 29, 23, 59, 59) * 1000 + 999_999,
    );
    expect(parseTimestamp('2024-01-01T00:00:00.1234569Z')).toBe(Date.UTC(2024, 0, 1) * 1000 + 123_456);
    expect(parseTimestamp('2023-02-29T00:00:00Z')).toBeUndefined();
    expect(parseTimestamp('2024-04-31T00:00:00Z')).toBeUndefined();
  });

  it('gives the same answers when one instant or one minute repeats (the caches of the last text and minute)', () => {
    // Every text twice in a row (the last-text cache), minutes shared by neighbours (the minute
    // cache), invalid seconds and dates right after a valid text of the same minute or day.
    const texts = [
      '2024-03-01T10:15:00Z',
      '2024-03-01T10:15:00Z',
      '2024-03-01T10:15:01.5Z',
      '2024-03-01T10:15:59.999999Z',
      '2024-03-01T10:15:60Z',
      '2024-03-01T10:15:6xZ',
      '2024-03-01T10:15:07+01:00',
      '2024-03-01 10:15:08Z',
      '2024-03-01T10:16:00Z',
      '2024-02-30T10:16:00Z',
      '2024-03-01T10:15:09Z',
      '2024-03-01T10:15:09z',
      '2024-03-01T10:15:09.Z',
    ];
    const fast = texts.flatMap((t) => [parseTimestamp(t), parseTimestamp(t)]);
    const general = texts.flatMap((t) => [parseTimestamp(` ${t}`), parseTimestamp(` ${t}`)]);
    expect(fast).toEqual(general);
    expect(parseTimestamp('2024-03-01T10:15:6xZ')).toBeUndefined();
    expect(parseTimestamp('2024-03-01T10:15:09Z')).toBe(Date.UTC(2024, 2, 1, 10, 15, 9) * 1000);
    expect(parseTimestamp('2024-03-01T10:15:07+01:00')).toBe(Date.UTC(2024, 2, 1, 9, 15, 7) * 1000);
  });
});
