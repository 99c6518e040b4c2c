/**
 * `--json` on every command that prints data (#18 item 3): the command tree is walked, and each
 * command either takes --json or --format, or is listed here with why not; the commands that
 * gained --json are run and their stdout parses as the JSON they promise.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.ts';
import { openQueue } from '../../src/queue/open.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Commands without --json/--format, and why. */
const NO_JSON: Record<string, string> = {
  'storage cat': 'prints the object itself',
  'storage rm': 'prints nothing',
  'ts append': 'prints nothing',
  convert: 'prints JSON always',
  decrypt: 'prints JSON always',
  worker: 'prints JSON always (its summary)',
  poll: 'prints JSON always (the --once summary)',
  'ts compact': 'prints JSON always',
  'ts retain': 'prints JSON always',
  serve: 'a service: its address on stderr, its answers over HTTP',
};

function leaves(cmd: Command, prefix = ''): [string, Command][] {
  return cmd.commands.flatMap((c) => {
    const name = `${prefix} ${c.name()}`.trim();
    return [
      ...(c.commands.length === 0 || c.registeredArguments.length > 0
        ? [[name, c] as [string, Command]]
        : []),
      ...leaves(c, name),
    ];
  });
}

describe('--json', () => {
  it('every command takes --json or --format, or is listed with its reason', () => {
    const missing = leaves(buildProgram())
      .filter(([name]) => name !== 'help')
      .filter(([, c]) => !c.options.some((o) => o.long === '--json' || o.long === '--format'))
      .map(([name]) => name)
      .filter((name) => !(name in NO_JSON));
    expect(missing).toEqual([]);
  });

  it('the commands that gained it print JSON with it', { timeout: 180_000 }, async () => {
    const dir = tempDir('json-everywhere');
    const demo = await runSluice(['demo', '--json'], { cwd: dir });
    expect(demo.code, demo.stderr).toBe(0);
    const project = path.join(dir, 'sluice-demo');
    const json = async (args: string[], cwd = project) => {
      const r = await runSluice(args, { cwd });
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as unknown;
    };
    expect(await json(['rollback', 'qa', '--list', '--json'])).toEqual(
      expect.arrayContaining([expect.any(String)]),
    );
    expect(await json(['prune', 'dev', '--dry-run', '--json'])).toMatchObject({
      dryRun: true,
      deletedFiles: [],
    });
    expect(await json(['config', 'validate', '--json'])).toEqual({ ok: true, env: 'dev' });
    const queue = openQueue(`sqlite:${path.join(dir, 'q.db')}`);
    await queue.add({ id: 'a', name: 'n', data: {} });
    await queue.close();
    const q = ['--queue', `sqlite:${path.join(dir, 'q.db')}`, '--json'];
    expect(await json(['queue', 'retry', ...q])).toEqual({ retried: 0 });
    expect(await json(['queue', 'prune', '--older-than', '1d', ...q])).toEqual({ pruned: 0 });
    expect(await json(['queue', 'purge', ...q])).toEqual({ purged: 0 });
    mkdirSync(path.join(dir, 'in'));
    writeFileSync(
      path.join(dir, 'in', 'p.jsonl'),
      '{"variable":"x","timestamp":"2024-01-01T00:00:00Z","value":1}\n',
    );
    expect(
      await json(['ts', 'import', path.join(dir, 'st'), path.join(dir, 'in', 'p.jsonl'), '--json']),
    ).toMatchObject({ points: 1, files: 1 });
    expect(
      await json([
        'storage',
        'put',
        path.join(dir, 'in', 'p.jsonl'),
        path.join(dir, 'objects') + '/',
        '--json',
      ]),
    ).toMatchObject({ size: 62 });
    expect(
      await json(['storage', 'put', path.join(dir, 'in'), path.join(dir, 'tree'), '-r', '--json']),
    ).toMatchObject({ files: 1, bytes: 62 });
  });
});
