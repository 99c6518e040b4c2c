/**
 * Missing means missing: every command given a folder, file, store or queue database that does
 * not exist fails with E011 naming it, exits non-zero, and creates nothing (the path still does
 * not exist afterwards). An existing but empty folder or store is not missing.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliResult, runSluice } from '../helpers/cli.ts';
import { freshBucket } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

function expectMissing(res: CliResult, ...named: string[]): void {
  expect(res.code, res.stderr).toBe(1);
  expect(res.stderr).toMatch(/^E011: /);
  for (const name of named) expect(res.stderr).toContain(name);
  expect(res.stdout).toBe('');
  expect(res.stderr).not.toMatch(/\n\s+at |ENOENT/);
}

describe('missing input is E011 and a read creates nothing', { timeout: 60_000 }, () => {
  const dir = tempDir('missing');
  const gone = (name: string) => path.join(dir, name);

  describe('storage', () => {
    it('ls of a folder that does not exist (one level or recursive)', async () => {
      for (const flags of [[], ['-r'], ['-l', '--json']]) {
        expectMissing(await runSluice(['storage', 'ls', ...flags, gone('nosuchdir')]), gone('nosuchdir'));
      }
      expectMissing(await runSluice(['storage', 'ls', `file://${gone('nosuchdir')}`]), gone('nosuchdir'));
      expect(existsSync(gone('nosuchdir'))).toBe(false);
    });

    it('ls of an existing empty folder lists nothing, exit 0', async () => {
      mkdirSync(gone('empty'));
      const res = await runSluice(['storage', 'ls', '-r', gone('empty')]);
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toBe('');
      expect(readdirSync(gone('empty'))).toEqual([]);
    });

    it('ls of an S3 prefix with no objects is empty, exit 0: a prefix has no existence of its own', async () => {
      const bucket = await freshBucket('missing-prefix');
      const res = await runSluice(['storage', 'ls', '-r', bucket.url('no/such/prefix/')], {
        env: bucket.env,
      });
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toBe('');
    });

    it('cat and stat of a missing object, put of a missing file or folder', async () => {
      expectMissing(await runSluice(['storage', 'cat', gone('nope/x.csv')]), gone('nope/x.csv'));
      expectMissing(await runSluice(['storage', 'stat', gone('nope/x.csv')]), gone('nope/x.csv'));
      expectMissing(await runSluice(['storage', 'put', gone('src.csv'), gone('dst/x.csv')]), gone('src.csv'));
      expectMissing(
        await runSluice(['storage', 'put', '-r', gone('srcdir'), `${gone('dst2')}/`]),
        gone('srcdir'),
      );
      for (const name of ['nope', 'dst', 'dst2']) expect(existsSync(gone(name)), name).toBe(false);
    });
  });

  describe('time series', () => {
    const store = gone('no-store');
    const wal = path.join(store, 'wal');

    it.each([
      ['query', ['v']],
      ['agg', ['v', '--every', '1m']],
      ['latest', []],
      ['stats', []],
      ['export', ['--out', path.join(dir, 'export-out')]],
      ['compact', []],
      ['retain', ['--older-than', '1d']],
    ])('ts %s of a store that does not exist', async (command, args) => {
      expectMissing(
        await runSluice(['ts', command, store, ...args]),
        `No time-series store at ${store}`,
        wal,
      );
      expect(existsSync(store)).toBe(false);
      expect(existsSync(path.join(dir, 'export-out'))).toBe(false);
    });

    it('ts query of a folder that is not a store, and with a --wal-dir that does not exist', async () => {
      mkdirSync(gone('plain-folder'));
      expectMissing(await runSluice(['ts', 'query', gone('plain-folder'), 'v']), gone('plain-folder'));
      expect(readdirSync(gone('plain-folder'))).toEqual([]);
      const walDir = gone('no-wal');
      expectMissing(await runSluice(['ts', 'stats', store, '--wal-dir', walDir]), walDir);
      expect(existsSync(walDir)).toBe(false);
    });

    it('ts import of a file that does not exist creates no store', async () => {
      const into = gone('import-store');
      expectMissing(await runSluice(['ts', 'import', into, gone('points.jsonl')]), gone('points.jsonl'));
      expect(existsSync(into)).toBe(false);
    });

    it('a store a writer created reads fine, empty or not', async () => {
      const real = gone('real-store');
      expect((await runSluice(['ts', 'append', real, 'v', '1.5'])).code).toBe(0);
      const query = await runSluice(['ts', 'query', real, 'v', '--format', 'jsonl']);
      expect(query.code, query.stderr).toBe(0);
      expect(JSON.parse(query.stdout).value).toBe(1.5);
      const none = await runSluice(['ts', 'query', real, 'other', '--format', 'jsonl']);
      expect(none.code, none.stderr).toBe(0);
      expect(none.stdout).toBe('');
    });
  });

  describe('queue', () => {
    const db = gone('no/such/q.db');

    it.each([
      ['stats', []],
      ['dead', []],
      ['retry', []],
      ['prune', ['--older-than', '1d']],
      ['purge', []],
    ])('queue %s --queue sqlite:<missing> creates no database', async (command, args) => {
      expectMissing(
        await runSluice(['queue', command, '--queue', `sqlite:${db}`, ...args]),
        `No queue database at ${db}`,
      );
      expect(existsSync(gone('no'))).toBe(false);
    });

    it('poll --once from a local source folder that does not exist creates no queue or state', async () => {
      const source = gone('inbox');
      const queue = gone('poll-home/q.db');
      expectMissing(
        await runSluice(['poll', '--source', source, '--queue', `sqlite:${queue}`, '--once']),
        `source folder ${source} does not exist`,
      );
      expect(existsSync(gone('poll-home'))).toBe(false);
    });

    it('a file that holds no sluice queue is E011 too, and is left as it was', async () => {
      const other = gone('notes.txt');
      writeFileSync(other, '');
      expectMissing(
        await runSluice(['queue', 'stats', '--queue', `sqlite:${other}`]),
        other,
        'holds no sluice queue',
      );
      expect(readdirSync(dir).filter((n) => n.startsWith('notes.txt'))).toEqual(['notes.txt']);
    });

    it('an existing queue reads, and leaves no -wal/-shm files behind', async () => {
      const folder = gone('queue-home');
      mkdirSync(folder);
      const url = `sqlite:${path.join(folder, 'q.db')}`;
      // The worker creates the queue database (writers create; readers never do).
      const work = await runSluice(['worker', '--queue', url, '--handler', 'noop', '--drain']);
      expect(work.code, work.stderr).toBe(0);
      const stats = await runSluice(['queue', 'stats', '--queue', url, '--json']);
      expect(stats.code, stats.stderr).toBe(0);
      expect(JSON.parse(stats.stdout)).toMatchObject({ waiting: 0, dead: 0 });
      expect(readdirSync(folder)).toEqual(['q.db']);
    });
  });
});
