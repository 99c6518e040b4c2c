/**
 * dev → qa → prod. Promotion validates the source first (every dataset readable, schema and row
 * count as recorded), backs up the target's current manifest, copies changed files into an
 * immutable `_sluice/<target>/versions/<id>/` tree and publishes the new manifest: sluice's own
 * readers see the old version or the new one, and a promotion killed before that changes nothing.
 * Then the target's plain paths (`<target>/landing/…`, what outside tools glob) are brought in
 * line, file by file (Lake.materialize; see docs/pipeline.md for what a glob can see meanwhile).
 */

import type { Config } from '../config/config.ts';
import { ENVIRONMENTS, type Environment } from '../config/schema.ts';
import { Engine, quoteLiteral } from '../engine/duckdb.ts';
import { NotFoundError, PromotionError, type SluiceError } from '../errors.ts';
import type { LineageInput } from '../lineage/index.ts';
import { SHA256_META } from '../storage/content-hash.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import { openStorage } from '../storage/open.ts';
import type { ProgressFn } from '../util/progress.ts';
import { backupOutputs, createBackup, planBackup, restoreBackup, writeBackup } from './backup.ts';
import {
  assertEnv,
  type EnvManifest,
  Lake,
  type LakeFile,
  MANIFEST_KEY,
  makeTempDir,
  newVersionId,
} from './lake.ts';
import { exportOpenLineage, fileFacts, LakeLineage, type OutputBatch, writtenText } from './lineage.ts';
import { readLoadRecord } from './load-records.ts';
import { type PipelineOptions, storageOptionsFrom } from './options.ts';
import { type PruneOptions, type PruneResult, pruneVersions } from './prune.ts';
import { getVerified, sha256Verified } from './verified-get.ts';

export interface PromoteOptions {
  dryRun?: boolean;
  /** Skip the validation gates (not recommended). @default false */
  skipValidation?: boolean;
  onProgress?: ProgressFn;
  signal?: AbortSignal;
}

export interface RollbackOptions {
  /** Allow rolling back to a backup with no datasets (it empties the env). @default false */
  allowEmpty?: boolean;
}

export interface PromotionResult {
  source: Environment;
  target: Environment;
  dryRun: boolean;
  fileCount: number;
  totalSize: number;
  added: string[];
  changed: string[];
  deleted: string[];
  unchanged: string[];
  /** The new version published in the target (absent on dry run). */
  version?: string;
  backupId?: string;
}

const NEXT: Record<Environment, Environment | undefined> = { dev: 'qa', qa: 'prod', prod: undefined };

export class DataPromoter {
  readonly config: Config;
  readonly lake: Lake;
  private readonly lineage: LakeLineage;

  constructor(config: Config, options: PipelineOptions = {}) {
    this.config = config;
    this.lake = new Lake(
      options.lake ?? openStorage(config.lakeRoot, options.storageOptions ?? storageOptionsFrom(config)),
    );
    this.lineage = LakeLineage.open(this.lake.storage, config.lineage, options.lineage);
  }

  /** True for dev→qa and qa→prod; PromotionError (E005) for anything else. */
  validatePromotion(source: string, target: string): true {
    for (const e of [source, target]) {
      if (!(ENVIRONMENTS as readonly string[]).includes(e)) {
        throw new PromotionError(`Unknown environment ${JSON.stringify(e)}; environments are dev, qa, prod`, {
          context: { source, target },
        });
      }
    }
    if (NEXT[source as Environment] !== target) {
      const allowed = NEXT[source as Environment];
      throw new PromotionError(
        `Cannot promote ${source} → ${target}: promotion goes dev → qa → prod one step at a time${allowed ? ` (promote ${source} → ${allowed})` : ''}`,
        { context: { source, target } },
      );
    }
    return true;
  }

