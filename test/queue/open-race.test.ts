// Processes that open one new SQLite queue file at the same moment (two pollers sharing a queue)
// race to switch it to WAL and create its tables; every one of them must open it and work.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openQueue } from '../../src/queue/open.ts';
import { tempDir } from '../helpers/tmp.ts';

const CHILD = path.join(import.meta.dirname, 'fixtures', 'open-race-child.ts');

function run(file: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, file], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('SQLite queue opened by many processes at once', () => {
  it('opens a new file from 8 processes at the same moment, 3 times over', async () => {
    const dir = tempDir('open-race');
    for (let round = 0; round < 3; round++) {
      const file = path.join(dir, `race-${round}.db`);
      const results = await Promise.all(Array.from({ length: 8 }, () => run(file)));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const queue = openQueue(`sqlite:${file}`, { name: 'race' });
      expect((await queue.counts()).waiting).toBe(8);
      await queue.close();
    }
  }, 60_000);
});
