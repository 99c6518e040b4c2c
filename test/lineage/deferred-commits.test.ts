/**
 * Deferred lineage commits of ingest saves (#19, cost): a save's intent is durable before its file
 * is visible, but its commit is not stored on its own — it rides with the next save's intents, a
 * short unref'd timer, `flushIngestLineage`, or the process's end. A crash before that leaves the
 * file `unconfirmed` in verify, never corrupt.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.ts';
import { flushIngestLineage, saveApiResponse, saveToFile } from '../../src/ingest/index.ts';
import { GroupLog, readLineage, verifyLineage } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { createMemoryStorage } from '../../src/storage/drivers/memory/memory-storage.ts';
import type { Storage } from '../../src/storage/types.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

async function logObjects(storage: Storage): Promise<number> {
  let n = 0;
  for await (const e of storage.list({ prefix: '_sluice/lineage/', recursive: true }))
    if (e.type === 'object') n++;
  return n;
}

describe('deferred commits of ingest saves', () => {
  it('sequential saves on a caller storage cost one log object each; the flush stores the last commit', async () => {
    const storage = createFsStorage({ root: tempDir('lineage-deferred') });
    const saved = [];
    for (let i = 0; i < 6; i++) saved.push(await saveApiResponse('r', { i }, { storage, statusCode: 200 }));
    // Six intent objects; each commit but the last rode in the next save's object.
    expect(await logObjects(storage)).toBe(6);
    const before = await verifyLineage(storage);
    expect(before.outputs.map((o) => o.status)).toEqual([...saved.slice(1).map(() => 'ok'), 'unconfirmed']);
    expect(before.corrupt).toEqual([]);
    await flushIngestLineage(storage);
    expect(await logObjects(storage)).toBe(7);
    const { byOutput } = await readLineage(storage);
    for (const file of saved) expect(byOutput.get(file.url)?.[0]?.commit?.sha256).toBe(file.sha256);
    expect((await verifyLineage(storage)).outputs.map((o) => o.status)).toEqual(saved.map(() => 'ok'));
    await flushIngestLineage(storage); // nothing waits: no object
    expect(await logObjects(storage)).toBe(7);
  });

  it('a save given a baseDir (its storage opened and closed by the call) stores its commit before it returns', async () => {
    const base = tempDir('lineage-deferred-base');
    const saved = await saveToFile('d', { x: 1 }, { baseDir: base });
    const storage = createFsStorage({ root: base });
    expect((await verifyLineage(storage)).outputs.map((o) => o.status)).toEqual(['ok']);
    expect(saved.sha256).toBeDefined();
  });

  it('the timer stores waiting commits on its own', async () => {
    const storage = createMemoryStorage();
    const log = new GroupLog(storage, { commitDelayMs: 20 });
    const [id] = (await log.begin([{ output: 'memory:///a', operation: 'test', inputs: [] }])) as [string];
    log.commit(id, { sha256: 'ab'.repeat(32), size: 1 });
    expect(await logObjects(storage)).toBe(1);
    for (let i = 0; i < 100 && (await logObjects(storage)) < 2; i++) await sleep(10);
    expect(await logObjects(storage)).toBe(2);
    expect((await readLineage(storage)).writes[0]?.commit?.size).toBe(1);
    await log.close();
    await log.close();
    expect(await logObjects(storage)).toBe(2);
  });

  it('commitDelayMs is range-checked', () => {
    expect(() => new GroupLog(createMemoryStorage(), { commitDelayMs: -1 })).toThrow(ValidationError);
    expect(() => new GroupLog(createMemoryStorage(), { commitDelayMs: -1 })).toThrow(/commitDelayMs.*-1/);
  });
});

describe('a process that ends before its commits are stored', () => {
  const script = (base: string, end: string) => `
    import { saveToFile } from ${JSON.stringify(path.join(REPO_ROOT, 'src/ingest/index.ts'))};
    import { createFsStorage } from ${JSON.stringify(path.join(REPO_ROOT, 'src/storage/drivers/fs/fs-storage.ts'))};
    const storage = createFsStorage({ root: ${JSON.stringify(base)} });
    for (let i = 0; i < 3; i++) await saveToFile('d', { i }, { storage });
    ${end}
  `;
  const run = (base: string, end: string) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', script(base, end)], {
      encoding: 'utf8',
      env: { ...process.env, SLUICE_LINEAGE: '1' },
    });

  it('killed (-9) after the last save: that file is unconfirmed, not corrupt; the others are ok', async () => {
    const base = tempDir('lineage-deferred-kill');
    const child = run(base, "process.kill(process.pid, 'SIGKILL');");
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const report = await verifyLineage(createFsStorage({ root: base }));
    expect(report.outputs.map((o) => o.status)).toEqual(['ok', 'ok', 'unconfirmed']);
    expect(report.corrupt).toEqual([]);
  });

  it('ending by running out of work stores the waiting commits (beforeExit)', async () => {
    const base = tempDir('lineage-deferred-exit');
    const child = run(base, '');
    expect(child.status, child.stderr).toBe(0);
    const report = await verifyLineage(createFsStorage({ root: base }));
    expect(report.outputs.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
  });
});
