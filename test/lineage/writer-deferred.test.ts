/**
 * A DataWriter call's lineage commits are deferred like ingest saves' (docs/lineage.md): they ride
 * with the next call's intents, a 1 s timer or `close()`; a kill before leaves the last file
 * `unconfirmed` (not corrupt). With OpenLineage export on, they are durable when the call returns.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LINEAGE_PREFIX, verifyLineage } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import type { Storage } from '../../src/storage/types.ts';
import { DataWriter } from '../../src/writer/index.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

async function logObjects(storage: Storage): Promise<number> {
  let n = 0;
  for await (const e of storage.list({ prefix: LINEAGE_PREFIX, recursive: true }))
    if (e.type === 'object') n++;
  return n;
}

describe('deferred commits of writer calls', () => {
  it('five JSON writes: one log object each, the last commit stored at close()', async () => {
    const taskDir = tempDir('writer-deferred');
    const storage = createFsStorage({ root: taskDir });
    const writer = new DataWriter({ taskDir, lineage: true, openLineage: false });
    for (let i = 0; i < 5; i++) await writer.writeJson({ i }, `doc${i}`);
    expect(await logObjects(storage)).toBe(5);
    const before = await verifyLineage(storage);
    expect(before.outputs.map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'unconfirmed']);
    expect(before.corrupt).toEqual([]);
    await writer.close();
    await writer.close();
    expect(await logObjects(storage)).toBe(6);
    expect((await verifyLineage(storage)).outputs.map((o) => o.status)).toEqual(Array(5).fill('ok'));
  });

  it('a process killed (-9) after its last write: that file is unconfirmed, not corrupt', async () => {
    const taskDir = tempDir('writer-deferred-kill');
    const code = `
      import { DataWriter } from ${JSON.stringify(path.join(REPO_ROOT, 'src/writer/index.ts'))};
      const writer = new DataWriter({ taskDir: ${JSON.stringify(taskDir)}, lineage: true, openLineage: false });
      for (let i = 0; i < 3; i++) await writer.writeJson({ i }, 'doc' + i);
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8' });
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const report = await verifyLineage(createFsStorage({ root: taskDir }));
    expect(report.outputs.map((o) => o.status)).toEqual(['ok', 'ok', 'unconfirmed']);
    expect(report.corrupt).toEqual([]);
  });
});
