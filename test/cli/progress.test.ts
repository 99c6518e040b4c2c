import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressReporter, progressMode } from '../../src/cli/progress.ts';
import {
  finishedText,
  formatDuration,
  formatRate,
  progressText,
  RateMeter,
} from '../../src/cli/progress-text.ts';
import { createLogger } from '../../src/logging/logger.ts';
import { throttleProgress } from '../../src/util/progress.ts';

/** A stream that keeps what is written; `isTTY` as asked. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  stream.columns = 120;
  return { stream, text: () => chunks.join('') };
}

const ESCAPE = /\x1b\[/;

describe('progress text', () => {
  it('formats rates in their unit', () => {
    expect(formatRate(45.1 * 1024 * 1024, 'bytes')).toBe('45.1 MB/s');
    expect(formatRate(48_200, 'rows')).toBe('48,200 rows/s');
    expect(formatRate(2.5, 'files')).toBe('2.5 files/s');
    expect(formatRate(3, 'objects')).toBe('3 objects/s');
    expect(formatRate(0, 'points')).toBe('0 points/s');
  });

  it('formats the time left like a person reads it', () => {
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(41.6)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(2 * 3600 + 7 * 60 + 10)).toBe('2h07m');
    expect(formatDuration(undefined)).toBe('?');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
  });

  it('says done, total, percent, rate and ETA; without a total, done and rate', () => {
    const MB = 1024 * 1024;
    expect(progressText({ operation: 'w', done: 40 * MB, total: 100 * MB, unit: 'bytes' }, 20 * MB)).toBe(
      '40 MB of 100 MB (40%), 20 MB/s, ETA 3s',
    );
    expect(progressText({ operation: 'w', done: 1234, unit: 'rows' }, 500)).toBe('1,234 rows, 500 rows/s');
    // No rate yet: no ETA either.
    expect(progressText({ operation: 'w', done: 1, total: 4, unit: 'files' }, undefined)).toBe(
      '1 files of 4 files (25%)',
    );
    expect(finishedText({ operation: 'w', done: 3000, total: 3000, unit: 'rows' }, 1500)).toBe(
      '3,000 rows in 1.5s (2,000 rows/s)',
    );
    expect(finishedText({ operation: 'w', done: 10, total: 40, unit: 'files' }, 90_000)).toBe(
      '10 files of 40 files in 1m30s (0.1 files/s)',
    );
  });

  it('measures the rate over the last seconds, not since the start', () => {
    const meter = new RateMeter(5000);
    expect(meter.perSecond()).toBeUndefined();
    meter.add(0, 0);
    meter.add(50, 10);
    expect(meter.perSecond()).toBeUndefined(); // under 100 ms apart: no rate yet
    // 10 s slow (1 unit/s), then 5 s fast (100 units/s): the window sees only the fast part.
    for (let t = 1000; t <= 10_000; t += 1000) meter.add(t, t / 1000);
    for (let t = 11_000; t <= 15_000; t += 1000) meter.add(t, 10 + (t - 10_000) / 10);
    expect(meter.perSecond()).toBe(100);
  });
});

describe('throttleProgress', () => {
  it('passes the first event, at most one per interval, and every finishing one', async () => {
    const seen: number[] = [];
    const report = throttleProgress<'rows'>((e) => seen.push(e.done), 50);
    for (let i = 1; i <= 1000; i++) report?.({ operation: 'x', done: i, total: 1000, unit: 'rows' });
    expect(seen).toEqual([1, 1000]);
    await new Promise((r) => setTimeout(r, 60));
    report?.({ operation: 'x', done: 5, unit: 'rows' });
    expect(seen).toEqual([1, 1000, 5]);
    expect(throttleProgress(undefined)).toBeUndefined();
  });
});

describe('progressMode', () => {
  it('bar on a terminal, log lines elsewhere, nothing with SLUICE_PROGRESS=0', () => {
    expect(progressMode(undefined, true, 'warn')).toBe('bar');
    expect(progressMode(undefined, false, 'warn')).toBe('log');
    expect(progressMode('0', true, 'info')).toBe('off');
    expect(progressMode('0', false, 'info')).toBe('off');
    // Errors-only log levels hide the lines, unless asked for with SLUICE_PROGRESS=1.
    expect(progressMode(undefined, false, 'error')).toBe('off');
    expect(progressMode(undefined, false, 'silent')).toBe('off');
    expect(progressMode('1', false, 'silent')).toBe('log');
    expect(progressMode('1', true, 'silent')).toBe('bar');
  });
});

describe('the progress reporter', () => {
  const MB = 1024 * 1024;

  /** Feeds `events` at the given clock times into a reporter writing JSON log lines. */
  function logRun(feed: (update: (at: number, done: number, total?: number) => void) => void) {
    const out = sink(false);
    let clock = 0;
    const reporter = createProgressReporter({
      stream: out.stream,
      setting: undefined,
      logger: createLogger({ level: 'info', format: 'json', destination: out.stream }),
      now: () => clock,
    });
    feed((at, done, total) => {
      clock = at;
      reporter.update({
        operation: 'write out',
        done,
        ...(total === undefined ? {} : { total }),
        unit: 'bytes',
      });
    });
    reporter.stop();
    const lines = out
      .text()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { lines, raw: out.text() };
  }

  it('off a terminal: a line after 1 s, then every 5 s, then one at the end — not one per event', () => {
    // 12 s of work reported every 200 ms: 60 events.
    const { lines, raw } = logRun((update) => {
      for (let at = 0; at <= 12_000; at += 200) update(at, (at / 12_000) * 120 * MB, 120 * MB);
    });
    expect(raw).not.toMatch(ESCAPE);
    expect(lines.map((l) => l.msg)).toEqual([
      expect.stringMatching(/^write out: 10 MB of 120 MB \(8%\), 10 MB\/s, ETA 11s$/),
      expect.stringMatching(/^write out: 60 MB of 120 MB \(50%\), 10 MB\/s, ETA 6s$/),
      expect.stringMatching(/^write out: 110 MB of 120 MB \(91%\), 10 MB\/s, ETA 1s$/),
      'write out: 120 MB in 12s (10 MB/s)',
    ]);
    // The fields a collector reads.
    expect(lines[0]).toMatchObject({
      module: 'progress',
      operation: 'write out',
      unit: 'bytes',
      total: 120 * MB,
    });
    expect(lines[1]?.perSecond).toBe(10 * MB);
    expect(lines[3]).toMatchObject({ finished: true, done: 120 * MB, seconds: 12 });
  });

  it('off a terminal: an operation shorter than a second writes no line at all', () => {
    const { lines } = logRun((update) => {
      for (let at = 0; at <= 800; at += 200) update(at, at, 800);
    });
    expect(lines).toEqual([]);
  });

  it('an operation stopped before its end closes with a "(stopped)" line', () => {
    const { lines } = logRun((update) => {
      for (let at = 0; at <= 2000; at += 200) update(at, at * 1000, 10_000_000);
    });
    expect(lines.at(-1)?.msg).toMatch(/\(stopped\)$/);
    expect(lines.at(-1)?.finished).toBe(false);
  });

  it('a count that goes back to zero is a new run (the next poll cycle), with its own lines', () => {
    const out = sink(false);
    let clock = 0;
    const reporter = createProgressReporter({
      stream: out.stream,
      setting: undefined,
      logger: createLogger({ level: 'info', format: 'json', destination: out.stream }),
      now: () => clock,
    });
    for (const cycle of [0, 1]) {
      for (let i = 1; i <= 10; i++) {
        clock = cycle * 100_000 + i * 300;
        reporter.update({ operation: 'poll', done: i, ...(i === 10 ? { total: 10 } : {}), unit: 'objects' });
      }
    }
    reporter.stop();
    const msgs = out
      .text()
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs.filter((m) => /^poll: 10 objects in 2\.7s/.test(m))).toHaveLength(2);
  });

  it('on a terminal: a bar with done, total, rate and time left, on the stream given', async () => {
    const out = sink(true);
    let clock = 0;
    const reporter = createProgressReporter({ stream: out.stream, setting: undefined, now: () => clock });
    for (let at = 0; at <= 2000; at += 200) {
      clock = at;
      reporter.update({ operation: 'sync', done: at * 10_000, total: 100_000_000, unit: 'bytes' });
    }
    await new Promise((r) => setTimeout(r, 250)); // cli-progress redraws on its own timer
    reporter.stop();
    const text = out.text();
    expect(text).toMatch(/sync █+░+ 19\.1 MB of 95\.4 MB \(20%\), 9\.5 MB\/s, ETA 8s/);
  });

  it('SLUICE_PROGRESS=0 draws and logs nothing, on a terminal or not', () => {
    for (const isTTY of [true, false]) {
      const out = sink(isTTY);
      const reporter = createProgressReporter({
        stream: out.stream,
        setting: '0',
        logger: createLogger({ level: 'info', format: 'json', destination: out.stream }),
      });
      reporter.update({ operation: 'x', done: 1, total: 2, unit: 'rows' });
      reporter.stop();
      expect(out.text()).toBe('');
    }
  });
});
