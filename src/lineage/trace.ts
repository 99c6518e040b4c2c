/**
 * `lineageOf`: the chain of writes behind a file (upstream: what it was made from, and what
 * those were made from) or in front of it (downstream: what was built from it). A file's records
 * live in the nearest `_sluice/lineage/` at or above it (a lake root, a task directory, a bucket
 * prefix), found the way git finds `.git`; an input outside every log (a raw CSV, an API call) is
 * a leaf, and so is an input whose storage cannot be reached (S3 down, no credentials): marked
 * `unreachable` with the error's code, so one bucket out of reach never fails the whole trace.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { SluiceError } from '../errors.ts';
import { type OpenStorageOptions, openStorage, parseStorageUrl } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import { LINEAGE_PREFIX } from './log.ts';
import { currentWrite, type LineageIndex, type LineageWrite, readLineage } from './read.ts';
import type { LineageInput } from './record.ts';

export interface LineageNode {
  url: string;
  kind: 'output' | LineageInput['kind'];
  /** For outputs: the write that made the current bytes (or the last one begun). */
  operation?: string;
  at?: string;
  run?: string;
  sha256?: string;
  size?: number;
  rows?: number;
  etag?: string;
  /**
   * `unrecorded`: no lineage log knows this file (a leaf); `unconfirmed`: begun, never committed;
   * `unreachable`: its storage could not be asked (a leaf; `error` says why).
   */
  status?: 'committed' | 'unconfirmed' | 'unrecorded' | 'unreachable';
  /** Why an `unreachable` input's log could not be read: the error's code and message. */
  error?: { code: string; message: string };
  inputs?: LineageNode[];
  consumers?: LineageNode[];
  /** The depth limit stopped the walk here. */
  truncated?: true;
}

export interface LineageOfOptions {
  /** Levels to walk. @default 20 */
  depth?: number;
  /** Walk to what was built from the file instead of what it was built from. */
  downstream?: boolean;
  storage?: OpenStorageOptions;
}

/**
 * The URL lineage records use for a path or URL, as storage URLs spell it (`./a.csv` →
 * `file:///abs/a.csv`, the path as it is, not percent-encoded).
 */
export function lineageUrl(location: string): string {
  const parsed = parseStorageUrl(location);
  if (parsed.kind === 'fs') return `file://${parsed.root}`;
  return location.replace(/\?.*$/, '');
}

export async function lineageOf(location: string, options: LineageOfOptions = {}): Promise<LineageNode> {
  const logs = new LogFinder(options.storage ?? {});
  const depth = options.depth ?? 20;
  const walk = async (
    url: string,
    level: number,
    seen: ReadonlySet<string>,
    sha256?: string,
  ): Promise<LineageNode> => {
    let index: LineageIndex | undefined;
    try {
      index = await logs.indexFor(url);
    } catch (error) {
      // The file asked about must be reachable; an input out of reach is a leaf saying why.
      if (level === 0 || !isUnreachable(error)) throw error;
      return {
        url,
        kind: 'output',
        status: 'unreachable',
        error: { code: error.code, message: error.message },
      };
    }
    const write = index
      ? ((sha256 === undefined ? undefined : writeOfBytes(index, url, sha256)) ??
        currentWrite(index, url) ??
        lastWrite(index, url))
      : undefined;
    const node: LineageNode = write
      ? describeWrite(url, write)
      : { url, kind: 'output', status: 'unrecorded' };
    if (level >= depth) {
      // Marked only where the walk would have gone on: a leaf stays a leaf.
      const more = options.downstream
        ? (index?.consumers.get(url)?.length ?? 0) > 0
        : (write?.intent.inputs.length ?? 0) > 0;
      if (more) node.truncated = true;
      return node;
    }
    const next = new Set([...seen, url]);
    if (options.downstream) {
      const users = index?.consumers.get(url) ?? [];
      const outputs = [...new Set(users.map((w) => w.intent.output))].filter((o) => !next.has(o));
      node.consumers = await Promise.all(outputs.map((o) => walk(o, level + 1, next)));
    } else if (write) {
      node.inputs = await Promise.all(
        write.intent.inputs.map(async (input) => {
          const leaf = describeInput(input);
          const followable = input.kind === 'file' || input.kind === 'object' || input.kind === 'version';
          if (!followable || input.url === undefined || next.has(input.url)) return leaf;
          // The write that made the bytes this write read, not a later rewrite of the same path.
          const read = input.kind === 'file' || input.kind === 'version' ? input.sha256 : undefined;
          const upstream = await walk(input.url, level + 1, next, read);
          // The input as this write read it (its hash), with where it came from.
          return { ...upstream, ...leaf, ...(upstream.inputs ? { inputs: upstream.inputs } : {}) };
        }),
      );
    }
    return node;
  };
  return walk(lineageUrl(location), 0, new Set());
}

