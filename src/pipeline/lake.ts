/**
 * The lake on any storage: `<env>/landing/<source>/<name>.parquet` and `<env>/staging/<model>.parquet`
 * hold each environment's CURRENT data at plain paths, so DuckDB, Polars, Spark or `aws s3 sync`
 * reading `<env>/**` see each row once. Everything sluice keeps for itself lives under one reserved
 * folder at the lake root, `_sluice/<env>/`: the manifest of a promoted environment
 * (`manifest.json`, naming an immutable copy of every file under `versions/<id>/`), backups,
 * promotion and run records, and dataset load records. Pipeline runs write dev's plain paths
 * directly; promotion and rollback publish the manifest (the switch sluice's own readers see, in
 * one atomic put), then bring the plain paths in line with it (see materialize()).
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ENVIRONMENTS, type Environment } from '../config/schema.ts';
import { FormatError, NotFoundError, ValidationError } from '../errors.ts';
import type { WrittenOutput } from '../lineage/index.ts';
import { SHA256_META } from '../storage/content-hash.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import type { Storage } from '../storage/types.ts';
import { removeAtExit } from '../util/exit-cleanup.ts';
import type { ProgressFn } from '../util/progress.ts';
import { stampedId } from '../util/timestamps.ts';
import { decodeUtf8 } from '../util/utf8.ts';
import { MANIFEST_KEY, migrateEnvLayout, RESERVED_FOLDER } from './lake-migrate.ts';
import { fileFacts, type LakeLineage, type OutputRecord, writtenText } from './lineage.ts';
import { downloadVerified, getVerified, sha256Verified } from './verified-get.ts';

export const LAYERS = ['landing', 'staging'] as const;
/** The lake root's folder for sluice's own files (versions, manifests, records). */
export { MANIFEST_KEY, RESERVED_FOLDER } from './lake-migrate.ts';

export interface LakeFile {
  /** Logical path inside the env: `landing/sdg/data.parquet`. */
  path: string;
  /**
   * Key from the lake root where sluice reads the bytes: `<env>/<path>` for plain files, the
   * immutable `_sluice/<env>/versions/<id>/<path>` copy for a promoted version.
   */
  key: string;
  size: number;
  sha256?: string;
  rows?: number;
  columns?: { name: string; type: string }[];
  description?: string;
}

const manifestSchema = z.object({
  version: z.string(),
  createdAt: z.string(),
  from: z.string().optional(),
  files: z.array(
    z.object({
      path: z.string(),
      key: z.string(),
      size: z.number(),
      sha256: z.string().optional(),
      rows: z.number().optional(),
      columns: z.array(z.object({ name: z.string(), type: z.string() })).optional(),
      description: z.string().optional(),
    }),
  ),
});
export type EnvManifest = z.infer<typeof manifestSchema>;

export function assertEnv(env: string, what = 'environment'): Environment {
  if (!(ENVIRONMENTS as readonly string[]).includes(env)) {
    throw new ValidationError(
      `Unknown ${what} ${JSON.stringify(env)}; use one of ${ENVIRONMENTS.join(', ')}`,
      {
        context: { env },
      },
    );
  }
  return env as Environment;
}

/** Reads of an environment's manifest that do not parse, in all, before it counts as broken. */
const MANIFEST_READS = 4;

export function newVersionId(): string {
  return stampedId();
}

export class Lake {
  readonly storage: Storage;
  private readonly migrated = new Map<Environment, Promise<void>>();

  constructor(storage: Storage) {
    this.storage = storage;
  }

  /** The environment's data folder (plain paths: what outside readers glob). */
  env(env: Environment): Storage {
    return this.storage.scope(`${env}/`);
  }

  /** The environment's part of the reserved folder: manifest, versions, backups, records. */
  internal(env: Environment): Storage {
    return this.storage.scope(`${RESERVED_FOLDER}/${env}/`);
  }

  /** Lakes written before the reserved folder are moved into it once (see lake-migrate.ts). */
  async ready(env: Environment): Promise<void> {
    let done = this.migrated.get(env);
    if (!done) {
      done = migrateEnvLayout(this.storage, env).then(async (manifest) => {
        if (manifest) await this.applyManifest(env, manifestSchema.parse(JSON.parse(manifest)));
      });
      this.migrated.set(env, done);
      done.catch(() => this.migrated.delete(env));
    }
    await done;
  }

