/**
 * The migration from `.sluice-meta/` folders to `_sluice/meta/` under kill -9: a child migrates
 * a root of 3,000 sidecars and is killed at random moments, again and again. After every kill
 * each object's metadata is in the old place or the new one (or both), never lost; the run that
 * finishes leaves the data folders clean.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { tempDir } from '../helpers/tmp.ts';
import { filesUnder, legacyTree } from './legacy-meta.ts';

/** Runs the child; kills it `delayMs` after it starts listing unless it finishes first. */
function migrateAndKill(root: string, delayMs: number): Promise<'killed' | 'done'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(import.meta.dirname, 'fs-meta-crash-child.ts'), root], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SLUICE_LOG_LEVEL: 'silent' },
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    child.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('STARTED') && !out.includes('DONE')) setTimeout(() => child.kill('SIGKILL'), delayMs);
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL' && !out.includes('DONE')) resolve('killed');
      // DONE is printed once the migration is over: a kill that lands between it and the exit
      // (CI saw one) found the work finished.
      else if (out.includes('DONE') && (code === 0 || signal === 'SIGKILL')) resolve('done');
      else reject(new Error(`child exited with ${code ?? signal}: ${out}${err}`));
    });
  });
}

/** The metadata of each sidecar found in either layout, by key. */
function metadataOnDisk(root: string): { old: Set<string>; fresh: Set<string>; meta: Map<string, unknown> } {
  const old = new Set<string>();
  const fresh = new Set<string>();
  const meta = new Map<string, unknown>();
  for (const f of filesUnder(root)) {
    if (!f.endsWith('.json')) continue;
    const parts = f.split('/');
    let key: string | undefined;
    if (parts[0] === '_sluice') {
      key = parts.slice(2).join('/').slice(0, -'.json'.length);
      fresh.add(key);
    } else if (parts.at(-2) === '.sluice-meta') {
      key = [...parts.slice(0, -2), parts.at(-1)!.slice(0, -'.json'.length)].join('/');
      old.add(key);
    }
    // Both names may exist (a kill between the link and the unlink): they are the same file.
    if (key) meta.set(key, JSON.parse(readFileSync(path.join(root, f), 'utf8')).metadata);
  }
  return { old, fresh, meta };
}

describe('metadata migration under kill -9', () => {
  it('never loses a sidecar, whenever the migrating process dies', async () => {
    const root = tempDir('meta-crash');
    const expected = legacyTree(root, 3000, 30);
    let midway = 0;
    let finished = false;
    for (let round = 0; round < 15 && !finished; round++) {
      // Short lives first, so the kills land mid-way on a fast machine too; then longer ones, and
      // at last one that has to finish.
      const delay = round < 12 ? Math.floor(Math.random() * 60) + 25 * round : 10_000;
      finished = (await migrateAndKill(root, delay)) === 'done';
      const { old, fresh, meta } = metadataOnDisk(root);
      for (const [key, metadata] of expected) {
        expect(old.has(key) || fresh.has(key), `${key} lost its metadata (round ${round}, ${delay} ms)`).toBe(
          true,
        );
        expect(meta.get(key)).toEqual(metadata);
      }
      if (old.size > 0 && fresh.size > 0) midway += 1;
    }
    expect(finished).toBe(true);
    // At least one kill landed in the middle of the migration.
    expect(midway).toBeGreaterThan(0);

    const after = metadataOnDisk(root);
    expect(after.old.size).toBe(0);
    expect(after.fresh.size).toBe(expected.size);
    expect(filesUnder(root).filter((f) => f.includes('.sluice-meta') || f.endsWith('.sluice-tmp'))).toEqual(
      [],
    );
    const storage = createFsStorage({ root });
    for (const [key, metadata] of expected) expect((await storage.stat(key)).metadata).toEqual(metadata);
    // A run killed after its last move but before the marker leaves none: the next metadata write
    // (after a pass that finds nothing left) puts it there.
    await storage.put('z.csv', 'z\n', { metadata: { sha256: 'z' } });
    expect(existsSync(path.join(root, '_sluice', 'meta', '.migrated'))).toBe(true);
  }, 120_000);
});
