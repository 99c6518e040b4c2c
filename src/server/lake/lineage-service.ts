/**
 * The lineage of a lake file for the dashboard: the tree `lineageOf` walks (upstream or
 * downstream), with each lake file of the chain checked against its record as `verifyLineage`
 * checks it (bytes changed, missing, never landed), and a whole-lake verify. Only files of the
 * server's lake are traced: a key relative to the lake, or a URL or path inside it — anything
 * else (`..`, another folder, another bucket, a URL with a query that could name another
 * endpoint) is refused with E010 before any I/O. A tree re-hashes at most `hashLimitBytes`, and
 * at most TREES_AT_ONCE trees are worked on at a time, so read tokens cannot make the server
 * hash without bound; the whole-lake verify runs once at a time (callers of the same prefix share it).
 */
import pLimit from 'p-limit';
import { InvalidKeyError, NotFoundError } from '../../errors.ts';
import {
  currentWrite,
  type LineageIndex,
  type LineageNode,
  type LineageWrite,
  lineageOf,
  lineageUrl,
  outputUrl,
  readLineage,
  type VerifiedOutput,
  type VerifyStatus,
  verifyLineage,
} from '../../lineage/index.ts';
import { maskSecretsInString } from '../../secrets/mask.ts';
import { assertValidKey, assertValidPrefix } from '../../storage/keys.ts';
import type { OpenStorageOptions } from '../../storage/open.ts';
import type { Storage } from '../../storage/types.ts';
import { formatBytes } from '../../util/sizes.ts';

/** Trees traced at once; more wait their turn. */
export const TREES_AT_ONCE = 2;

export interface LineageServiceOptions {
  /** Most bytes one tree re-hashes to mark changed files; a larger chain is answered unchecked. @default 256 MiB */
  hashLimitBytes?: number;
}

export type LineageDirection = 'up' | 'down';

export interface LineageNodeView extends Omit<LineageNode, 'inputs' | 'consumers'> {
  /** The file's key in the lake, when it is in the lake. */
  key?: string;
  /** The file's bytes now against its last committed record (`verifyLineage`'s statuses). */
  check?: VerifyStatus;
  /** The file now holds a later write's bytes than those this chain read (not corruption). */
  rewritten?: true;
  inputs?: LineageNodeView[];
  consumers?: LineageNodeView[];
}

export interface LineageTree {
  key: string;
  direction: LineageDirection;
  depth: number;
  tree: LineageNodeView;
  /** The lake files of the chain that were re-hashed (and their bytes), or why none were. */
  checked: { files: number; bytes: number } | { skipped: string };
}

export interface LakeVerifyReport {
  /** The lake-relative folder verified ('' for the whole lake). */
  prefix: string;
  checked: number;
  counts: Partial<Record<VerifyStatus, number>>;
  corrupt: number;
  outputs: (VerifiedOutput & { key: string })[];
}

export class LineageService {
  private readonly storage: Storage;
  private readonly storageOptions: OpenStorageOptions;
  private readonly hashLimit: number;
  private readonly trees = pLimit(TREES_AT_ONCE);
  private readonly verifying = new Map<string, Promise<LakeVerifyReport>>();
  /** `<lake url>/`: every lake file's lineage URL starts with it. */
  private readonly base: string;

  constructor(storage: Storage, storageOptions: OpenStorageOptions, options: LineageServiceOptions = {}) {
    this.storage = storage;
    this.storageOptions = storageOptions;
    this.hashLimit = options.hashLimitBytes ?? 256 * 1024 * 1024;
    this.base = outputUrl(storage, '');
  }

