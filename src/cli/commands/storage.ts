/** `sluice storage ls|cat|put|rm|gc|stat`: objects on local disk, S3 or memory, by URL. */
import { createReadStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type Command, Option } from 'commander';
import { UsageError } from '../../errors.ts';
import { fromOsError } from '../../os-errors.ts';
import type { ListEntry, PutBody } from '../../storage/types.ts';
import { formatBytes } from '../../util/sizes.ts';
import { durationFlag, intFlag } from '../flags.ts';
import { lazy } from '../lazy.ts';
import { printJson } from '../output.ts';
import { createProgressReporter } from '../progress.ts';

// The storage drivers, the uploader and the garbage collectors load when a storage command runs.
const storageOpen = lazy(() => import('../../storage/open.ts'));
const localRoot = lazy(() => import('../../storage/local-root.ts'));
const uploader = lazy(() => import('../../sync/upload-tree.ts'));
const garbage = lazy(() => import('../../storage/gc.ts'));
const storeGarbage = lazy(() => import('../../timeseries/orphans.ts'));
const storageKeys = lazy(() => import('../../storage/keys.ts'));

function parseMeta(pairs: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--meta expects key=value, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** `sluice storage ls|cat|put|rm|gc|stat <url>` over any storage URL. */
export function registerStorageCommands(program: Command): void {
  const storage = program
    .command('storage')
    .description('Read and write objects on local disk, S3 or memory by URL');

  storage
    .command('ls')
    .description('List objects under a URL (a folder or prefix)')
    .argument('<url>', 'path, file://, s3://bucket/prefix')
    .option('-r, --recursive', 'list the whole tree, not one level')
    .option('-l, --long', 'show size, modified time and etag')
    .option('--json', 'one JSON object per line')
    .action(async (url: string, opts: { recursive?: boolean; long?: boolean; json?: boolean }) => {
      const [{ openStorage }, { assertLocalRootExists }] = await Promise.all([storageOpen(), localRoot()]);
      const store = openStorage(url);
      await assertLocalRootExists(store);
      for await (const entry of store.list({ recursive: opts.recursive ?? false })) printEntry(entry, opts);
    });

  storage
    .command('cat')
    .description('Write an object to stdout')
    .argument('<url>', 'object URL')
    .action(async (url: string) => {
      const { openObjectUrl } = await storageOpen();
      const { storage: store, key } = openObjectUrl(url);
      await pipeline(await store.getStream(key), process.stdout, { end: false });
    });

  storage
    .command('put')
    .description('Upload a file (or `-` for stdin), or a directory with --recursive')
    .argument('<source>', 'local file, directory or -')
    .argument('<url>', 'destination object URL (or prefix ending in / for --recursive)')
    .option('-r, --recursive', 'upload a directory tree under the destination prefix')
    .option('--content-type <type>', 'content type to store')
    .option('--meta <key=value>', 'user metadata (repeatable)', collect, [])
    .option(
      '--concurrency <n>',
      'files uploaded at once with --recursive',
      intFlag('--concurrency', { min: 1 }),
      16,
    )
    .option('--json', 'print what was stored as JSON')
    .action(
      async (
        source: string,
        url: string,
        opts: {
          recursive?: boolean;
          contentType?: string;
          meta: string[];
          concurrency: number;
          json?: boolean;
        },
      ) => {
        const { openObjectUrl, openStorage } = await storageOpen();
        if (opts.recursive) {
          const { uploadTree } = await uploader();
          const store = openStorage(url);
          const progress = createProgressReporter();
          const result = await uploadTree(source, store, '', {
            concurrency: opts.concurrency,
            onProgress: (event) => progress.update(event),
          });
          progress.stop();
          if (opts.json) printJson({ url: store.url, files: result.files, bytes: result.bytes });
          else
            process.stdout.write(
              `uploaded ${result.files} files (${formatBytes(result.bytes)}) to ${store.url}\n`,
            );
          return;
        }
        const target = url.endsWith('/') && source !== '-' ? url + path.basename(source) : url;
        const { storage: store, key } = openObjectUrl(target);
        let body: PutBody;
        if (source === '-') body = process.stdin;
        else {
          const st = await fsp.stat(source).catch((error) => {
            throw fromOsError(error, { path: source, access: 'read' }) ?? error;
          });
          if (!st.isFile()) throw new UsageError(`${source} is not a file (use --recursive for directories)`);
          body = createReadStream(source);
        }
        const result = await store.put(key, body, {
          metadata: parseMeta(opts.meta),
          ...(opts.contentType ? { contentType: opts.contentType } : {}),
        });
        const stored = `${store.url.replace(/\/?$/, '/')}${key}`;
        if (opts.json) printJson({ url: stored, size: result.size, etag: result.etag });
        else process.stdout.write(`${stored} ${formatBytes(result.size)}\n`);
      },
    );

  storage
    .command('rm')
    .description('Delete an object, or every object under a prefix with --recursive')
    .argument('<url>', 'object URL or prefix')
    .option('-r, --recursive', 'delete everything under the prefix')
    .action(async (url: string, opts: { recursive?: boolean }) => {
      const { openObjectUrl, openStorage } = await storageOpen();
      if (!opts.recursive) {
        const { storage: store, key } = openObjectUrl(url);
        await store.delete(key);
        return;
      }
      const store = openStorage(url);
      const keys: string[] = [];
      for await (const e of store.list()) if (e.type === 'object') keys.push(e.key);
      await store.deleteMany(keys);
      process.stdout.write(`deleted ${keys.length} objects\n`);
    });

  storage
    .command('gc')
    .description(
      'Remove what killed writers left in a local storage root: temp files, metadata of deleted objects, and time-series segments no manifest names',
    )
    .argument('<dir>', 'local storage root (path or file:// URL)')
    .addOption(
      new Option('--older-than <duration>', 'only entries older than this (e.g. 30m, 24h, 7d)')
        .argParser(durationFlag('--older-than'))
        .default(86_400_000, '24h'),
    )
    .option('--dry-run', 'list what would be removed, remove nothing')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { olderThan: number; dryRun?: boolean; json?: boolean }) => {
      const { parseStorageUrl } = await storageOpen();
      const parsed = parseStorageUrl(dir);
      if (parsed.kind !== 'fs') {
        throw new UsageError(
          `storage gc works on local storage; ${dir} has no temp files (for S3, abandoned multipart uploads are removed by a bucket lifecycle rule)`,
        );
      }
      const [{ collectGarbage }, { collectStoreGarbage }, { compareKeys }] = await Promise.all([
        garbage(),
        storeGarbage(),
        storageKeys(),
      ]);
      const now = Date.now();
      const dryRun = opts.dryRun ?? false;
      const files = await collectGarbage(parsed.root, { olderThanMs: opts.olderThan, dryRun, now });
      const stores = await collectStoreGarbage(parsed.root, { cutoffMs: now - opts.olderThan, dryRun });
      const removed = [...files.removed, ...stores.removed].sort((a, b) => compareKeys(a.path, b.path));
      const result = { dryRun, removed, bytes: files.bytes + stores.bytes, skipped: stores.skipped };
      if (opts.json) return printJson(result);
      const verb = result.dryRun ? 'would remove' : 'removed';
      for (const e of result.removed)
        process.stdout.write(`${verb}: ${e.path} (${e.kind}, ${formatBytes(e.bytes)})\n`);
      for (const s of result.skipped)
        process.stderr.write(`skipped time-series store ${s.path}: ${s.reason}\n`);
      process.stdout.write(`${verb} ${result.removed.length} files (${formatBytes(result.bytes)})\n`);
    });

  storage
    .command('stat')
    .description('Show size, modified time, etag, content type and metadata of an object')
    .argument('<url>', 'object URL')
    .option('--json', 'print JSON')
    .action(async (url: string, opts: { json?: boolean }) => {
      const { openObjectUrl } = await storageOpen();
      const { storage: store, key } = openObjectUrl(url);
      const info = await store.stat(key);
      if (opts.json) return printJson(info);
      process.stdout.write(
        `key: ${info.key}\nsize: ${info.size} (${formatBytes(info.size)})\nmodified: ${info.mtime.toISOString()}\netag: ${info.etag}\n` +
          `content-type: ${info.contentType ?? ''}\n` +
          Object.entries(info.metadata)
            .map(([k, v]) => `meta.${k}: ${v}\n`)
            .join(''),
      );
    });
}

function printEntry(entry: ListEntry, opts: { long?: boolean; json?: boolean }): void {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(entry)}\n`);
    return;
  }
  if (entry.type === 'prefix') {
    process.stdout.write(
      opts.long ? `${'DIR'.padStart(10)}  ${''.padEnd(24)}  ${entry.prefix}\n` : `${entry.prefix}\n`,
    );
    return;
  }
  process.stdout.write(
    opts.long
      ? `${String(entry.size).padStart(10)}  ${entry.mtime.toISOString().padEnd(24)}  ${entry.key}\n`
      : `${entry.key}\n`,
  );
}
