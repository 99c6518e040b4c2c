/**
 * `sluice lineage <file|url>`: where a file came from (or, with --downstream, what was built from
 * it) as a tree; `sluice lineage verify [root]`: re-hash every output a lineage log names and
 * exit 1 (E080) when one no longer holds the bytes its record promises; `sluice lineage compact
 * [root]`: merge each past day's log objects into one.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { LineageError, NotFoundError } from '../../errors.ts';
import type { LineageNode, VerifiedOutput } from '../../lineage/index.ts';
import { intFlag } from '../flags.ts';
import { lazy } from '../lazy.ts';
import { printJson } from '../output.ts';

const lineage = lazy(() => import('../../lineage/index.ts'));
const storageOpen = lazy(() => import('../../storage/open.ts'));
const localRoot = lazy(() => import('../../storage/local-root.ts'));

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
    // `lineage` has a --json of its own, which commander gives the parent: read both.
    .action(async (root: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<{ json?: boolean; all?: boolean }>();
      const [{ verifyLineage }, { openStorage }, { assertLocalRootExists }] = await Promise.all([
        lineage(),
        storageOpen(),
        localRoot(),
      ]);
      const storage = openStorage(root);
      await assertLocalRootExists(storage, 'lineage root');
      const report = await verifyLineage(storage);
      if (opts.json) printJson(report.outputs);
      else {
        const shown = opts.all ? report.outputs : report.outputs.filter((o) => o.status !== 'ok');
        for (const o of shown) process.stdout.write(`${describe(o)}\n`);
        const ok = report.outputs.filter((o) => o.status === 'ok').length;
        if (report.outputs.length === 0)
          process.stderr.write(
            `no lineage records under ${storage.url} (_sluice/lineage/ is empty or absent)\n`,
          );
        else
          process.stderr.write(
            `${report.outputs.length} outputs checked: ${ok} ok, ${report.corrupt.length} corrupt\n`,
          );
      }
      if (report.corrupt.length > 0) {
        throw new LineageError(
          `${report.corrupt.length} of ${report.outputs.length} outputs no longer match their lineage records, first: ${report.corrupt[0]?.output} (${report.corrupt[0]?.status})`,
          { context: { outputs: report.corrupt.map((o) => o.output) } },
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