  /** The lake key `input` names: a key relative to the lake, or a URL or absolute path inside it. */
  resolveKey(input: string): string {
    const shown = JSON.stringify(maskSecretsInString(input).slice(0, 200));
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(input) && !input.startsWith('/')) {
      try {
        return assertValidKey(input);
      } catch (error) {
        throw new InvalidKeyError(`${shown} is not a file of the lake: ${(error as Error).message}`, {
          context: { key: input },
        });
      }
    }
    if (/[?#]/.test(input))
      throw new InvalidKeyError(`${shown}: a URL with a query or fragment does not name a lake file`);
    let url: string;
    try {
      url = lineageUrl(input);
    } catch (error) {
      throw new InvalidKeyError(`${shown} is not a storage URL: ${(error as Error).message}`);
    }
    if (!url.startsWith(this.base))
      throw new InvalidKeyError(
        `${shown} is outside this server's lake: lineage is served for the lake's files only (a key such as qa/staging/x.parquet)`,
      );
    const key = url.slice(this.base.length);
    try {
      return assertValidKey(key);
    } catch (error) {
      throw new InvalidKeyError(`${shown} is not a file of the lake: ${(error as Error).message}`);
    }
  }

  /** The chain of `input` (upstream or downstream), each lake file in it checked. */
  tree(input: string, direction: LineageDirection, depth: number): Promise<LineageTree> {
    const key = this.resolveKey(input);
    return this.trees(async () => {
      // A local path, not a file:// URL: a key may hold characters a URL would decode.
      const location = this.storage.localPath?.(key) ?? outputUrl(this.storage, key);
      const node = await lineageOf(location, {
        depth,
        storage: this.storageOptions,
        ...(direction === 'down' ? { downstream: true } : {}),
      });
      if (node.status === 'unrecorded' && !(await this.storage.exists(key)))
        throw new NotFoundError(
          `no file ${JSON.stringify(key)} in the lake, and no lineage record names it`,
          {
            context: { key },
          },
        );
      const { byUrl, summary } = await this.check(node);
      return { key, direction, depth, tree: this.view(node, byUrl), checked: summary };
    });
  }

  /** Re-hashes every output the lake's log names under `prefix` (lake-relative folder, '' = all). */
  verify(prefix = ''): Promise<LakeVerifyReport> {
    const folder = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    try {
      assertValidPrefix(folder);
    } catch (error) {
      throw new InvalidKeyError(`root ${(error as Error).message}`, { context: { key: prefix } });
    }
    const running = this.verifying.get(folder);
    if (running) return running;
    const run = this.verifyNow(folder).finally(() => this.verifying.delete(folder));
    this.verifying.set(folder, run);
    return run;
  }

  private async verifyNow(folder: string): Promise<LakeVerifyReport> {
    const index = await readLineage(this.storage);
    const within = this.base + folder;
    const report = await verifyLineage(
      this.storage,
      only(
        index,
        [...index.byOutput.keys()].filter((u) => u.startsWith(within)),
      ),
    );
    const counts: Partial<Record<VerifyStatus, number>> = {};
    for (const o of report.outputs) counts[o.status] = (counts[o.status] ?? 0) + 1;
    return {
      prefix: folder,
      checked: report.outputs.length,
      counts,
      corrupt: report.corrupt.length,
      outputs: report.outputs.map((o) => ({
        ...o,
        output: maskSecretsInString(o.output),
        key: o.output.slice(this.base.length),
      })),
    };
  }

  /** Verify's status of each lake file of the tree that has a record (within the hash limit). */
  private async check(node: LineageNode): Promise<{
    byUrl: Map<string, VerifiedOutput>;
    summary: LineageTree['checked'];
  }> {
    const index = await readLineage(this.storage);
    const urls = [...urlsOf(node)].filter((u) => u.startsWith(this.base) && index.byOutput.has(u));
    const bytes = urls.reduce((sum, u) => sum + (currentWrite(index, u)?.commit?.size ?? 0), 0);
    if (bytes > this.hashLimit)
      return {
        byUrl: new Map(),
        summary: {
          skipped: `the chain's lake files hold ${formatBytes(bytes)}, more than the ${formatBytes(this.hashLimit)} a lineage view re-hashes: run sluice lineage verify (or GET /api/lineage/verify)`,
        },
      };
    const report = await verifyLineage(this.storage, only(index, urls));
    return {
      byUrl: new Map(report.outputs.map((o) => [o.output, o])),
      summary: { files: urls.length, bytes },
    };
  }

  private view(node: LineageNode, checks: Map<string, VerifiedOutput>): LineageNodeView {
    const { inputs, consumers, ...rest } = node;
    const out: LineageNodeView = { ...rest, url: maskSecretsInString(node.url) };
    if (node.url.startsWith(this.base)) out.key = node.url.slice(this.base.length);
    const checked = checks.get(node.url);
    if (checked) {
      out.check = checked.status;
      if (checked.status === 'ok' && node.sha256 !== undefined && checked.actual !== node.sha256)
        out.rewritten = true;
    }
    if (inputs) out.inputs = inputs.map((n) => this.view(n, checks));
    if (consumers) out.consumers = consumers.map((n) => this.view(n, checks));
    return out;
  }
}

/** The index with only these outputs (what verifyLineage then re-hashes). */
function only(index: LineageIndex, outputs: readonly string[]): LineageIndex {
  const byOutput = new Map<string, LineageWrite[]>();
  for (const u of outputs) {
    const writes = index.byOutput.get(u);
    if (writes) byOutput.set(u, writes);
  }
  return { ...index, byOutput };
}

function urlsOf(node: LineageNode, into = new Set<string>()): Set<string> {
  into.add(node.url);
  for (const n of node.inputs ?? []) urlsOf(n, into);
  for (const n of node.consumers ?? []) urlsOf(n, into);
  return into;
}
