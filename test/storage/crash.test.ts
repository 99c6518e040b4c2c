import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { listKeys } from '../../src/storage/scoped.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Starts the child, waits until it is mid-write, then kills it with SIGKILL. */
function putAndKill(root: string, key: string, delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(import.meta.dirname, 'crash-child.ts'), root, key, '200'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
      if (out.includes('STARTED')) setTimeout(() => child.kill('SIGKILL'), delayMs);
      if (out.includes('DONE')) reject(new Error('child finished before it was killed'));
    });
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`child exited without SIGKILL: ${out}`)),
    );
  });
}

describe('fs driver under kill -9', () => {
  it('leaves no object, or the old one, never a partial one', async () => {
    const root = tempDir('sluice-crash');
    const storage = createFsStorage({ root });
    await putAndKill(root, 'fresh/big.bin', 100);
    expect(await storage.exists('fresh/big.bin')).toBe(false);
    expect(await listKeys(storage)).toEqual([]);

    await storage.put('kept/big.bin', 'old content');
    for (const delay of [0, 50, 200]) {
      await putAndKill(root, 'kept/big.bin', delay);
      expect((await storage.get('kept/big.bin')).toString()).toBe('old content');
    }
    expect(await listKeys(storage)).toEqual(['kept/big.bin']);
    // Temp files from the killed writers stay hidden from listings; they are the only residue.
    const residue = readdirSync(path.join(root, 'kept')).filter((n) => n !== 'big.bin');
    expect(residue.every((n) => n.endsWith('.sluice-tmp'))).toBe(true);
  });
});
