/**
 * `sluice ts append|import|query|agg|latest|stats|compact|retain|export`, and how their time and
 * value arguments are read (checked before any store opens).
 */
import * as fsp from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors.ts';
import { fromOsError } from '../../os-errors.ts';
import type { TimeSeriesStore } from '../../timeseries/store.ts';
import type { AggregateFn, PointValue, TimeSeriesStoreOptions } from '../../timeseries/types.ts';
import { readDecimal } from '../../util/decimal-text.ts';
import { parseDuration } from '../../util/durations.ts';
import { durationFlag, intFlag, jsonObjectFlag } from '../flags.ts';
import { lazy } from '../lazy.ts';
import { printJson, printTable } from '../output.ts';
import { createProgressReporter, type ProgressReporter } from '../progress.ts';
import { commandSignal, describeInterruption } from '../signals.ts';

const FORMATS = ['table', 'csv', 'json', 'jsonl'];
// The store (and DuckDB behind it) loads only when a `ts` command runs; the CSV writer only for --format csv.
const storeModule = lazy(() => import('../../timeseries/store.ts'));
const csvStringify = lazy(() => import('csv-stringify/sync'));

/** `--from -1h`, `now`, ISO 8601 or epoch ms/µs. */
export function parseTimeArg(text: string | undefined, flag: string): string | number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'now') return Date.now();
  const rel = /^-\s*(\d+(?:\.\d+)?\s*(?:ms|s|m|h|d))$/i.exec(t);
  if (rel) return Date.now() - parseDuration(rel[1] as string);
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (Number.isNaN(Date.parse(t.endsWith('Z') || /[+-]\d\d:?\d\d$/.test(t) ? t : `${t}Z`))) {
    throw new UsageError(
      `${flag} expects an ISO time, epoch ms, 'now' or a relative time like -1h, got ${JSON.stringify(text)}`,
    );
  }
  return t;
}

const VALUE_TYPES = ['number', 'string', 'bool', 'null'];

/**
 * The `<value>` of `ts append`, read as `--type` says. A number must be a plain decimal that a
 * double holds as typed (see readDecimal): NaN, 1e999, 0x10 or a typo are refused, never stored
 * as text; text is stored only when asked for with --string.
 */
export function parseValueArg(text: string, type = 'number'): PointValue {
  switch (type) {
    case 'string':
      return text;
    case 'bool':
      if (text !== 'true' && text !== 'false')
        throw new UsageError(`<value> must be true or false with --type bool, got ${JSON.stringify(text)}`);
      return text === 'true';
    case 'null':
      if (text !== 'null')
        throw new UsageError(`<value> must be null with --type null, got ${JSON.stringify(text)}`);
      return null;
    default: {
      const read = readDecimal(text);
      if (read.problem === undefined) return read.value;
      throw new UsageError(
        `<value> must be a finite number (like 12, -0.5 or 1e3), got ${JSON.stringify(text)}: it ${read.problem}; to store text pass --string, true/false --type bool, null --type null`,
      );
    }
  }
}

/** `--older-than` of `ts retain`: a duration (30d, kept as text for the store) or a time. */
function olderThanArg(text: string): string | number {
  if (/^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$/i.test(text)) return text;
  return parseTimeArg(text, '--older-than') as string | number;
}

const timeFlag = (flag: string) => (text: string) => parseTimeArg(text, flag);

/**
 * Runs `fn` on the store open for `sluice ts <command>`, with the command's progress: reading the
 * log back on open (and a reader's refresh before each query) is a phase of it —
 * `ts-compact (replaying log): 41 MB of 65 MB (63%), …`, seconds on a big log — and `fn` reports
 * the rest on the same reporter. Progress ends before the command prints its result.
 */
async function withStore<T>(
  command: string,
  url: string,
  options: TimeSeriesStoreOptions,
  fn: (s: TimeSeriesStore, progress: ProgressReporter) => Promise<T>,
) {
  const progress = createProgressReporter();
  const onReplayProgress: TimeSeriesStoreOptions['onReplayProgress'] = (e) =>
    progress.update({ ...e, operation: `ts-${command}`, detail: 'replaying log' });
  try {
    const { TimeSeriesStore } = await storeModule();
    const open = { compactIntervalMs: 0, compactPoints: 0, onReplayProgress, ...options };
    const store = await TimeSeriesStore.open(url, open);
    try {
      return await fn(store, progress);
    } finally {
      await store.close();
    }
  } finally {
    progress.stop();
  }
}