  /**
   * The copy in `_versions/` is immutable; checking its bytes against the size and sha256 that
   * were validated closes the window in which a pipeline run rewrites a source file between
   * validation and copy. The manifest is not written, so readers stay on the old version.
   */
  private async verifyCopy(from: Environment, f: LakeFile, key: string): Promise<void> {
    const store = this.lake.storage;
    const info = await store.stat(key);
    if (info.size !== f.size) throw changedDuringPromotion(from, f.path, `size ${f.size} → ${info.size}`);
    if (!f.sha256) return;
    const actual = await sha256Verified(store, key);
    if (actual !== f.sha256) throw changedDuringPromotion(from, f.path, 'sha256 differs');
  }

  async promote(source: string, target: string, options: PromoteOptions = {}): Promise<PromotionResult> {
    this.validatePromotion(source, target);
    const from = source as Environment;
    const to = target as Environment;
    const { files: src, parent } = await this.describe(from);
    if (src.length === 0) {
      throw new PromotionError(`Nothing to promote: ${from} has no datasets (run the pipeline first)`, {
        context: { source, target },
      });
    }
    // A promotion or rollback killed while bringing the plain paths in line is finished first.
    await this.lake.materialize(to, undefined, this.lineage);
    await this.lineage.flush();
    const current = await this.lake.snapshot(to);
    const before = new Map(current.files.map((f) => [f.path, f]));
    const result: PromotionResult = {
      source: from,
      target: to,
      dryRun: options.dryRun ?? false,
      fileCount: src.length,
      totalSize: src.reduce((s, f) => s + f.size, 0),
      added: [],
      changed: [],
      deleted: [...before.keys()].filter((p) => !src.some((f) => f.path === p)).sort(),
      unchanged: [],
    };
    for (const f of src) {
      const old = before.get(f.path);
      if (!old) result.added.push(f.path);
      else if (old.sha256 && old.sha256 === f.sha256 && old.size === f.size) result.unchanged.push(f.path);
      else result.changed.push(f.path);
    }
    if (result.dryRun) return result;
    const nothingChanged = result.added.length + result.changed.length + result.deleted.length === 0;
    if (nothingChanged && current.version) {
      result.version = current.version;
      return result;
    }
    // One event per file: each stands for a copy or a read, so their rate is bounded by the work.
    const report = options.onProgress;
    const version = newVersionId();
    const lineage = this.lineage.withRun(version);
    const backup = await planBackup(this.lake, to);
    const copies = src.filter((f) => !(before.has(f.path) && result.unchanged.includes(f.path)));
    const versionKey = (f: LakeFile) => this.lake.internalKey(to, `versions/${version}/${f.path}`);
    // Every output of the promotion, declared in one batch before the first is written. The
    // intents go out while the datasets are validated; a refusal aborts them.
    const backupOuts = backupOutputs(this.lake, lineage, backup);
    const declared = lineage.begin([
      ...backupOuts,
      ...copies.map((f) => ({
        key: versionKey(f),
        operation: 'pipeline.promote',
        inputs: [lineage.fileInput(f.key, f.sha256 as string, f.size), ...parent],
      })),
      // Then the plain copies materialize makes of them (`<to>/<path>`, what outside readers glob).
      ...copies.map((f) => ({
        key: `${to}/${f.path}`,
        operation: 'pipeline.materialize',
        inputs: [lineage.fileInput(versionKey(f), f.sha256 as string, f.size)],
      })),
      { key: this.lake.internalKey(to, MANIFEST_KEY), operation: 'pipeline.promote', inputs: parent },
      {
        key: this.lake.internalKey(to, `promotions/${version}.json`),
        operation: 'pipeline.promote',
        inputs: [],
      },
    ]);
    declared.catch(() => {}); // awaited below
    let batch: OutputBatch | undefined;
    const record = (i: number) => (batch as OutputBatch).at(backupOuts.length + i);
    try {
      if (!options.skipValidation) await this.validateDatasets(from, src, report);
      batch = await declared;
      result.backupId = await writeBackup(this.lake, backup, batch.records);
      const files: LakeFile[] = [];
      let done = 0;
      const operation = `promote ${from}→${to}`;
      report?.({ operation, done, total: src.length, unit: 'files' });
      for (const f of src) {
        options.signal?.throwIfAborted();
        const old = before.get(f.path);
        let key: string;
        if (old && result.unchanged.includes(f.path)) key = old.key;
        else {
          key = versionKey(f);
          await this.lake.storage.copy(f.key, key, f.sha256 ? { metadata: { [SHA256_META]: f.sha256 } } : {});
          await this.verifyCopy(from, f, key);
          record(copies.indexOf(f)).commit({ sha256: f.sha256 as string, size: f.size, ...fileFacts(f) });
        }
        files.push({ ...f, key });
        done += 1;
        report?.({ operation, done, total: src.length, unit: 'files', detail: f.path });
        await testDelay();
      }
      const manifest: EnvManifest = { version, createdAt: new Date().toISOString(), from, files };
      record(2 * copies.length).commit(await this.lake.writeManifest(to, manifest));
      // The plain paths (`<to>/<path>`) are brought in line: a second copy of what changed.
      const plainCopies = new Map(copies.map((f, i) => [f.path, record(copies.length + i)]));
      await this.lake.materialize(to, report, lineage, plainCopies);
      const text = JSON.stringify({ ...result, version }, null, 2);
      await this.lake
        .internal(to)
        .put(`promotions/${version}.json`, text, { contentType: CONTENT_TYPES.json });
      record(2 * copies.length + 1).commit(writtenText(text));
    } catch (error) {
      (batch ?? (await declared.catch(() => undefined)))?.abortOpen(error);
      await lineage.flushQuietly();
      throw error;
    }
    await lineage.flush();
    await exportOpenLineage(this.config.openLineage, lineage, version, `pipeline.promote.${from}-to-${to}`);
    result.version = version;
    return result;
  }

