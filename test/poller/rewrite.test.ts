/**
 * A local file rewritten while the poller reads it is deferred, never half-enqueued and never
 * failed: the next poll reads the new version whole. The read is hooked (after its first chunk,
 * the file is rewritten), so the rewrite always lands mid-read.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';

const hook = vi.hoisted(() => ({
  /** Called once after the first read of `file` through a FileHandle opened for reading. */
  afterFirstRead: undefined as undefined | { file: string; run: () => void },
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = async (...args: Parameters<typeof real.open>): Promise<FileHandle> => {
    const handle = await real.open(...args);
    const target = hook.afterFirstRead;
    if (target && String(args[0]) === target.file && (args[1] ?? 'r') === 'r') {
      const read = handle.read.bind(handle) as (...a: unknown[]) => Promise<unknown>;
      (handle as unknown as { read: typeof read }).read = async (...a: unknown[]) => {
        const result = await read(...a);
        if (hook.afterFirstRead === target) {
          hook.afterFirstRead = undefined;
          target.run();
        }
        return result;
      };
    }
    return handle;
  };
  return { ...real, open, default: { ...real, open } };
});

const { Poller } = await import('../../src/poller/poller.ts');
const { createSqliteStateStore } = await import('../../src/poller/state.ts');
const { createSqliteQueue } = await import('../../src/queue/drivers/sqlite.ts');
const { openStorage } = await import('../../src/storage/open.ts');
const { expectEachRecordOnce, listKeys, scratchDirs } = await import('./fixtures.ts');

const scratch = scratchDirs('poll-rewrite');

/** JSONL of `n` records tagged `<version>:<i>`, about 100 bytes a line. */
const version = (v: string, n: number) =>
  Array.from(
    { length: n },
    (_, i) => `${JSON.stringify({ name: `s${i % 5}`, value: i, tag: `${v}:${i}`, pad: 'x'.repeat(40) })}\n`,
  ).join('');

describe('Poller with a local file rewritten during the read', () => {
  it.each([
    ['in place (the same inode, a mix of old and new bytes)', 'in-place'],
    ['by rename (the old bytes read whole, then replaced)', 'rename'],
  ] as const)('%s: deferred, then the new version read whole at the next poll', async (_, how) => {
    const dir = scratch(how);
    const watched = path.join(dir, 'in');
    const db = path.join(dir, 'q.db');
    const name = `rw-${randomBytes(3).toString('hex')}`;
    const store = openStorage(watched);
    const queue = createSqliteQueue({ path: db, name, pollMs: 10 });
    const state = createSqliteStateStore(db, watched);
    await store.put('data.jsonl', version('old', 3000)); // ~300 KB: several 64 KiB reads
    const file = path.join(watched, 'data.jsonl');
    const next = version('new', 2000);
    hook.afterFirstRead = {
      file,
      run: () => {
        if (how === 'in-place') writeFileSync(file, next);
        else {
          writeFileSync(`${file}.tmp`, next);
          renameSync(`${file}.tmp`, file);
        }
      },
    };
    const poller = new Poller({ source: watched, queue, state, minAgeMs: 0, retryDelayMs: 10 });
    const first = await poller.pollOnce();
    expect(hook.afterFirstRead).toBeUndefined();
    expect(first).toMatchObject({ listed: 1, archived: 0, failed: 0, deferred: 1, records: 0, jobsAdded: 0 });
    // Changed since listed: no retry within the poll can read it; the next listing can.
    expect(first.retries).toBe(0);
    expect((await queue.counts()).waiting).toBe(0);
    expect(await listKeys(store, '')).toEqual(['data.jsonl']);

    const second = await poller.pollOnce();
    expect(second).toMatchObject({ listed: 1, archived: 1, failed: 0, deferred: 0, records: 2000 });
    expect(await listKeys(store, '')).toEqual(['processed/data.jsonl']);
    await poller.close();
    await state.close();
    await queue.close();
    await expectEachRecordOnce(
      `sqlite:${db}`,
      name,
      Array.from({ length: 2000 }, (_, i) => `new:${i}`),
    );
  });
});
