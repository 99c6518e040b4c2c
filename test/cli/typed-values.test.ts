import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const root = tempDir('typed-values');
let n = 0;
/** An empty working directory: every path below is relative to it, so "nothing created" is "still empty". */
const freshCwd = () => {
  const dir = path.join(root, `c${++n}`);
  mkdirSync(dir);
  return dir;
};

/** Runs `cases` a few at a time (each is a Node process). */
async function inBatches<T, R>(cases: T[], run: (c: T) => Promise<R>, size = 6): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < cases.length; i += size)
    out.push(...(await Promise.all(cases.slice(i, i + size).map(run))));
  return out;
}

const POLL = ['poll', '--source', 'src', '--queue', 'sqlite:q.db', '--once'];
const WORKER = ['worker', '--queue', 'sqlite:q.db', '--drain'];
const FETCH = ['fetch', 'http://127.0.0.1:1/', '--source', 's', '--dataset', 'd', '--base', 'base'];

// [argv, the flag or argument the message must name]
const BAD: [string[], string][] = [
  [['ts', 'append', 'store', 'v', 'NaN'], '<value>'],
  [['ts', 'append', 'store', 'v', 'Infinity'], '<value>'],
  [['ts', 'append', 'store', 'v', 'inf'], '<value>'],
  [['ts', 'append', 'store', 'v', '1e999'], '<value>'],
  [['ts', 'append', 'store', 'v', '1e-400'], '<value>'],
  [['ts', 'append', 'store', 'v', ''], '<value>'],
  [['ts', 'append', 'store', 'v', '0x10'], '<value>'],
  [['ts', 'append', 'store', 'v', ' 12 '], '<value>'],
  [['ts', 'append', 'store', 'v', '12abc'], '<value>'],
  [['ts', 'append', 'store', 'v', '9007199254740993'], '<value>'],
  [['ts', 'append', 'store', 'v', 'yes', '--type', 'bool'], '<value>'],
  [['ts', 'append', 'store', 'v', '0', '--type', 'null'], '<value>'],
  [['ts', 'append', 'store', 'v', '1', '--type', 'auto'], '--type'],
  [['ts', 'append', 'store', 'v', '1', '--string', '--type', 'bool'], '--string'],
  [['ts', 'append', 'store', 'v', '1', '--at', 'yesterday'], '--at'],
  [['ts', 'append', 'store', 'v', '1', '--meta', '5'], '--meta'],
  [['ts', 'append', 'store', 'v', '1', '--meta', '[1]'], '--meta'],
  [['ts', 'append', 'store', 'v', '1', '--meta', '{"a":1,}'], '--meta'],
  [['ts', 'append', 'store', 'v', '1', '--meta', '{"id":12345678901234567891}'], '--meta'],
  [['ts', 'query', 'store', 'v', '--limit', '-1'], '--limit'],
  [['ts', 'query', 'store', 'v', '--limit', '1.5'], '--limit'],
  [['ts', 'query', 'store', 'v', '--from', 'soon'], '--from'],
  [['ts', 'agg', 'store', 'v', '--every', '5x'], '--every'],
  [['ts', 'agg', 'store', 'v', '--every', '0s'], '--every'],
  [['ts', 'retain', 'store', '--older-than', 'soon'], '--older-than'],
  [[...POLL, '--interval', '5x'], '--interval'],
  [[...POLL, '--interval', '0'], '--interval'],
  [[...POLL, '--min-age', 'soon'], '--min-age'],
  [[...POLL, '--concurrency', '0'], '--concurrency'],
  [[...POLL, '--concurrency', 'abc'], '--concurrency'],
  [[...POLL, '--metrics-port', '99999'], '--metrics-port'],
  [[...POLL, '--max-backlog', '-5'], '--max-backlog'],
  [[...POLL, '--max-object-size', '12 parsecs'], '--max-object-size'],
  [[...POLL, '--max-object-size', '1.1KB'], '--max-object-size'],
  [[...WORKER, '--concurrency', '0'], '--concurrency'],
  [[...WORKER, '--attempts', 'abc'], '--attempts'],
  [[...WORKER, '--backoff', '1.5'], '--backoff'],
  [[...WORKER, '--lease', '0s'], '--lease'],
  [[...WORKER, '--metrics-port', '65536'], '--metrics-port'],
  [['queue', 'dead', '--queue', 'sqlite:q.db', '--limit', '0'], '--limit'],
  [['queue', 'prune', '--queue', 'sqlite:q.db', '--older-than', '5x'], '--older-than'],
  [['storage', 'put', 'in', 'out/', '-r', '--concurrency', '0'], '--concurrency'],
  [['storage', 'gc', '.', '--older-than', 'soon'], '--older-than'],
  [['sync', 'a', 'b', '--concurrency', '0'], '--concurrency'],
  [['sync', 'a', 'b', '--delete', '--max-delete', '-1'], '--max-delete'],
  [['prune', 'dev', '--keep', 'x'], '--keep'],
  [['prune', 'dev', '--min-age', '1.5'], '--min-age'],
  [['status', '--limit', '-1'], '--limit'],
  [['demo', '--scale', '0'], '--scale'],
  [['demo', '--scale', 'NaN'], '--scale'],
  [[...FETCH, '--timeout', '5x'], '--timeout'],
  [[...FETCH, '--timeout', '0'], '--timeout'],
  [[...FETCH, '--retries', '21'], '--retries'],
  [[...FETCH, '--retry-delay', 'soon'], '--retry-delay'],
  [['ts', 'append', 'store', 'v', '1', '--no-such-flag'], '--no-such-flag'],
];

