/**
 * Lineage records of a store's segment files (docs/lineage.md): each file a compaction or a
 * retention run writes has its intent durable in `<store>/_sluice/lineage/` before its put, and
 * its commit (sha256, size, rows) once written, made durable with the deletes of the files it
 * replaced before those go. A file's inputs: the sources of its new points (provenance.ts) and
 * the segment files whose runs it took (by sha256, so a trace follows them to their own records).
 */
import { createHash } from 'node:crypto';
import { type LineageInput, outputUrl } from '../lineage/index.ts';
import { sha256Stream } from '../storage/content-hash.ts';
import type { Storage } from '../storage/types.ts';
import type { SegmentEntry } from './manifest.ts';
import { LogProvenance, Provenance } from './provenance.ts';

/** A run as lineage sees it: where its rows came from. */
export interface RunOrigin {
  variable: string;
  /** Segments merged into it. */
  parts: readonly SegmentEntry[];
  /** The span of its new (buffered) points, µs, if it has any. */
  fresh?: [number, number];
}

/** How one segment file's write ends. */
export interface SegmentRecord {
  commit(bytes: Buffer, rows: number): void;
  abort(error: unknown): void;
}

export type DeclareSegment = (key: string) => Promise<SegmentRecord>;

export class StoreLineage {
  readonly storage: Storage;
  readonly provenance: Provenance;
  readonly logs: LogProvenance;
  /** sha256 of segment files this process wrote or hashed, by key (keys are never reused). */
  private readonly hashes: Map<string, string>;

  constructor(
    storage: Storage,
    slotDir: string,
    parts?: { provenance: Provenance; logs: LogProvenance; hashes: Map<string, string> },
  ) {
    this.storage = storage;
    this.provenance = parts?.provenance ?? new Provenance();
    this.logs = parts?.logs ?? new LogProvenance(storage, slotDir);
    this.hashes = parts?.hashes ?? new Map();
  }

  /** The same log, with the sources of another writer's points (an abandoned log's). */
  withProvenance(provenance: Provenance): StoreLineage {
    return new StoreLineage(this.storage, '', { provenance, logs: this.logs, hashes: this.hashes });
  }

  /** The declaration of a file holding `runs`, written by `operation`. */
  declare(operation: string, runs: readonly RunOrigin[]): DeclareSegment {
    return async (key) => {
      const inputs = await this.inputsOf(runs);
      const id = await this.logs.log.begin({ output: outputUrl(this.storage, key), operation, inputs });
      return {
        commit: (bytes, rows) => {
          const sha256 = createHash('sha256').update(bytes).digest('hex');
          this.hashes.set(key, sha256);
          this.logs.log.commit(id, { sha256, size: bytes.length, rows });
        },
        abort: (error) => this.logs.log.abort(id, error),
      };
    };
  }

  private async inputsOf(runs: readonly RunOrigin[]): Promise<LineageInput[]> {
    const out = new Map<string, LineageInput>();
    for (const run of runs) {
      for (const part of run.parts) {
        const url = outputUrl(this.storage, part.key);
        if (!out.has(url)) out.set(url, { kind: 'file', url, sha256: await this.hashOf(part.key) });
      }
      if (!run.fresh) continue;
      for (const input of this.provenance.sourcesOf(run.variable, run.fresh[0], run.fresh[1]))
        out.set(input.kind === 'object' ? `${input.url}\n${input.etag}` : JSON.stringify(input), input);
    }
    return [...out.values()];
  }

  private async hashOf(key: string): Promise<string> {
    let sha = this.hashes.get(key);
    if (sha === undefined) {
      sha = await sha256Stream(await this.storage.getStream(key));
      this.hashes.set(key, sha);
    }
    return sha;
  }

  /** Segment files a sluice operation removes: durable (with the commits waiting) before they go. */
  async deleting(keys: readonly string[], operation: string): Promise<void> {
    for (const key of keys) {
      this.logs.log.deleted(outputUrl(this.storage, key), operation);
      this.hashes.delete(key);
    }
    await this.logs.log.flush();
  }

  /** Writes every waiting record (the sources of appends, commits, deletes). */
  async flush(): Promise<void> {
    await this.logs.flush();
    await this.logs.log.flush();
  }

  close(): void {
    this.logs.close();
  }
}