  /** The key, from the lake root, of `key` in `env`'s part of the reserved folder. */
  internalKey(env: Environment, key: string): string {
    return `${RESERVED_FOLDER}/${env}/${key}`;
  }

  async readManifest(env: Environment): Promise<EnvManifest | undefined> {
    return (await this.readManifestWithHash(env))?.manifest;
  }

  /** The manifest and the sha256 of its bytes (what a promotion from it records as its parent). */
  async readManifestWithHash(
    env: Environment,
  ): Promise<{ manifest: EnvManifest; sha256: string } | undefined> {
    await this.ready(env);
    const store = this.internal(env);
    // A body that does not parse is read again a few times first: a server that writes objects in
    // place (s3rver) can hand out part of a manifest being replaced with the old one's size and
    // ETag, which the verified read cannot tell from the whole. Still broken after that, it is the
    // content: FormatError naming the manifest.
    for (let attempt = 1; ; attempt++) {
      let raw: Buffer;
      try {
        raw = await getVerified(store, MANIFEST_KEY);
      } catch (error) {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      }
      let data: unknown;
      try {
        const text = decodeUtf8(raw);
        if (text === undefined) throw new SyntaxError('it is not UTF-8');
        data = JSON.parse(text);
      } catch (error) {
        if (attempt < MANIFEST_READS) {
          await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
          continue;
        }
        throw new FormatError(
          `Lake manifest ${store.url}/${MANIFEST_KEY} is not valid JSON: ${(error as Error).message}`,
          {
            cause: error,
            context: { key: MANIFEST_KEY },
          },
        );
      }
      return { manifest: manifestSchema.parse(data), sha256: writtenText(raw).sha256 };
    }
  }

  /** Publishes a manifest in one atomic put: the switch sluice's readers see. Returns what it wrote. */
  async writeManifest(env: Environment, manifest: EnvManifest): Promise<WrittenOutput> {
    const text = JSON.stringify(manifest, null, 2);
    await this.internal(env).put(MANIFEST_KEY, text, { contentType: CONTENT_TYPES.json });
    return writtenText(text);
  }

  /** The plain data files of `env` (`landing/…`, `staging/….parquet`), keys from the lake root. */
  async plainFiles(env: Environment): Promise<LakeFile[]> {
    const store = this.env(env);
    const files: LakeFile[] = [];
    for (const layer of LAYERS) {
      for await (const e of store.list({ prefix: `${layer}/` })) {
        if (e.type === 'object' && e.key.endsWith('.parquet'))
          files.push({ path: e.key, key: `${env}/${e.key}`, size: e.size });
      }
    }
    return files;
  }

  /** The files sluice reads in `env` now: the manifest's version, or the plain layout without one. */
  async snapshot(
    env: Environment,
  ): Promise<{ version?: string; manifestSha256?: string; files: LakeFile[] }> {
    const read = await this.readManifestWithHash(env);
    if (read)
      return { version: read.manifest.version, manifestSha256: read.sha256, files: read.manifest.files };
    return { files: await this.plainFiles(env) };
  }

  /**
   * Brings `env`'s plain paths in line with its manifest: each file copied from its version where
   * it differs (each put atomic), then plain files the manifest does not name removed. Promotion
   * and rollback end with it; a run killed half-way is completed by the next one. With `lineage`,
   * the copies' intents and the removals are durable before any file changes; `planned` are the
   * copies a caller declared already, by path (one it finds in place is aborted as not needed).
   * Returns the paths written and removed.
   */
  async materialize(
    env: Environment,
    onProgress?: ProgressFn,
    lineage?: LakeLineage,
    planned: ReadonlyMap<string, OutputRecord> = new Map(),
  ): Promise<{ written: string[]; removed: string[] }> {
    const manifest = await this.readManifest(env);
    if (!manifest) return { written: [], removed: [] };
    return this.applyManifest(env, manifest, onProgress, lineage, planned);
  }