  /**
   * The source's datasets with sha256, rows and columns (from records or object metadata), and
   * its version as a lineage input when it has one (qa, prod: its manifest's URL and hash).
   */
  private async describe(env: Environment): Promise<{ files: LakeFile[]; parent: LineageInput[] }> {
    const snap = await this.lake.snapshot(env);
    const parent: LineageInput[] = snap.manifestSha256
      ? [
          {
            kind: 'version',
            url: this.lineage.url(this.lake.internalKey(env, MANIFEST_KEY)),
            sha256: snap.manifestSha256,
          },
        ]
      : [];
    const out: LakeFile[] = [];
    for (const f of snap.files) {
      if (f.sha256 && f.columns) {
        out.push(f);
        continue;
      }
      const rec = snap.version ? undefined : await readLoadRecord(this.lake.internal(env), f.path);
      const sha256 = f.sha256 ?? rec?.sha256 ?? (await this.lake.sha256Of(this.lake.storage, f.key));
      out.push({
        ...f,
        sha256,
        ...(rec ? { rows: rec.rows, columns: rec.columns } : {}),
        ...(rec?.description ? { description: rec.description } : {}),
      });
    }
    return { files: out, parent };
  }

  /** Gates: every dataset opens in DuckDB, and its columns, types and rows match its record. */
  private async validateDatasets(env: Environment, files: LakeFile[], report?: ProgressFn): Promise<void> {
    const store = this.lake.storage;
    const engine = await Engine.create({ threads: 2 });
    const tmp = await makeTempDir('promote');
    const problems: string[] = [];
    let done = 0;
    try {
      for (const f of files) {
        report?.({ operation: `validate ${env}`, done, total: files.length, unit: 'files', detail: f.path });
        done += 1;
        try {
          const local = await this.lake.localFile(store, f.key, tmp.dir);
          const desc = await engine.query<{ column_name: string; column_type: string }>(
            `DESCRIBE SELECT * FROM read_parquet(${quoteLiteral(local)})`,
          );
          const [count] = await engine.query<{ n: bigint }>(
            `SELECT count(*) AS n FROM read_parquet(${quoteLiteral(local)})`,
          );
          const actual = desc.map((c) => `${c.column_name} ${c.column_type}`).join(', ');
          if (f.columns) {
            const expected = f.columns.map((c) => `${c.name} ${c.type}`).join(', ');
            if (expected !== actual)
              problems.push(`${env}/${f.path}: columns are (${actual}), catalogued (${expected})`);
          }
          if (f.rows !== undefined && Number(count?.n) !== f.rows) {
            problems.push(`${env}/${f.path}: ${count?.n} rows, catalogued ${f.rows}`);
          }
        } catch (error) {
          problems.push(
            `${env}/${f.path}: not readable (${((error as Error).message ?? '').split('\n')[0]})`,
          );
        }
      }
      report?.({ operation: `validate ${env}`, done, total: files.length, unit: 'files' });
    } finally {
      await engine.close();
      await tmp.cleanup();
    }
    if (problems.length > 0) {
      throw new PromotionError(
        `Validation failed before promotion, nothing changed: ${problems.join('; ')}`,
        {
          context: { env, problems },
        },
      );
    }
  }

