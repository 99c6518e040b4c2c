/**
 * `sluice lineage <file|url>`: where a file came from (or, with --downstream, what was built from
 * it) as a tree; `sluice lineage verify [root]`: re-hash every output a lineage log names and
 * exit 1 (E080) when one no longer holds the bytes its record promises; `sluice lineage compact
 * [root]`: merge each past day's log objects into one.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { LineageError, NotFoundError } from '../../errors.ts';
import type { LineageNode, VerifiedOutput } from '../../lineage/index.ts';
import { intFlag } from '../flags.ts';
import { lazy } from '../lazy.ts';
import { printJson } from '../output.ts';

const lineage = lazy(() => import('../../lineage/index.ts'));
const storageOpen = lazy(() => import('../../storage/open.ts'));
const localRoot = lazy(() => import('../../storage/local-root.ts'));
const lineageRoots = lazy(() => import('../actions/lineage-roots.ts'));

export function registerLineageCommands(program: Command): void {
  const command = program
    .command('lineage')
    .description('Trace a file back to the API calls, objects and CSVs it came from, or verify a lake')
    .argument('<file>', 'a path or storage URL (s3://bucket/key) that sluice wrote')
    .option('--downstream', 'show what was built from the file instead')
    .option('--depth <n>', 'levels to walk', intFlag('--depth', { min: 1 }), 20)
    .option('--json', 'the tree as JSON')
    .action(async (file: string, opts: { downstream?: boolean; depth: number; json?: boolean }) => {
      const { lineageOf } = await lineage();
      const tree = await lineageOf(file, {
        depth: opts.depth,
        ...(opts.downstream ? { downstream: true } : {}),
      });
      // A path with neither a file nor a record is a typo, not a leaf.
      if (tree.status === 'unrecorded' && tree.url.startsWith('file://') && !existsSync(tree.url.slice(7)))
        throw new NotFoundError(`${file} does not exist and no lineage log names it`, { context: { file } });
      if (opts.json) printJson(tree);
      else process.stdout.write(drawTree(tree, opts.downstream ? 'consumers' : 'inputs').join('\n') + '\n');
    });

  command
    .command('verify')
    .description(
      'Re-hash every file a lineage log names; exit 1 when one was edited, truncated or is missing',
    )
    .argument('[root]', 'the folder or URL holding _sluice/lineage/ (a lake, a task directory)', '.')
    .option('--json', 'every output and its status as JSON')
    .option('--all', 'list outputs that are fine too')
    .option(
      '--no-nested',
      "verify only the root's own log, not the logs of folders below it (a lake in lake/)",
    )
    // `lineage` has a --json of its own, which commander gives the parent: read both.
    .action(async (root: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ json?: boolean; all?: boolean; nested: boolean }>();
      const [{ verifyLineage }, { openStorage }, { assertLocalRootExists }, { lineageRootsUnder }] =
        await Promise.all([lineage(), storageOpen(), localRoot(), lineageRoots()]);
      const storage = openStorage(root);
      await assertLocalRootExists(storage, 'lineage root');
      const local = storage.url.startsWith('file://');
      const dir = local ? fileURLToPath(storage.url) : root;
      const roots = opts.nested && local ? await lineageRootsUnder(dir) : [dir];
      const outputs: VerifiedOutput[] = [];
      const corrupt: VerifiedOutput[] = [];
      for (const [i, r] of roots.entries()) {
        const report = await verifyLineage(i === 0 ? storage : openStorage(r));
        // A file recorded in two logs (a project's and its lake's) is checked and listed once.
        const seen = new Set(outputs.map((o) => o.output));
        outputs.push(...report.outputs.filter((o) => !seen.has(o.output)));
        corrupt.push(...report.corrupt.filter((o) => !seen.has(o.output)));
        // Per folder only when there are several: one root reads as before.
        if (roots.length > 1 && !opts.json && report.outputs.length > 0)
          process.stderr.write(
            `${countsLine(report.outputs, report.corrupt, path.relative(dir, r) || '.')}\n`,
          );
      }
      if (opts.json) printJson(outputs);
      else {
        const shown = opts.all ? outputs : outputs.filter((o) => o.status !== 'ok');
        for (const o of shown) process.stdout.write(`${describe(o)}\n`);
        if (outputs.length === 0)
          process.stderr.write(
            `no lineage records under ${storage.url} (_sluice/lineage/ is empty or absent${local && opts.nested ? ' here and in the folders below' : ''})\n`,
          );
        else process.stderr.write(`${countsLine(outputs, corrupt)}\n`);
      }
      if (corrupt.length > 0) {
        throw new LineageError(
          `${corrupt.length} of ${outputs.length} outputs no longer match their lineage records, first: ${corrupt[0]?.output} (${corrupt[0]?.status})`,
          { context: { outputs: corrupt.map((o) => o.output) } },
        );
      }
    });

  command
    .command('compact')
    .description("Merge each past day's lineage log objects into one (today's folder is left alone)")
    .argument('[root]', 'the folder or URL holding _sluice/lineage/ (a lake, a task directory)', '.')
    .option('--json', 'what was merged, as JSON')
    .action(async (root: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ json?: boolean }>();
      const [{ compactLineage }, { openStorage }, { assertLocalRootExists }] = await Promise.all([
        lineage(),
        storageOpen(),
        localRoot(),
      ]);
      const storage = openStorage(root);
      await assertLocalRootExists(storage, 'lineage root');
      const report = await compactLineage(storage);
      if (opts.json) printJson(report);
      else {
        for (const d of report.compacted)
          process.stdout.write(`${d.day}  ${d.objects} objects → 1  ${d.records} records\n`);
        const merged = report.compacted.reduce((n, d) => n + d.objects, 0);
        process.stderr.write(
          `${report.compacted.length} days compacted (${merged} objects → ${report.compacted.length}), ${report.unchanged} already one object, ${report.skipped} not yet over (today)\n`,
        );
      }
    });
}

/** `N outputs checked: N ok, N corrupt`, with the folder they were recorded in when given. */
function countsLine(
  outputs: readonly VerifiedOutput[],
  corrupt: readonly VerifiedOutput[],
  folder?: string,
): string {
  const ok = outputs.filter((o) => o.status === 'ok').length;
  return `${folder === undefined ? '' : `${folder}: `}${outputs.length} outputs checked: ${ok} ok, ${corrupt.length} corrupt`;
}

