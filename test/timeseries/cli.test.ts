import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';

const repo = path.resolve(import.meta.dirname, '../..');
function sluice(...args: string[]) {
  const r = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: repo, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('sluice ts', () => {
  it('appends, queries, aggregates, compacts, exports and reports errors', () => {
    const dir = path.join(tempDir('ts-cli'), 'store');
    expect(
      sluice('ts', 'append', dir, 'temp', '20', '--at', '2024-01-01T00:00:00Z', '--meta', '{"room":"a"}')
        .code,
    ).toBe(0);
    expect(sluice('ts', 'append', dir, 'temp', '22', '--at', '2024-01-01T00:00:30Z').code).toBe(0);
    expect(sluice('ts', 'append', dir, 'temp', 'on', '--string', '--at', '2024-01-01T00:01:00Z').code).toBe(
      0,
    );
    const q = sluice('ts', 'query', dir, 'temp', '--format', 'jsonl');
    expect(
      q.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).value),
    ).toEqual([20, 22, 'on']);
    const csv = sluice('ts', 'query', dir, 'temp', '--from', '2024-01-01T00:00:10Z', '--format', 'csv');
    expect(csv.out).toBe(
      'timestamp,value,metadata\n2024-01-01T00:00:30.000000Z,22,\n2024-01-01T00:01:00.000000Z,on,\n',
    );
    const agg = sluice('ts', 'agg', dir, 'temp', '--every', '1m', '--fn', 'avg', '--format', 'json');
    expect(JSON.parse(agg.out).map((r: { value: unknown }) => r.value)).toEqual([21, null]);
    expect(JSON.parse(sluice('ts', 'compact', dir).out).points).toBe(3);
    expect(JSON.parse(sluice('ts', 'latest', dir, '--format', 'json').out)[0].value).toBe('on');
    const stats = JSON.parse(sluice('ts', 'stats', dir, '--json').out);
    expect(stats.segmentPoints).toBe(3);
    const recent = sluice('ts', 'query', dir, 'temp', '--from', '-1h', '--format', 'json');
    expect(JSON.parse(recent.out)).toEqual([]);
    const out = path.join(path.dirname(dir), 'export');
    expect(sluice('ts', 'export', dir, '--out', out).out).toMatch(/exported 3 points/);
    const dir2 = `${dir}2`;
    expect(sluice('ts', 'import', dir2, out).out).toMatch(/imported 3 points from 1 file/);
    expect(sluice('ts', 'query', dir2, 'temp', '--format', 'jsonl').out).toBe(q.out);

    const bad = sluice('ts', 'append', dir, '../x', '1');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/E051: .*traversal|E051: .*path separator/);
    const usage = sluice('ts', 'query', dir, 'temp', '--from', 'yesterday');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/E022/);
  }, 180_000); // ~16 CLI processes one after another: minutes on a loaded 2-core machine
});
