import type { Readable } from 'node:stream';

/** What a driver can do beyond the common contract. */
export interface StorageCapabilities {
  /** `put(..., { ifNotExists: true })` is atomic (no two writers both succeed). */
  readonly atomicCreate: boolean;
  /** Objects are plain files: `localPath(key)` returns a path DuckDB and other tools can open. */
  readonly localFiles: boolean;
}

export interface ObjectInfo {
  key: string;
  size: number;
  mtime: Date;
  /** Changes whenever the content is replaced. An MD5 hex digest on S3 single-part uploads. */
  etag: string;
  contentType?: string;
  /** User metadata; keys are lower-case (as S3 returns them). */
  metadata: Record<string, string>;
}

/** One row of a listing: an object, or (with a delimiter) a common prefix ending in `/`. */
export type ListEntry =
  | { type: 'object'; key: string; size: number; mtime: Date; etag: string }
  | { type: 'prefix'; prefix: string };

export interface ListOptions {
  /** Only keys starting with this string. @default '' */
  prefix?: string;
  /** Walk the whole tree (true) or return one level with `prefix` entries for folders (false). @default true */
  recursive?: boolean;
  /** Only keys lexicographically after this one. */
  startAfter?: string;
  /**
   * Keys believed to be in the listing (say, from an earlier one), sorted (byte order; another
   * order only makes the hint less useful), or a promise of them: the listing starts without
   * waiting. A driver whose pages are network round trips asks for several pages at once from
   * them; every page is checked against the one before, so a wrong hint costs requests, never
   * entries.
   */
  expectedKeys?: readonly string[] | Promise<readonly string[] | undefined>;
  signal?: AbortSignal;
}

export type PutBody = Uint8Array | string | Readable | AsyncIterable<Uint8Array>;

export interface PutOptions {
  contentType?: string;
  /** User metadata (ASCII keys, string values); stored with the object on every driver. */
  metadata?: Record<string, string>;
  /**
   * Fail with AlreadyExistsError (E013) if the key exists. Atomic where `capabilities.atomicCreate`;
   * on S3 also sent as `If-None-Match: *`, atomic where the server honours it (`conditionalWrites()`).
   */
  ifNotExists?: boolean;
  /**
   * Write only if the object's ETag is still this one (as `stat`, `getWithEtag` or a put returned
   * it); otherwise, or when the object is gone, fail with PreconditionFailedError (E015) and leave
   * it as it is. Atomic on memory, and on S3 where the server honours `If-Match`
   * (`conditionalWrites()`); elsewhere a check just before the write (see each driver).
   * Not with `ifNotExists`.
   */
  ifMatch?: string;
  signal?: AbortSignal;
  /** Called with bytes written so far, for progress bars. */
  onProgress?: (bytesWritten: number) => void;
}

export interface PutResult {
  key: string;
  size: number;
  etag: string;
}

/** A whole object and the ETag of exactly the bytes read (for a later put's `ifMatch`). */
export interface GetWithEtagResult {
  body: Buffer;
  etag: string;
}

export interface GetOptions {
  /**
   * Read only the version at this ETag (as a listing, `stat` or a put reported it); when the object
   * is at another, fail with PreconditionFailedError (E015) and read nothing. A missing object is
   * NotFoundError (E011), as without it. Exact on every driver: S3 sends `If-Match` and also checks
   * the response's own ETag (for servers that ignore the header); fs checks the open file, which
   * keeps its version whatever replaces the path; memory checks and reads in one step.
   */
  ifMatch?: string;
  signal?: AbortSignal;
}

export interface GetStreamOptions extends GetOptions {
  /** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
  range?: { start: number; end?: number };
}

export interface CopyOptions {
  /** Replace the user metadata on the copy instead of keeping the source's. */
  metadata?: Record<string, string>;
  /**
   * Copy only if the source is at this ETag; otherwise PreconditionFailedError (E015), the source
   * untouched. A missing source is NotFoundError (E011). fs and memory copy exactly that version.
   * S3 sends `x-amz-copy-source-if-match`; where the server ignores it, the copy's ETag is
   * compared afterwards (and, when it differs, the source's), so a newer source is reported
   * (E015) though the target may then hold it.
   */
  ifMatch?: string;
}

export interface DeleteOptions {
  /**
   * Delete only if the object is at this ETag; at another, PreconditionFailedError (E015) and the
   * object stays. Already gone is success, as without it (and as S3 answers). S3 sends `If-Match`
   * (AWS S3 honours it; servers that ignore it delete whatever is there). memory: atomic. fs: a
   * rename to a hidden claim name, checked, and put back if it was another version (claim.ts).
   */
  ifMatch?: string;
}

/** One key of `deleteMany`, deleted only while at `ifMatch` when given (as `DeleteOptions`). */
export interface DeleteTarget {
  key: string;
  ifMatch?: string;
}

export interface MoveOptions {
  /** Move only the version at this ETag: a copy with `ifMatch`, then a delete with `ifMatch`. */
  ifMatch?: string;
}

/**
 * One interface for local disk, S3 and memory. Keys are `/`-separated relative paths, validated
 * before any I/O (see keys.ts). Every put is atomic: readers see the old object or the new one.
 */
export interface Storage {
  readonly kind: 'fs' | 's3' | 'memory';
  /** The URL this storage was opened with, normalised (no credentials). */
  readonly url: string;
  readonly capabilities: StorageCapabilities;

  get(key: string, options?: GetOptions): Promise<Buffer>;
  /** Like `get`, with the ETag of the version read, taken from the same response (or open file). */
  getWithEtag(key: string, options?: GetOptions): Promise<GetWithEtagResult>;
  getStream(key: string, options?: GetStreamOptions): Promise<Readable>;
  put(key: string, body: PutBody, options?: PutOptions): Promise<PutResult>;
  /** Throws NotFoundError (E011) when absent. */
  stat(key: string): Promise<ObjectInfo>;
  exists(key: string): Promise<boolean>;
  /** Lexicographic (byte) order like S3; every page is fetched; a failing page throws. */
  list(options?: ListOptions): AsyncIterable<ListEntry>;
  /** Removes the object; a missing key is not an error. */
  delete(key: string, options?: DeleteOptions): Promise<void>;
  /**
   * Deletes every key (in batches where the backend has them). Keys some of which could not be
   * deleted throw: PreconditionFailedError (E015) when each was refused by its `ifMatch`, else
   * StorageError; `context.failedKeys` names them all and `context.refusedKeys` those refused by
   * their `ifMatch`, as the caller named them. The others are deleted.
   */
  deleteMany(keys: readonly (string | DeleteTarget)[]): Promise<void>;
  copy(fromKey: string, toKey: string, options?: CopyOptions): Promise<void>;
  /** Copy then delete; on disk a rename. */
  move(fromKey: string, toKey: string, options?: MoveOptions): Promise<void>;
  /** Path of the object on local disk (only when `capabilities.localFiles`). */
  localPath?(key: string): string;
  /**
   * Whether `ifMatch` and `ifNotExists` are decided by the backend atomically, so two writers
   * racing on one key never both succeed: memory, yes; fs, no across processes (a check before the
   * rename); S3, probed once per endpoint and bucket in a process (AWS S3 honours conditional
   * writes; s3rver and some S3-compatible servers ignore them).
   */
  conditionalWrites(): Promise<boolean>;
  /** A storage rooted at `prefix` inside this one. */
  scope(prefix: string): Storage;
  close(): Promise<void>;
}
