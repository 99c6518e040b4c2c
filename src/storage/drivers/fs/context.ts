/**
 * What every fs operation shares, made explicit: the resolved root, whether writes are durable,
 * and the root's sidecar store; with the key → path mapping that validates a key before any I/O.
 */
import path from 'node:path';
import { assertValidKey } from '../../keys.ts';
import type { SidecarStore } from './meta.ts';

export interface FsContext {
  /** Absolute directory that holds the objects. */
  readonly root: string;
  /** fsync files and directories on every write (FsStorageOptions.fsync). */
  readonly durable: boolean;
  /** User metadata and content types, bound to the files they describe (meta.ts). */
  readonly sidecars: SidecarStore;
}

/** The path of `key`'s file; throws on an invalid key. */
export function fileOf(ctx: FsContext, key: string): string {
  return path.join(ctx.root, ...assertValidKey(key).split('/'));
}
