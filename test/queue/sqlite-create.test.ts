/**
 * `create: false` opens an existing SQLite queue only: inspecting commands use it so that a
 * mistyped path is E011 instead of a new empty database (with its folders) answering "0 jobs".
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { openQueue } from '../../src/queue/open.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('SQLite queue with create: false', () => {
  const dir = tempDir('queue-create');

  it('refuses a database that does not exist with E011 naming it, creating nothing', () => {
    const file = path.join(dir, 'no', 'such', 'q.db');
    expect(() => createSqliteQueue({ path: file, create: false })).toThrow(
      expect.objectContaining({ code: 'E011', message: `No queue database at ${file}` }),
    );
    expect(() => openQueue(`sqlite:${file}`, { create: false })).toThrow(
      expect.objectContaining({ code: 'E011' }),
    );
    expect(existsSync(path.join(dir, 'no'))).toBe(false);
  });

  it('refuses a folder, and a database without sluice’s table, leaving both as they were', () => {
    expect(() => createSqliteQueue({ path: dir, create: false })).toThrow(
      expect.objectContaining({ code: 'E011', message: `${dir} is a directory, not a queue database` }),
    );
    const other = path.join(dir, 'other.db');
    const db = new DatabaseSync(other);
    db.exec('CREATE TABLE mine (x)');
    db.close();
    const before = readFileSync(other);
    expect(() => createSqliteQueue({ path: other, create: false })).toThrow(
      expect.objectContaining({
        code: 'E011',
        message: `${other} holds no sluice queue (no sluice_jobs table)`,
      }),
    );
    expect(readFileSync(other).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.startsWith('other.db'))).toEqual(['other.db']);
  });

  it('a file that is not SQLite at all is E060 naming it', () => {
    const junk = path.join(dir, 'junk.db');
    writeFileSync(junk, 'this is not a database, it is a note to self\n'.repeat(20));
    expect(() => createSqliteQueue({ path: junk, create: false })).toThrow(
      expect.objectContaining({ code: 'E060', message: expect.stringContaining(junk) }),
    );
  });

  it('opens a queue that exists and sees its jobs; create defaults to true', async () => {
    const file = path.join(dir, 'made', 'q.db');
    const writer = createSqliteQueue({ path: file });
    await writer.add({ id: 'a', name: 'noop', data: {} });
    await writer.close();
    const reader = createSqliteQueue({ path: file, create: false });
    try {
      expect((await reader.counts()).waiting).toBe(1);
    } finally {
      await reader.close();
    }
  });

  it('a queue file made before jobs carried their source gets the column; its jobs still run', async () => {
    const file = path.join(dir, 'old.db');
    const db = new DatabaseSync(file);
    db.exec(`CREATE TABLE sluice_jobs (queue TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
      data TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, run_at INTEGER NOT NULL,
      lease_until INTEGER, lease_owner TEXT, last_error TEXT, created_at INTEGER NOT NULL,
      PRIMARY KEY (queue, id)) WITHOUT ROWID`);
    db.prepare(
      `INSERT INTO sluice_jobs (queue, id, name, data, state, run_at, created_at) VALUES ('sluice', 'old', 'n', '{"v":0}', 'waiting', 0, 0)`,
    ).run();
    db.close();
    const q = createSqliteQueue({ path: file, create: false });
    try {
      const source = { url: 'file:///in/a.json', etag: 'e' };
      await q.add({ id: 'new', name: 'n', data: { v: 1 }, source });
      const seen: { id: string; source?: unknown }[] = [];
      await q.consume(async (job) => void seen.push(job), { drain: true });
      expect(seen.find((j) => j.id === 'old')?.source).toBeUndefined();
      expect(seen.find((j) => j.id === 'new')?.source).toEqual(source);
    } finally {
      await q.close();
    }
  });
});
