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
});