function describe(o: VerifiedOutput): string {
  const hashes =
    o.status === 'changed' ? `  expected ${o.expected?.slice(0, 12)}…, found ${o.actual?.slice(0, 12)}…` : '';
  return `${o.status.padEnd(12)} ${o.output}${hashes}`;
}

function statusText(node: LineageNode): string {
  if (node.status === 'unrecorded') return 'no lineage record';
  if (node.status === 'unconfirmed') return 'not confirmed';
  if (node.status === 'unreachable') return `unreachable (${node.error?.code}: ${node.error?.message})`;
  return '';
}

/** The tree as lines: `url  kind/operation  sha256…  rows`, children indented under └─/├─. */
function drawTree(node: LineageNode, key: 'inputs' | 'consumers', prefix = '', child = ''): string[] {
  const facts = [
    node.operation ?? node.kind,
    statusText(node),
    node.sha256 ? `sha256 ${node.sha256.slice(0, 12)}…` : node.etag ? `etag ${node.etag}` : '',
    node.rows === undefined ? '' : `${node.rows} row${node.rows === 1 ? '' : 's'}`,
    node.at ?? '',
    node.truncated ? '(deeper: raise --depth)' : '',
  ].filter(Boolean);
  const lines = [`${prefix}${node.url}  ${facts.join('  ')}`];
  const children = node[key] ?? [];
  children.forEach((c, i) => {
    const last = i === children.length - 1;
    lines.push(...drawTree(c, key, `${child}${last ? '└─ ' : '├─ '}`, `${child}${last ? '   ' : '│  '}`));
  });
  return lines;
}