/**
 * Errors that say the storage could not be asked, not that its log is bad: no access or
 * credentials (E002), a network failure (E007), a timeout (E008), a setting missing (E001).
 */
function isUnreachable(error: unknown): error is SluiceError {
  return error instanceof SluiceError && ['E001', 'E002', 'E007', 'E008'].includes(error.code);
}

/** The last committed write of `url` that produced exactly these bytes. */
function writeOfBytes(index: LineageIndex, url: string, sha256: string): LineageWrite | undefined {
  const writes = index.byOutput.get(url) ?? [];
  for (let i = writes.length - 1; i >= 0; i--) if (writes[i]?.commit?.sha256 === sha256) return writes[i];
  return undefined;
}

function lastWrite(index: LineageIndex, url: string): LineageWrite | undefined {
  const writes = index.byOutput.get(url);
  return writes?.[writes.length - 1];
}

function describeWrite(url: string, write: LineageWrite): LineageNode {
  const { intent, commit } = write;
  return {
    url,
    kind: 'output',
    operation: intent.operation,
    at: intent.at,
    ...(intent.run === undefined ? {} : { run: intent.run }),
    ...(commit ? { sha256: commit.sha256, size: commit.size } : {}),
    ...(commit?.rows === undefined ? {} : { rows: commit.rows }),
    status: commit ? 'committed' : 'unconfirmed',
  };
}

function describeInput(input: LineageInput): LineageNode {
  switch (input.kind) {
    case 'file':
      return {
        url: input.url,
        kind: 'file',
        sha256: input.sha256,
        ...(input.size === undefined ? {} : { size: input.size }),
      };
    case 'object':
      return {
        url: input.url,
        kind: 'object',
        etag: input.etag,
        ...(input.size === undefined ? {} : { size: input.size }),
      };
    case 'http':
      return {
        url: input.url,
        kind: 'http',
        sha256: input.responseSha256,
        operation: `${input.method} → ${input.status}`,
      };
    case 'model':
      return { url: input.url ?? input.name, kind: 'model', sha256: input.sha256 };
    case 'version':
      return { url: input.url, kind: 'version', sha256: input.sha256 };
  }
}

/** Finds and caches the lineage log that covers a URL: the nearest `_sluice/lineage/` above it. */
class LogFinder {
  private readonly options: OpenStorageOptions;
  private readonly indexes = new Map<string, Promise<LineageIndex | undefined>>();
  /** Storages found out of reach, by scheme and host (`s3://bucket`): not asked again. */
  private readonly unreachable = new Map<string, SluiceError>();

  constructor(options: OpenStorageOptions) {
    this.options = options;
  }

  async indexFor(url: string): Promise<LineageIndex | undefined> {
    const authority = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(url)?.[0] ?? url;
    const known = this.unreachable.get(authority);
    if (known) throw known;
    try {
      return await this.nearest(url);
    } catch (error) {
      if (isUnreachable(error)) this.unreachable.set(authority, error);
      throw error;
    }
  }

  private async nearest(url: string): Promise<LineageIndex | undefined> {
    for (const root of ancestors(url)) {
      const cached = this.indexes.get(root);
      if (cached) {
        const index = await cached;
        if (index) return index;
        continue;
      }
      const loading = this.load(root);
      this.indexes.set(root, loading);
      const index = await loading;
      if (index) return index;
    }
    return undefined;
  }

  private async load(root: string): Promise<LineageIndex | undefined> {
    if (root.startsWith('file://')) {
      const dir = root.slice('file://'.length);
      const there = await access(path.join(dir, LINEAGE_PREFIX)).then(
        () => true,
        () => false,
      );
      return there ? readLineage(openStorage(dir, this.options)) : undefined;
    }
    let storage: Storage;
    try {
      storage = openStorage(root, this.options);
    } catch {
      return undefined;
    }
    for await (const _entry of storage.list({ prefix: LINEAGE_PREFIX, recursive: true }))
      return readLineage(storage);
    return undefined;
  }
}

/** The folders above a URL, nearest first: `file:///a/b/c.csv` → `file:///a/b/`, `file:///a/`, `file:///`. */
function ancestors(url: string): string[] {
  const out: string[] = [];
  const m = /^([a-z][a-z0-9+.-]*:\/\/(?:[^/]*))(\/.*)$/i.exec(url);
  if (!m) return out;
  const [, authority = '', rest = ''] = m;
  const parts = rest.split('/').slice(1, -1);
  for (let i = parts.length; i >= 0; i--)
    out.push(
      `${authority}/${parts
        .slice(0, i)
        .map((p) => `${p}/`)
        .join('')}`,
    );
  return out;
}