async function printRows(rows: Record<string, unknown>[], format: string): Promise<void> {
  if (format === 'json') {
    printJson(rows);
    return;
  }
  if (format === 'jsonl') {
    for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
    return;
  }
  const flat = rows.map((r) =>
    Object.fromEntries(
      Object.entries(r).map(([k, v]) => [k, v !== null && typeof v === 'object' ? JSON.stringify(v) : v]),
    ),
  );
  if (format === 'csv') {
    const cols = Object.keys(flat[0] ?? {});
    const { stringify } = await csvStringify();
    process.stdout.write(stringify([cols, ...flat.map((r) => cols.map((c) => r[c] ?? ''))]));
    return;
  }
  printTable(flat);
}

const formatOption = () => new Option('--format <format>', 'output format').choices(FORMATS).default('table');
const walOption = () =>
  new Option('--wal-dir <dir>', 'write-ahead log directory (default: <store>/wal, or a cache dir for s3://)');

function walOpts(opts: { walDir?: string }): TimeSeriesStoreOptions {
  return opts.walDir ? { walDir: opts.walDir } : {};
}

/** `sluice ts …`: the high-frequency time-series store. Readers open read-only, beside a running writer. */
export function registerTimeseriesCommands(program: Command): void {
  const ts = program
    .command('ts')
    .description('High-frequency time-series store (local path or s3://bucket/prefix)');

  ts.command('append')
    .description('Append one point (durable when the command returns)')
    .argument('<store>', 'store path or s3:// URL')
    .argument('<variable>', 'variable name')
    .argument('<value>', 'a finite number (12, -0.5, 1e3); text with --string; see --type')
    .option('--at <time>', 'timestamp: ISO, epoch ms, now or -5m (default: now)', timeFlag('--at'))
    .option('--meta <json>', 'metadata JSON object')
    .addOption(new Option('--type <type>', 'how to read <value>').choices(VALUE_TYPES).default('number'))
    .addOption(new Option('--string', 'store <value> as text (same as --type string)').conflicts('type'))
    .addOption(walOption())
    .action(
      async (
        url: string,
        variable: string,
        text: string,
        opts: { at?: string | number; meta?: string; type: string; string?: boolean; walDir?: string },
      ) => {
        // Everything is checked before the store opens: a refused value creates nothing.
        const value = parseValueArg(text, opts.string ? 'string' : opts.type);
        let meta: Record<string, unknown> | undefined;
        if (opts.meta !== undefined) meta = jsonObjectFlag('--meta', opts.meta);
        const at = opts.at ?? Date.now();
        await withStore('append', url, walOpts(opts), (s) => s.storeDataPoint(variable, at, value, meta));
      },
    );

  ts.command('import')
    .description("Import a .jsonl or .csv file, or a directory in the seed's <variable>.jsonl layout")
    .argument('<store>')
    .argument('<path>', 'file.jsonl, file.csv or a directory of <variable>.jsonl files')
    .option('--compact', 'compact to Parquet after importing')
    .option('--json', 'print {"points": n, "files": n}')
    .addOption(walOption())
    .action(
      async (url: string, target: string, opts: { compact?: boolean; walDir?: string; json?: boolean }) => {
        // Checked before the store opens, so a mistyped input leaves no empty store behind.
        await fsp.stat(target).catch((error) => {
          throw fromOsError(error, { path: target, access: 'read' }) ?? error;
        });
        describeInterruption(
          () => 'batches stored before the stop are kept whole; import again for the rest',
        );
        const res = await withStore('import', url, walOpts(opts), async (s, progress) => {
          const r = await s.importJsonl(target, {
            onProgress: (e) => progress.update(e),
            signal: commandSignal(),
          });
          if (opts.compact) await s.compact({ onProgress: (e) => progress.update(e) });
          return r;
        });
        if (opts.json) printJson(res);
        else process.stdout.write(`imported ${res.points} points from ${res.files} file(s)\n`);
      },
    );

  ts.command('query')
    .description('Points of one variable in a time range')
    .argument('<store>')
    .argument('<variable>')
    .option('--from <time>', 'start (inclusive): ISO, epoch ms, now, -1h', timeFlag('--from'))
    .option('--to <time>', 'end (exclusive)', timeFlag('--to'))
    .option('--limit <n>', 'at most n points', intFlag('--limit'))
    .addOption(new Option('--order <order>').choices(['asc', 'desc']).default('asc'))
    .addOption(formatOption())
    .addOption(walOption())
    .action(async (url: string, variable: string, opts: Record<string, string | number | undefined>) => {
      const rows: Record<string, unknown>[] = [];
      await withStore('query', url, { readOnly: true, ...walOpts(opts) }, async (s) => {
        const q = {
          from: opts.from,
          to: opts.to,
          limit: opts.limit as number | undefined,
          order: opts.order as 'asc' | 'desc',
        };
        for await (const p of s.query(variable, q)) {
          const row = { timestamp: p.timestamp, value: p.value, metadata: p.metadata ?? null };
          if (opts.format === 'jsonl') process.stdout.write(`${JSON.stringify(row)}\n`);
          else rows.push(row);
        }
      });
      if (opts.format !== 'jsonl') await printRows(rows, String(opts.format));
    });

  ts.command('agg')
    .description('Downsample: one value per bucket')
    .argument('<store>')
    .argument('<variables...>')
    .requiredOption(
      '--every <duration>',
      'bucket width, e.g. 1m, 30s, 1h',
      durationFlag('--every', { positive: true }),
    )
    .addOption(
      new Option('--fn <fn>').choices(['avg', 'min', 'max', 'sum', 'count', 'first', 'last']).default('avg'),
    )
    .option('--from <time>', 'start (inclusive)', timeFlag('--from'))
    .option('--to <time>', 'end (exclusive)', timeFlag('--to'))
    .addOption(formatOption())
    .addOption(walOption())
    .action(async (url: string, variables: string[], opts: Record<string, string | number | undefined>) => {
      const rows = await withStore('agg', url, { readOnly: true, ...walOpts(opts) }, (s) =>
        s.aggregate(variables, {
          every: opts.every as number,
          fn: opts.fn as AggregateFn,
          from: opts.from,
          to: opts.to,
        }),
      );
      await printRows(
        rows.map((r) => ({ variable: r.variable, bucket: r.bucket, value: r.value, count: r.count })),
        String(opts.format),
      );
    });

  ts.command('latest')
    .description('The latest point of each variable')
    .argument('<store>')
    .argument('[variables...]', 'default: all')
    .addOption(formatOption())
    .addOption(walOption())
    .action(async (url: string, variables: string[], opts: { format: string; walDir?: string }) => {
      const rows = await withStore('latest', url, { readOnly: true, ...walOpts(opts) }, async (s) => {
        const out: Record<string, unknown>[] = [];
        for (const p of await s.latest(variables.length > 0 ? variables : await s.variables())) {
          if (p)
            out.push({
              variable: p.variable,
              timestamp: p.timestamp,
              value: p.value,
              metadata: p.metadata ?? null,
            });
        }
        return out;
      });
      await printRows(rows, opts.format);
    });

  ts.command('stats')
    .description('Counts, sizes and time range of the store')
    .argument('<store>')
    .option('--json', 'print JSON')
    .addOption(walOption())
    .action(async (url: string, opts: { json?: boolean; walDir?: string }) => {
      const stats = await withStore('stats', url, { readOnly: true, ...walOpts(opts) }, (s) => s.stats());
      if (opts.json) printJson(stats);
      else printTable(Object.entries(stats).map(([k, v]) => ({ stat: k, value: v })));
    });

  ts.command('compact')
    .description('Write buffered points to Parquet segments and trim the log')
    .argument('<store>')
    .addOption(walOption())
    .action(async (url: string, opts: { walDir?: string }) => {
      const res = await withStore('compact', url, { create: false, ...walOpts(opts) }, (s, progress) =>
        s.compact({ onProgress: (e) => progress.update(e) }),
      );
      printJson(res);
    });

  ts.command('retain')
    .description('Delete points older than a time or duration')
    .argument('<store>')
    .requiredOption('--older-than <time>', 'e.g. 30d, or an ISO time', olderThanArg)
    .addOption(walOption())
    .action(async (url: string, opts: { olderThan: string | number; walDir?: string }) => {
      const res = await withStore('retain', url, { create: false, ...walOpts(opts) }, (s) =>
        s.applyRetention({ olderThan: opts.olderThan }),
      );
      printJson(res);
    });

  ts.command('export')
    .description('Export as seed-layout JSONL files (a directory), one CSV or one Parquet file')
    .argument('<store>')
    .argument('[variable]', 'default: all variables')
    .addOption(new Option('--format <format>').choices(['jsonl', 'csv', 'parquet']).default('jsonl'))
    .requiredOption('--out <path>', 'directory (jsonl) or file (csv, parquet)')
    .option('--from <time>', 'start (inclusive)', timeFlag('--from'))
    .option('--to <time>', 'end (exclusive)', timeFlag('--to'))
    .addOption(walOption())
    .action(
      async (
        url: string,
        variable: string | undefined,
        opts: Record<string, string | number | undefined>,
      ) => {
        const res = await withStore('export', url, { readOnly: true, ...walOpts(opts) }, (s, progress) =>
          s.export(variable, {
            format: opts.format as 'jsonl',
            out: opts.out as string,
            from: opts.from,
            to: opts.to,
            onProgress: (e) => progress.update(e),
          }),
        );
        process.stdout.write(`exported ${res.points} points to ${res.files.join(', ')}\n`);
      },
    );
}
