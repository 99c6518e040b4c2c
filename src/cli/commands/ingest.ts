/** `sluice fetch <url>` and `sluice ingest latest|ls`: API ingestion persistence from the shell. */
import { type Command, Option } from 'commander';
import { HttpError, NotFoundError, UsageError } from '../../errors.ts';
import type { IngestLocation, SavedFile } from '../../ingest/base.ts';
import type { FetchAndSaveResult } from '../../ingest/fetch.ts';
import { maskSecretsInString } from '../../secrets/mask.ts';
import { formatBytes } from '../../util/sizes.ts';
import { durationFlag, intFlag } from '../flags.ts';
import { lazy } from '../lazy.ts';
import { printJson, printTable } from '../output.ts';

const FORMATS = ['json', 'jsonl', 'csv', 'parquet'] as const;
// Fetching, lookups and flag validation (zod) load when their command runs, not at start-up.
const fetchModule = lazy(() => import('../../ingest/fetch.ts'));
const findModule = lazy(() => import('../../ingest/find.ts'));
const fetchFlags = lazy(() => import('../actions/ingest-flags.ts'));
const ingestBase = lazy(() => import('../../ingest/base.ts'));
const localRoot = lazy(() => import('../../storage/local-root.ts'));
const collect = (value: string, previous: string[]) => [...previous, value];

function parseHeaders(pairs: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    if (colon <= 0) {
      throw new UsageError(
        `--header expects 'Name: value', got ${JSON.stringify(maskSecretsInString(pair.slice(0, 40)))}`,
      );
    }
    headers[pair.slice(0, colon).trim()] = pair.slice(colon + 1).trim();
  }
  return headers;
}

function where(base: string | undefined): IngestLocation {
  return base ? { baseDir: base } : {};
}

const shown = (f: SavedFile) => f.path ?? f.url;

/** E011 naming the base folder when a local one does not exist (a listing would show nothing). */
async function assertBaseExists(base: string | undefined): Promise<void> {
  const [{ resolveStorage }, { assertLocalRootExists }] = await Promise.all([ingestBase(), localRoot()]);
  const { storage, owned } = resolveStorage(where(base));
  try {
    await assertLocalRootExists(storage, 'ingestion base folder');
  } finally {
    if (owned) await storage.close();
  }
}

function printSaved(result: FetchAndSaveResult, json: boolean | undefined): void {
  if (json) {
    printJson({
      status: result.status,
      attempts: result.attempts,
      response: shown(result.response),
      metadata: shown(result.metadata),
    });
    return;
  }
  process.stdout.write(`${shown(result.response)}\n${shown(result.metadata)}\n`);
}

export function registerIngestCommands(program: Command): void {
  program
    .command('fetch')
    .description('GET a URL and save the response (status, masked headers, body) and masked request metadata')
    .argument('<url>', 'http(s) URL')
    .requiredOption('--source <name>', 'source name (folder under the base)')
    .requiredOption('--dataset <id>', 'dataset id')
    .option('--header <header>', "request header 'Name: value' (repeatable)", collect, [])
    .addOption(new Option('--format <format>', 'how the body is saved').choices(FORMATS).default('json'))
    .addOption(
      new Option('--timeout <duration>', 'per attempt')
        .argParser(durationFlag('--timeout', { positive: true }))
        .default(30_000, '30s'),
    )
    .option(
      '--retries <n>',
      'retries on 5xx, timeouts and network errors (4xx is never retried)',
      intFlag('--retries', { min: 0, max: 20 }),
      3,
    )
    .addOption(
      new Option('--retry-delay <duration>', 'first backoff delay, doubled per retry')
        .argParser(durationFlag('--retry-delay', { positive: true }))
        .default(1000, '1s'),
    )
    .option(
      '--base <dir|url>',
      'base directory or storage URL (default: SLUICE_INGEST_BASE_DIR or data/api_ingestion)',
    )
    .option('--json', 'print the result as JSON')
    .action(async (url: string, opts: unknown) => {
      const flags = (await fetchFlags()).parseFetchFlags(opts, FORMATS);
      const { fetchAndSave } = await fetchModule();
      try {
        const result = await fetchAndSave(url, {
          ...where(flags.base),
          sourceName: flags.source,
          datasetId: flags.dataset,
          headers: parseHeaders(flags.header),
          fileFormat: flags.format,
          timeoutMs: flags.timeout,
          retries: flags.retries,
          retryDelayMs: flags.retryDelay,
        });
        printSaved(result, flags.json);
      } catch (error) {
        const result = (error as { result?: FetchAndSaveResult }).result;
        if (error instanceof HttpError && result) printSaved(result, flags.json);
        throw error;
      }
    });

  const ingest = program.command('ingest').description('Look up saved ingestion data');

  ingest
    .command('latest')
    .description('Print the most recent saved file of a dataset (by the stamp in its name)')
    .requiredOption('--source <name>', 'source name')
    .requiredOption('--dataset <id>', 'dataset id')
    .addOption(new Option('--format <format>', 'file format').choices(FORMATS).default('json'))
    .option('--base <dir|url>', 'base directory or storage URL')
    .option('--json', 'print key, url, path, size and timestamp as JSON')
    .action(
      async (opts: {
        source: string;
        dataset: string;
        format: (typeof FORMATS)[number];
        base?: string;
        json?: boolean;
      }) => {
        await assertBaseExists(opts.base);
        const { findLatestFile } = await findModule();
        const latest = await findLatestFile(opts.dataset, {
          ...where(opts.base),
          sourceName: opts.source,
          fileFormat: opts.format,
        });
        if (!latest) {
          throw new NotFoundError(
            `No ${opts.format} files for dataset ${opts.dataset} of source ${opts.source}`,
            {
              context: { source: opts.source, dataset: opts.dataset },
            },
          );
        }
        if (opts.json) printJson(latest);
        else process.stdout.write(`${shown(latest)}\n`);
      },
    );

  ingest
    .command('ls')
    .description('List sources and datasets with file counts and their latest file')
    .option('--source <name>', 'only this source')
    .option('--base <dir|url>', 'base directory or storage URL')
    .option('--json', 'print JSON')
    .action(async (opts: { source?: string; base?: string; json?: boolean }) => {
      await assertBaseExists(opts.base);
      const { listDatasets } = await findModule();
      const rows = await listDatasets({
        ...where(opts.base),
        ...(opts.source ? { sourceName: opts.source } : {}),
      });
      if (opts.json) {
        printJson(rows);
        return;
      }
      printTable(
        rows.map((r) => ({ ...r, bytes: formatBytes(r.bytes), latest: r.latestTimestamp })),
        ['source', 'dataset', 'files', 'bytes', 'latest'],
      );
    });
}
