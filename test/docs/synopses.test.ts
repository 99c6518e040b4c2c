/**
 * The command synopses of the docs (```text blocks such as `sluice ts query <store> [--from T]`)
 * name commands that exist and flags those commands take, checked against their `--help`; and no
 * plain ``` block holds sluice commands without saying whether they are examples (sh, run by
 * examples.test.ts) or a synopsis (text).
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { blocksOf, synopses, unlabelledCommands } from '../helpers/doc-examples.ts';

const DOCS = ['README.md', ...readdirSync(path.join(REPO_ROOT, 'docs')).map((f) => `docs/${f}`)].filter((d) =>
  d.endsWith('.md'),
);
const blocks = DOCS.flatMap((doc) => blocksOf(REPO_ROOT, doc));

describe('command synopses in the docs', () => {
  it('every block of sluice commands says what it is (sh/console examples, or a text synopsis)', () => {
    const unlabelled = blocks.flatMap((b) => unlabelledCommands(b).map((c) => `${b.doc}:${b.line}: ${c}`));
    expect(unlabelled, 'label these blocks sh (run as examples) or text (a synopsis)').toEqual([]);
  });

  const lines = blocks
    .filter((b) => b.lang === 'text')
    .flatMap((b) => synopses(b).map((s) => ({ doc: b.doc, ...s })));

  it('finds the synopses of every command group', () => {
    const groups = new Set(lines.map((l) => l.path[0]));
    for (const g of [
      'fetch',
      'ingest',
      'demo',
      'sync',
      'worker',
      'queue',
      'ts',
      'write',
      'convert',
      'decrypt',
    ]) {
      expect(groups, g).toContain(g);
    }
  });

  it('names commands that exist, with flags they take', async () => {
    const limit = pLimit(3);
    const help = new Map<string, Promise<{ code: number | null; stdout: string }>>();
    const problems = await Promise.all(
      lines.map(async (l) => {
        const key = l.path.join(' ');
        if (!help.has(key))
          help.set(
            key,
            limit(() => runSluice([...l.path, '--help'])),
          );
        const res = await (help.get(key) as Promise<{ code: number | null; stdout: string }>);
        const where = `${l.doc}:${l.line}: sluice ${key}`;
        if (res.code !== 0) return [`${where}: no such command`];
        // A command's own usage line is `Usage: sluice <path> …`: a known group with a wrong
        // subcommand would print the group's help instead.
        if (!res.stdout.startsWith(`Usage: sluice ${key} `)) return [`${where}: no such command`];
        return l.flags
          .filter((f) => !new RegExp(`(^|[\\s,])${f}(?![\\w-])`, 'm').test(res.stdout))
          .map((f) => `${where}: no flag ${f}`);
      }),
    );
    expect(problems.flat()).toEqual([]);
  }, 120_000);
});
