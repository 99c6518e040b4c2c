/**
 * Lakes written before the reserved folder kept sluice's files inside each environment
 * (`<env>/_manifest.json`, `_versions/`, `_backups/`, `_meta/`), where a glob over the
 * environment read old versions as data. On first use each environment moves into
 * `_sluice/<env>/` with one log line. Crash-safe: everything is copied first, the old objects are
 * deleted after, and the old manifest last, so a run killed half-way is simply done again.
 */

import type { Environment } from '../config/schema.ts';
import { getLogger } from '../logging/logger.ts';
import { CONTENT_TYPES } from '../storage/content-types.ts';
import type { Storage } from '../storage/types.ts';

export const RESERVED_FOLDER = '_sluice';
export const MANIFEST_KEY = 'manifest.json';

const OLD_MANIFEST = '_manifest.json';

interface ManifestLike {
  files: { key: string }[];
}

/** Where an old env-relative key lives now (from the lake root). */
function newKey(env: Environment, oldKey: string): string {
  const internal = `${RESERVED_FOLDER}/${env}/`;
  if (oldKey.startsWith('_versions/')) return `${internal}versions/${oldKey.slice('_versions/'.length)}`;
  if (oldKey.startsWith('_backups/')) return `${internal}backups/${oldKey.slice('_backups/'.length)}`;
  if (oldKey.startsWith('_meta/')) return `${internal}${oldKey.slice('_meta/'.length)}`;
  return `${env}/${oldKey}`;
}

/** An old manifest (or backup) with its file keys rewritten from the lake root. */
function rewriteManifest(env: Environment, raw: Buffer): string {
  const manifest = JSON.parse(raw.toString('utf8')) as ManifestLike;
  for (const f of manifest.files) f.key = newKey(env, f.key);
  return JSON.stringify(manifest, null, 2);
}

/**
 * Moves `env`'s old-layout files into the reserved folder; returns the migrated manifest's text
 * when there was one (the caller then brings the plain paths in line with it), else undefined.
 */
export async function migrateEnvLayout(root: Storage, env: Environment): Promise<string | undefined> {
  const store = root.scope(`${env}/`);
  const old: string[] = [];
  for await (const e of store.list({ prefix: '_' })) {
    if (e.type !== 'object') continue;
    if (e.key === OLD_MANIFEST || /^_(versions|backups|meta)\//.test(e.key)) old.push(e.key);
  }
  if (old.length === 0) return undefined;
  let manifest: string | undefined;
  for (const key of old) {
    if (key === OLD_MANIFEST) continue;
    if (key.startsWith('_backups/') && key.endsWith('.json')) {
      await root.put(newKey(env, key), rewriteManifest(env, await store.get(key)), {
        contentType: CONTENT_TYPES.json,
      });
    } else await root.copy(`${env}/${key}`, newKey(env, key));
  }
  if (old.includes(OLD_MANIFEST)) {
    manifest = rewriteManifest(env, await store.get(OLD_MANIFEST));
    await root.put(`${RESERVED_FOLDER}/${env}/${MANIFEST_KEY}`, manifest, {
      contentType: CONTENT_TYPES.json,
    });
  }
  await store.deleteMany(old.filter((k) => k !== OLD_MANIFEST));
  if (old.includes(OLD_MANIFEST)) await store.delete(OLD_MANIFEST);
  getLogger().info(
    { env, objects: old.length, to: `${RESERVED_FOLDER}/${env}/` },
    `lake: moved ${old.length} sluice files of ${env} into ${RESERVED_FOLDER}/${env}/ (the environment folder now holds only data)`,
  );
  return manifest;
}
