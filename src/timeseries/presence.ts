/**
 * Writers of an S3 store without a Redis lease announce themselves in the store
 * (`writers/<name>.json`, refreshed every HEARTBEAT_MS). On a server that does not honour
 * conditional writes (s3rver does not) two writers from different home folders or hosts could
 * both publish a manifest and one would silently drop the other's segments. Instead a writer that
 * sees another live writer it shares no lock file with refuses with E071, at open and again before
 * every publish — never a silent race. Where the server honours them the manifest's
 * compare-and-swap keeps writers apart (lost-race.ts): writers still announce themselves, so a
 * writer of an older sluice (which publishes unconditionally) refuses, but do not refuse others.
 */
import { hostname } from 'node:os';
import { LockError } from '../errors.ts';
import type { Storage } from '../storage/types.ts';
import { parseJson } from '../util/json-parse.ts';
import { decodeUtf8 } from '../util/utf8.ts';

const PREFIX = 'writers/';
const HEARTBEAT_MS = 30_000;
const STALE_MS = 120_000;

interface PresenceRecord {
  host: string;
  pid: number;
  /** Digest of the log root: writers sharing it share the compaction lock file. */
  lockScope: string;
  heartbeatAt: string;
}

export interface Presence {
  /** Throws E071 when another live writer outside this lock scope writes the store (only if `exclusive`). */
  assertAlone(): Promise<void>;
  close(): Promise<void>;
}

export async function announceWriter(
  storage: Storage,
  store: string,
  lockScope: string,
  slotId: string,
  exclusive = true,
): Promise<Presence> {
  const name = `${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}-${lockScope}-${slotId || 'first'}`;
  const key = `${PREFIX}${name}.json`;
  const beat = () => {
    const record: PresenceRecord = {
      host: hostname(),
      pid: process.pid,
      lockScope,
      heartbeatAt: new Date().toISOString(),
    };
    return storage.put(key, JSON.stringify(record), { contentType: 'application/json' });
  };
  await beat();
  const timer = setInterval(() => {
    beat().catch(() => {});
  }, HEARTBEAT_MS);
  timer.unref();
  const presence: Presence = {
    async assertAlone() {
      if (!exclusive) return;
      for await (const e of storage.list({ prefix: PREFIX })) {
        if (e.type !== 'object' || e.key === key || !e.key.endsWith('.json')) continue;
        let other: PresenceRecord;
        try {
          other = parseJson(decodeUtf8(await storage.get(e.key)) ?? '') as PresenceRecord;
        } catch {
          // Gone (it closed meanwhile), or half-written by a server that writes in place: the
          // next check reads it again.
          continue;
        }
        if (other.lockScope === lockScope && other.host === hostname()) continue;
        if (Date.now() - Date.parse(other.heartbeatAt) > STALE_MS) continue;
        throw new LockError(
          `Time-series store ${store} is also written by process ${other.pid} on ${other.host}, which shares no lock with this one. Several writers of one S3 store from different hosts or home folders need a compaction lease: pass lease: 'redis://host:6379/0' (CLI --lease, or SLUICE_TS_LEASE)`,
          { context: { store, other: e.key } },
        );
      }
    },
    async close() {
      clearInterval(timer);
      await storage.delete(key).catch(() => {});
    },
  };
  try {
    await presence.assertAlone();
  } catch (error) {
    await presence.close();
    throw error;
  }
  return presence;
}