  private async applyManifest(
    env: Environment,
    manifest: EnvManifest,
    onProgress?: ProgressFn,
    lineage?: LakeLineage,
    planned: ReadonlyMap<string, OutputRecord> = new Map(),
  ): Promise<{ written: string[]; removed: string[] }> {
    const plain = new Map((await this.plainFiles(env)).map((f) => [f.path, f]));
    const stale: LakeFile[] = [];
    for (const f of manifest.files) {
      const have = plain.get(f.path);
      const same =
        have &&
        have.size === f.size &&
        (!f.sha256 || (await this.sha256Of(this.storage, have.key)) === f.sha256);
      if (!same) stale.push(f);
    }
    const named = new Set(manifest.files.map((f) => f.path));
    const removed = [...plain.keys()].filter((p) => !named.has(p)).sort();
    const records = await this.declareCopies(env, stale, removed, lineage, planned);
    const total = manifest.files.length;
    const skipped = total - stale.length;
    const written: string[] = [];
    try {
      for (const [i, f] of stale.entries()) {
        onProgress?.({
          operation: `publish ${env}`,
          done: skipped + i,
          total,
          unit: 'files',
          detail: f.path,
        });
        await this.storage.copy(
          f.key,
          `${env}/${f.path}`,
          f.sha256 ? { metadata: { [SHA256_META]: f.sha256 } } : {},
        );
        const sha256 = f.sha256 ?? (await this.sha256Of(this.storage, `${env}/${f.path}`));
        records.get(f.path)?.commit({ sha256, size: f.size, ...fileFacts(f) });
        written.push(f.path);
      }
      onProgress?.({ operation: `publish ${env}`, done: total, total, unit: 'files' });
      if (removed.length > 0) {
        await lineage?.flush(); // the delete records are durable before the files go
        await this.env(env).deleteMany(removed);
      }
    } catch (error) {
      for (const r of records.values()) r.abort(error);
      throw error;
    }
    return { written, removed };
  }

  /**
   * The lineage records of materialize's copies: the caller's planned ones, the rest declared
   * here in one batch (with the delete records of `removed`); a planned copy not needed is aborted.
   */
  private async declareCopies(
    env: Environment,
    stale: LakeFile[],
    removed: string[],
    lineage: LakeLineage | undefined,
    planned: ReadonlyMap<string, OutputRecord>,
  ): Promise<Map<string, OutputRecord>> {
    lineage?.deleting(
      removed.map((p) => `${env}/${p}`),
      'pipeline.materialize',
    );
    const unplanned = stale.filter((f) => !planned.has(f.path));
    const batch = await lineage?.begin(
      unplanned.map((f) => ({
        key: `${env}/${f.path}`,
        operation: 'pipeline.materialize',
        inputs: f.sha256 ? [lineage.fileInput(f.key, f.sha256, f.size)] : [],
      })),
    );
    const records = new Map<string, OutputRecord>();
    unplanned.forEach((f, i) => {
      if (batch) records.set(f.path, batch.at(i));
    });
    const needed = new Set(stale.map((f) => f.path));
    for (const [p, record] of planned) {
      if (needed.has(p)) records.set(p, record);
      else record.abort('not written: the plain file already holds these bytes');
    }
    return records;
  }

  /** A local file DuckDB can read: the file itself on disk, else a verified download into `tmpDir`. */
  async localFile(store: Storage, key: string, tmpDir: string): Promise<string> {
    if (store.capabilities.localFiles && store.localPath) return store.localPath(key);
    const target = path.join(tmpDir, `${randomBytes(6).toString('hex')}-${path.posix.basename(key)}`);
    await downloadVerified(store, key, target);
    return target;
  }

  /** sha256 of an object: its metadata when sluice wrote it, else computed from the bytes. */
  async sha256Of(store: Storage, key: string): Promise<string> {
    const info = await store.stat(key);
    const known = info.metadata[SHA256_META];
    if (known) return known;
    return sha256Verified(store, key);
  }
}

/** A private temp directory, removed by the returned cleanup, or at exit if that never runs. */
export async function makeTempDir(label: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fsp.mkdtemp(path.join(tmpdir(), `sluice-${label}-`));
  const forget = removeAtExit(dir);
  return {
    dir,
    cleanup: async () => {
      await fsp.rm(dir, { recursive: true, force: true });
      forget();
    },
  };
}