describe('CLI values are typed: a bad value is a usage error before anything runs', () => {
  it(`refuses ${BAD.length} bad values with exit 2, E022 naming the flag, and creates nothing`, async () => {
    const results = await inBatches(BAD, async ([argv, flag]) => {
      const cwd = freshCwd();
      const r = await runSluice(argv, { cwd });
      return { argv, flag, ...r, left: readdirSync(cwd) };
    });
    for (const r of results) {
      const label = `sluice ${r.argv.join(' ')}`;
      expect(r.code, `${label}\n${r.stderr}`).toBe(2);
      expect(r.stderr, label).toMatch(/^E022: /);
      expect(r.stderr, label).toContain(r.flag);
      expect(r.stdout, label).toBe('');
      expect(r.left, label).toEqual([]);
    }
  }, 120_000);

  it('ts append stores numbers as typed, text only with --string, booleans and null with --type', async () => {
    const cwd = freshCwd();
    const at = (s: number) => ['--at', `2024-01-01T00:00:0${s}Z`];
    const runs: string[][] = [
      ['v', '-0', ...at(0)],
      ['v', '1.5e3', ...at(1)],
      ['v', '43862177132374730', ...at(2)],
      ['v', '12', '--string', ...at(3)],
      ['v', 'NaN', '--type', 'string', ...at(4)],
      ['v', 'true', '--type', 'bool', ...at(5)],
      ['v', 'null', '--type', 'null', ...at(6)],
    ];
    for (const args of runs) {
      const r = await runSluice(['ts', 'append', 'store', ...args], { cwd });
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.code).toBe(0);
    }
    const store = await TimeSeriesStore.open(path.join(cwd, 'store'), { readOnly: true });
    try {
      const values: unknown[] = [];
      for await (const p of store.query('v')) values.push(p.value);
      expect(values).toEqual([-0, 1500, 43862177132374730, '12', 'NaN', true, null]);
      expect(Object.is(values[0], -0)).toBe(true);
    } finally {
      await store.close();
    }
  }, 60_000);

  it('ts import refuses a number a double cannot hold (E021, file and line) and stores nothing of the file', async () => {
    const cwd = freshCwd();
    const files: [string, string, number][] = [
      ['nan.csv', 'variable,timestamp,value\nv,2024-01-01T00:00:00Z,1\nv,2024-01-01T00:00:01Z,NaN\n', 3],
      ['inf.csv', 'variable,timestamp,value\nv,2024-01-01T00:00:00Z,-Infinity\n', 2],
      ['big.csv', 'variable,timestamp,value\nv,2024-01-01T00:00:00Z,9007199254740993\n', 2],
      [
        'huge.csv',
        'variable,timestamp,value\nv,2024-01-01T00:00:00Z,2\nv,2024-01-01T00:00:01Z,3\nv,2024-01-01T00:00:02Z,1e999\n',
        4,
      ],
      [
        'huge.jsonl',
        '{"variable":"v","timestamp":"2024-01-01T00:00:00Z","value":1}\n{"variable":"v","timestamp":"2024-01-01T00:00:01Z","value":1e999}\n',
        2,
      ],
      [
        'big.jsonl',
        '{"variable":"v","timestamp":"2024-01-01T00:00:00Z","value":9007199254740993,"metadata":{"value":1}}\n',
        1,
      ],
    ];
    for (const [name, body] of files) writeFileSync(path.join(cwd, name), body);
    for (const [name, , line] of files) {
      const r = await runSluice(['ts', 'import', 'store', name], { cwd });
      expect(r.code, `${name}: ${r.stderr}`).toBe(1);
      // The strict JSONL reader speaks first for JSON numbers (with the column); CSV cells are
      // checked as point values.
      expect(r.stderr).toMatch(
        new RegExp(`^E021: (JSONL )?${name.replace('.', '\\.')} line ${line}\\b.*(value|number)`),
      );
    }
    // Text that is not a decimal number stays text; decimals with spaces around them are numbers.
    writeFileSync(
      path.join(cwd, 'ok.csv'),
      'variable,timestamp,value\nv,2024-01-01T00:00:00Z, 12 \nv,2024-01-01T00:00:01Z,0x10\nv,2024-01-01T00:00:02Z,43862177132374730\n',
    );
    expect((await runSluice(['ts', 'import', 'store', 'ok.csv'], { cwd })).code).toBe(0);
    const q = await runSluice(['ts', 'query', 'store', 'v', '--format', 'jsonl'], { cwd });
    expect(
      q.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).value),
    ).toEqual([12, '0x10', 43862177132374730]);
  }, 60_000);
});
