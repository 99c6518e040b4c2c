/**
 * `sluice poll` and one very long record (issue #14: a 70 MB JSONL line took 2 minutes and
 * 734 MB RSS with the old quadratic line scan). Now the line is refused fast with E021 naming the
 * flag that raises the limit, the object goes to failed/ with none of its records queued, and
 * `--max-record-size` lets the same object through.
 */
import { closeSync, mkdirSync, openSync, readdirSync, writeSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const MiB = 1024 * 1024;

/** A JSONL object: a small record, one with a 70 MiB string, another small one. */
function writeLongLineObject(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'big.jsonl');
  const fd = openSync(file, 'w');
  writeSync(fd, '{"id":1}\n{"id":2,"blob":"');
  const chunk = Buffer.alloc(MiB, 0x61);
  for (let i = 0; i < 70; i++) writeSync(fd, chunk);
  writeSync(fd, '"}\n{"id":3}\n');
  closeSync(fd);
  return file;
}

const summaryOf = (stdout: string) =>
  JSON.parse(stdout) as { records: number; failed: number; jobsAdded: number };

describe('poll: one 70 MiB JSONL line', { timeout: 120_000 }, () => {
  it('is refused in seconds with E021 naming --max-record-size; nothing is queued', async () => {
    const dir = tempDir('poll-long-line');
    writeLongLineObject(path.join(dir, 'src'));
    const started = performance.now();
    const run = await runSluice(
      [
        'poll',
        '--source',
        'src',
        '--queue',
        'sqlite:q.db',
        '--once',
        '--min-age',
        '0s',
        '--json-array',
        'records',
      ],
      { cwd: dir },
    );
    const seconds = (performance.now() - started) / 1000;
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ failed: 1, records: 0, jobsAdded: 0 });
    expect(run.stderr).toContain(
      'big.jsonl: invalid JSONL at line 2: line is longer than the limit of 67108864 bytes (--max-record-size;',
    );
    expect(readdirSync(path.join(dir, 'src', 'failed')).sort()).toEqual([
      'big.jsonl',
      'big.jsonl.error.json',
    ]);
    expect(seconds).toBeLessThan(30); // 2 minutes before the linear splitter
  });

  it('goes through whole with --max-record-size 80MiB', async () => {
    const dir = tempDir('poll-long-line-ok');
    writeLongLineObject(path.join(dir, 'src'));
    const run = await runSluice(
      [
        'poll',
        ...['--source', 'src', '--queue', 'sqlite:q.db', '--once', '--min-age', '0s'],
        ...['--max-record-size', '80MiB', '--transient-attempts', '2', '--retry-delay', '100ms'],
        ...['--read-idle-timeout', '30s'],
      ],
      { cwd: dir },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ failed: 0, records: 3, jobsAdded: 3 });
    expect(readdirSync(path.join(dir, 'src', 'processed'))).toEqual(['big.jsonl']);
  });

  it('refuses a bad value for the new flags before polling', async () => {
    const dir = tempDir('poll-flags');
    mkdirSync(path.join(dir, 'src'));
    for (const [flag, value] of [
      ['--max-record-size', 'lots'],
      ['--transient-attempts', '0'],
      ['--retry-delay', 'soon'],
      ['--read-idle-timeout', '0s'],
    ] as const) {
      const run = await runSluice(
        ['poll', '--source', 'src', '--queue', 'sqlite:q.db', '--once', flag, value],
        {
          cwd: dir,
        },
      );
      expect(run.code, `${flag} ${value}`).toBe(2);
      expect(run.stderr).toContain(flag);
      expect(readdirSync(path.join(dir))).toEqual(['src']); // no queue database was made
    }
  });
});
