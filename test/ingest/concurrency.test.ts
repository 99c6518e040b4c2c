import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listSavedFiles, readDataPoints } from '../../src/ingest/index.ts';
import { tempDir } from '../helpers/tmp.ts';

const FIXTURES = path.join(import.meta.dirname, 'fixtures');

function run(script: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(FIXTURES, script), ...args], {
      stdio: ['ignore', 'inherit', 'pipe'],
      env: { ...process.env, SLUICE_LOG_LEVEL: 'silent' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${script} exited ${code}: ${stderr}`)),
    );
  });
}

describe('several processes', () => {
  it('200 saveToFile calls in a tight loop from 2 processes give 400 distinct, valid files', async () => {
    const base = tempDir('race');
    await Promise.all([run('save-loop.ts', [base, '200', 'A']), run('save-loop.ts', [base, '200', 'B'])]);
    const dir = path.join(base, 'race', 'loop');
    const names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.json'));
    expect(names).toHaveLength(400);
    const seen = new Set<string>();
    for (const name of names) {
      const body = JSON.parse(await fsp.readFile(path.join(dir, name), 'utf8')) as { tag: string; i: number };
      seen.add(`${body.tag}${body.i}`);
    }
    expect(seen.size).toBe(400);
    expect(await listSavedFiles('loop', { baseDir: base, sourceName: 'race' })).toHaveLength(400);
  }, 120_000);

  it('IncrementalWriters in 3 processes append to one JSONL file without interleaving or tearing lines', async () => {
    const base = tempDir('append');
    await Promise.all(['A', 'B', 'C'].map((tag) => run('append-loop.ts', [base, '3000', tag, '50'])));
    const text = await fsp.readFile(path.join(base, 'race', 'points', 'points.jsonl'), 'utf8');
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(9000);
    const perTag: Record<string, number[]> = { A: [], B: [], C: [] };
    for (const line of lines) {
      const p = JSON.parse(line) as { value: number; metadata: { tag: string } };
      perTag[p.metadata.tag]!.push(p.value);
    }
    // Each process's points are all there, in its own order.
    for (const values of Object.values(perTag))
      expect(values).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    let count = 0;
    for await (const _ of readDataPoints('points', { baseDir: base, sourceName: 'race' })) count++;
    expect(count).toBe(9000);
  }, 120_000);
});
