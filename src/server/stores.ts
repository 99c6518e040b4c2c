/**
 * The time-series stores the server writes and reads: one store per name under the server's
 * time-series root (`<root>/<name>`, a local folder or an S3 prefix), opened once on first use
 * and shared by every request (concurrent appends share its group commit). A store that does
 * not exist is created by its first write unless `autoCreate` is off; reads never create one.
 * Names are checked before any path is built: no separators, no `..`, nothing hidden.
 */
import path from 'node:path';
import { NotFoundError } from '../errors.ts';
import { openStorage, parseStorageUrl } from '../storage/open.ts';
import { TimeSeriesStore, type TimeSeriesStoreOptions } from '../timeseries/index.ts';
import { HttpProblem } from './http/problem.ts';

const STORE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Why `name` cannot name a store, or undefined when it can. */
export function storeNameProblem(name: string): string | undefined {
  if (!STORE_NAME.test(name))
    return 'must be 1–128 letters, digits, dots, dashes or underscores, starting with a letter or digit';
  if (name.includes('..')) return 'must not contain ".."';
  return undefined;
}

export function assertStoreName(name: string): void {
  const problem = storeNameProblem(name);
  if (problem)
    throw new HttpProblem(400, `invalid store name ${JSON.stringify(name.slice(0, 140))}: it ${problem}`);
}

export interface StoreRegistryOptions {
  /** Folder or `s3://bucket/prefix` holding one store per name. */
  root: string;
  /** Create a store on its first write. @default true */
  autoCreate?: boolean;
  /** Options for every store (durability, group commit, S3 settings…). */
  storeOptions?: TimeSeriesStoreOptions;
}

export class StoreRegistry {
  readonly root: string;
  readonly autoCreate: boolean;
  private readonly storeOptions: TimeSeriesStoreOptions;
  private readonly open = new Map<string, Promise<TimeSeriesStore>>();
  private closing: Promise<void> | undefined;

  constructor(options: StoreRegistryOptions) {
    this.root = options.root;
    this.autoCreate = options.autoCreate ?? true;
    this.storeOptions = options.storeOptions ?? {};
  }

  /** `<root>/<name>` as a store URL (the query of an S3 root kept at the end). */
  urlOf(name: string): string {
    assertStoreName(name);
    const parsed = parseStorageUrl(this.root);
    if (parsed.kind === 'fs') return path.join(parsed.root, name);
    const [location = '', query] = this.root.split('?', 2);
    return `${location.replace(/\/+$/, '')}/${name}${query ? `?${query}` : ''}`;
  }

  /** The store to append to: opened (or created, when allowed) on first use. */
  forWrite(name: string): Promise<TimeSeriesStore> {
    return this.get(name, this.autoCreate);
  }

  /** The store to query; 404 when it does not exist. */
  forRead(name: string): Promise<TimeSeriesStore> {
    return this.get(name, false);
  }

  /** Names of the stores open in this process. */
  openNames(): string[] {
    return [...this.open.keys()];
  }

  /** Names of the stores under the root (folders or prefixes with a valid store name). */
  async list(): Promise<string[]> {
    const names = new Set(this.openNames());
    const storage = openStorage(this.root, this.storeOptions.storage ?? {});
    try {
      for await (const entry of storage.list({ recursive: false })) {
        if (entry.type !== 'prefix') continue;
        const name = entry.prefix.replace(/\/$/, '');
        if (storeNameProblem(name) === undefined) names.add(name);
      }
    } catch (error) {
      // A root not created yet holds no store.
      if (!(error instanceof NotFoundError)) throw error;
    } finally {
      await storage.close();
    }
    return [...names].sort();
  }

  private get(name: string, create: boolean, retried = false): Promise<TimeSeriesStore> {
    assertStoreName(name);
    if (this.closing) return Promise.reject(new HttpProblem(503, 'the server is shutting down'));
    const opened = this.open.get(name);
    // A store opened by a read is the same writer instance a later write uses; a write that
    // joined a read's failed open (no such store yet) opens again, creating it.
    if (opened)
      return create && !retried
        ? opened.catch((error: unknown) => {
            if (error instanceof HttpProblem && error.status === 404) return this.get(name, create, true);
            throw error;
          })
        : opened;
    const url = this.urlOf(name);
    const opening = TimeSeriesStore.open(url, { ...this.storeOptions, create }).catch((error: unknown) => {
      this.open.delete(name);
      if (error instanceof NotFoundError) {
        const why = this.autoCreate
          ? 'reads never create one'
          : 'this server does not create stores (serve.timeseries.autoCreate is false)';
        throw new HttpProblem(404, `no time-series store named ${JSON.stringify(name)} (${why})`, {
          cause: error,
        });
      }
      throw error;
    });
    this.open.set(name, opening);
    return opening;
  }

  /** Closes every store (each flushes what it acknowledged); safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stores = await Promise.allSettled(this.open.values());
      await Promise.allSettled(
        stores.map((s) => (s.status === 'fulfilled' ? s.value.close() : Promise.resolve())),
      );
      this.open.clear();
    })();
    return this.closing;
  }
}
