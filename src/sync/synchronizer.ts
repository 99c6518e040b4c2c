/** The seed's S3Synchronizer: local folders ↔ a remote prefix (any storage URL), by content hash. */
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { storageOptionsFrom } from '../config/storage-options.ts';
import type { OpenStorageOptions } from '../storage/open.ts';
import { openStorage } from '../storage/open.ts';
import type { Storage } from '../storage/types.ts';
import { diffStorages, type SyncOptions, type SyncResult, syncStorages } from './sync.ts';

export interface SynchronizerOptions {
  /** Storage options for s3:// URLs. @default from config (endpoint, region, keys) */
  storageOptions?: OpenStorageOptions;
  /** The remote side. @default s3://<s3Bucket>/ when s3Bucket is set, else config.lakeRoot */
  remoteUrl?: string;
}

export class S3Synchronizer {
  readonly config: Config;
  private readonly options: SynchronizerOptions;

  constructor(config: Config, options: SynchronizerOptions = {}) {
    this.config = config;
    this.options = options;
  }

  /** Opens any storage URL with the config's S3 settings. */
  open(url: string): Storage {
    return openStorage(url, this.options.storageOptions ?? storageOptionsFrom(this.config));
  }

  remote(prefix = ''): Storage {
    const url =
      this.options.remoteUrl ??
      (this.config.s3Bucket ? `s3://${this.config.s3Bucket}/` : this.config.lakeRoot);
    const store = this.open(url);
    const p = prefix.replace(/^\/+|\/+$/g, '');
    return p ? store.scope(`${p}/`) : store;
  }

  /** Uploads what changed under `localPath` to `prefix`; returns the number of files uploaded. */
  async syncToS3(localPath: string, prefix: string, options: SyncOptions = {}): Promise<number> {
    return (await this.sync(this.open(path.resolve(localPath)), this.remote(prefix), options)).uploaded
      .length;
  }

  /** Downloads what changed under `prefix` to `localPath`; returns the number of files downloaded. */
  async syncFromS3(prefix: string, localPath: string, options: SyncOptions = {}): Promise<number> {
    return (await this.sync(this.remote(prefix), this.open(path.resolve(localPath)), options)).uploaded
      .length;
  }

  /** `{localOnly, s3Only, modified}` between a local folder and a remote prefix. */
  async calculateDiff(
    localPath: string,
    prefix: string,
    options: SyncOptions = {},
  ): Promise<{ localOnly: string[]; s3Only: string[]; modified: string[] }> {
    const d = await diffStorages(this.open(path.resolve(localPath)), this.remote(prefix), options);
    return { localOnly: d.srcOnly, s3Only: d.dstOnly, modified: d.modified };
  }

  /** Between any two storages (or URLs). */
  async sync(src: Storage | string, dst: Storage | string, options: SyncOptions = {}): Promise<SyncResult> {
    const a = typeof src === 'string' ? this.open(src) : src;
    const b = typeof dst === 'string' ? this.open(dst) : dst;
    return syncStorages(a, b, options);
  }
}
