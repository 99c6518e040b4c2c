/**
 * The lake on any storage: `<env>/landing/<source>/<name>.parquet` and `<env>/staging/<model>.parquet`.
 * Pipeline runs write those keys directly. Promotion targets (qa, prod) are published through
 * `<env>/_manifest.json`, which names an immutable copy of every file under `<env>/_versions/`;
 * the manifest is written last, so a reader that resolves files through it sees one whole
 * version, never a mix. Bookkeeping lives under `<env>/_meta/` and is never promoted.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ENVIRONMENTS, type Environment } from '../config/schema.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { removeAtExit } from '../util/exit-cleanup.ts';
import { SHA256_META } from './hashing.ts';
import { downloadVerified, getVerified, sha256Verified } from './verified-get.ts';

export const LAYERS = ['landing', 'staging'] as const;
export const MANIFEST_KEY = '_manifest.json';

export interface LakeFile {
  /** Logical path inside the env: `landing/sdg/data.parquet`. */
  path: string;
  /** Key inside the env where the bytes are (== path unless published through a manifest). */
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

export function newVersionId(): string {
  return `${new Date().toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`;
}

export class Lake {
  readonly storage: Storage;

  constructor(storage: Storage) {
    this.storage = storage;
  }

  env(env: Environment): Storage {
    return this.storage.scope(`${env}/`);
  }

  async readManifest(env: Environment): Promise<EnvManifest | undefined> {
    const store = this.env(env);
    let raw: Buffer;
    try {
      raw = await getVerified(store, MANIFEST_KEY);
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
    return manifestSchema.parse(JSON.parse(raw.toString('utf8')));
  }

  /** Publishes a manifest in one atomic put: the switch readers see. */
  async writeManifest(env: Environment, manifest: EnvManifest): Promise<void> {
    await this.env(env).put(MANIFEST_KEY, JSON.stringify(manifest, null, 2), {
      contentType: 'application/json',
    });
  }

  /** The files readers see in `env` now: the manifest's version, or the plain layout without one. */
  async snapshot(env: Environment): Promise<{ version?: string; files: LakeFile[] }> {
    const manifest = await this.readManifest(env);
    if (manifest) return { version: manifest.version, files: manifest.files };
    const store = this.env(env);
    const files: LakeFile[] = [];
    for (const layer of LAYERS) {
      for await (const e of store.list({ prefix: `${layer}/` })) {
        if (e.type === 'object' && e.key.endsWith('.parquet'))
          files.push({ path: e.key, key: e.key, size: e.size });
      }
    }
    return { files };
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