  /**
   * Records the env's current version as a backup and returns its id (the location is
   * `_sluice/<env>/backups/<id>.json`). Files behind a manifest are immutable, so the manifest is
   * the backup; an env without one has its plain files copied into a version first.
   */
  async createBackup(env: string): Promise<string> {
    return createBackup(this.lake, this.lineage, assertEnv(env));
  }

  /** Deletes version files no kept backup or current manifest names (see PruneOptions). */
  async prune(env: string, options: PruneOptions = {}): Promise<PruneResult> {
    return pruneVersions(this.lake, assertEnv(env), options, this.lineage);
  }

  async listBackups(env: string): Promise<string[]> {
    const e = assertEnv(env);
    await this.lake.ready(e);
    const ids: string[] = [];
    for await (const entry of this.lake.internal(e).list({ prefix: 'backups/' })) {
      if (entry.type === 'object' && entry.key.endsWith('.json'))
        ids.push(entry.key.slice('backups/'.length, -'.json'.length));
    }
    return ids.sort();
  }

  /** Publishes a backup (the latest by default) as the env's current version, in one atomic put. */
  async rollback(
    env: string,
    backupId?: string,
    options: RollbackOptions = {},
  ): Promise<{ env: Environment; restored: string; backupOfCurrent: string; files: number }> {
    const e = assertEnv(env);
    const ids = await this.listBackups(e);
    const id = backupId ?? ids[ids.length - 1];
    if (!id) throw new PromotionError(`No backups of ${e} to roll back to`, { context: { env: e } });
    let raw: Buffer;
    try {
      raw = await getVerified(this.lake.internal(e), `backups/${id}.json`);
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new PromotionError(`No backup ${id} for ${e}; backups: ${ids.join(', ') || 'none'}`, {
          context: { env: e, backupId: id },
        });
      }
      throw error;
    }
    const manifest = JSON.parse(raw.toString('utf8')) as EnvManifest;
    // The state before an env's first promotion is usually nothing: rolling back to it empties
    // the env, which is never what a tired operator meant by "undo".
    if (manifest.files.length === 0 && !options.allowEmpty) throw refuseEmptyRollback(e, id, !!backupId);
    const backupOfCurrent = await restoreBackup(this.lake, this.lineage, e, id, { manifest, raw });
    return { env: e, restored: id, backupOfCurrent, files: manifest.files.length };
  }
}

/** Rolling back to a backup with no datasets empties the env: refused unless asked for. */
function refuseEmptyRollback(env: Environment, id: string, named: boolean): SluiceError {
  return new PromotionError(
    `Backup ${id} of ${env} holds no datasets (the state before ${env}'s first promotion): rolling back to it would empty ${env}; nothing changed. To do that anyway, run \`sluice rollback ${env}${named ? ` --backup ${id}` : ''} --allow-empty\` (allowEmpty: true in the API)`,
    { context: { env, backupId: id } },
  );
}

/** Raised when a source file changed between validation and copy. */
function changedDuringPromotion(from: Environment, path: string, detail: string): SluiceError {
  return new PromotionError(
    `${from}/${path} changed while it was being promoted (${detail}); nothing was published — rerun the promotion`,
    { context: { from, path } },
  );
}

/** Test hook: a pause after each copied file, so a test can kill a promotion half-way. */
async function testDelay(): Promise<void> {
  const ms = Number(process.env.SLUICE_TEST_PROMOTE_DELAY_MS ?? 0);
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}
