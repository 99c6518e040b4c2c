import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'vitest';
import { openQueue } from '../../src/queue/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { tempDir } from '../helpers/tmp.ts';

export const REPO_ROOT = new URL('../..', import.meta.url).pathname;

export interface Seeded {
  /** Keys (relative to the watched prefix) of objects that parse. */
  good: string[];
  /** Keys of objects that must land in failed/. */
  bad: string[];
  /** One tag per record, `<object>:<record>`; each must reach the queue exactly once. */
  tags: string[];
}

const rec = (i: number, j: number) => ({ name: `sensor_${i % 10}`, value: i * 10 + j, tag: `${i}:${j}` });

/** One object of a mix of formats (json, jsonl, csv, jsonl.gz, csv.gz) with known records. */
function objectFor(i: number): { rel: string; body: string | Buffer; tags: string[] } {
  const dir = `d${i % 7}/`;
  switch (i % 5) {
    case 0:
      return { rel: `${dir}o${i}.json`, body: JSON.stringify(rec(i, 0)), tags: [`${i}:0`] };
    case 1: {
      const rows = [0, 1, 2].map((j) => rec(i, j));
      return {
        rel: `${dir}o${i}.jsonl`,
        body: rows.map((r) => JSON.stringify(r)).join('\n'),
        tags: rows.map((r) => r.tag),
      };
    }
    case 2: {
      const rows = [0, 1, 2, 3].map((j) => rec(i, j));
      const csv = `name,value,tag\n${rows.map((r) => `${r.name},${r.value},${r.tag}`).join('\n')}\n`;
      return { rel: `${dir}o${i}.csv`, body: csv, tags: rows.map((r) => r.tag) };
    }
    case 3: {
      const rows = [0, 1].map((j) => rec(i, j));
      const text = `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;
      return { rel: `${dir}o${i}.jsonl.gz`, body: gzipSync(text), tags: rows.map((r) => r.tag) };
    }
    default: {
      const rows = [0, 1, 2].map((j) => rec(i, j));
      const csv = `name,value,tag\n${rows.map((r) => `${r.name},${r.value},${r.tag}`).join('\n')}\n`;
      return { rel: `${dir}o${i}.csv.gz`, body: gzipSync(csv), tags: rows.map((r) => r.tag) };
    }
  }
}

const BAD: { rel: string; body: string | Buffer }[] = [
  { rel: 'bad/broken.json', body: '{"name": "x", "value": ' },
  { rel: 'bad/ragged.csv', body: 'name,value\na,1\nb,2,3\n' },
  { rel: 'bad/notgzip.jsonl.gz', body: 'plain text, not gzip' },
  { rel: 'bad/line3.jsonl', body: '{"name":"a","value":1}\n{"name":"b","value":2}\nnot json\n' },
];

/**
 * Writes `count` good objects (numbered from `first`) under `prefix`, 16 puts at a time, and, for
 * the first batch (`first` 0), the bad ones.
 */
export async function seedObjects(
  storage: Storage,
  prefix: string,
  count: number,
  first = 0,
): Promise<Seeded> {
  const items = Array.from({ length: count }, (_, i) => objectFor(first + i));
  const bad = first === 0 ? BAD : [];
  const all = [...items, ...bad.map((b) => ({ ...b, tags: [] as string[] }))];
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < all.length) {
        const item = all[next++];
        if (item) await storage.put(prefix + item.rel, item.body);
      }
    }),
  );
  // Never polled: unsupported type.
  if (first === 0) await storage.put(`${prefix}notes.txt`, 'ignored');
  return { good: items.map((o) => o.rel), bad: bad.map((b) => b.rel), tags: items.flatMap((o) => o.tags) };
}

export async function listKeys(storage: Storage, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of storage.list({ prefix, recursive: true })) if (e.type === 'object') out.push(e.key);
  return out.sort();
}

/** Runs the CLI from source; resolves with its exit code and output. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  onSpawn?: (pid: number) => void,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli/main.ts', ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, SLUICE_LOG_LEVEL: 'error', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    if (child.pid) onSpawn?.(child.pid);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Drains the queue into a sink and checks that every expected record arrived exactly once:
 * the number of distinct job ids equals the number of records, and the tags match one to one.
 */
export async function expectEachRecordOnce(
  queueUrl: string,
  queueName: string,
  tags: string[],
): Promise<void> {
  const queue = openQueue(queueUrl, { name: queueName });
  try {
    const counts = await queue.counts();
    expect(counts.waiting).toBe(tags.length);
    const ids = new Set<string>();
    const seen: string[] = [];
    await queue.consume(
      async (job) => {
        ids.add(job.id);
        expect(job.name).toBe('ingest_and_score_signal');
        seen.push((job.data as { tag: string }).tag);
      },
      { drain: true, concurrency: 16 },
    );
    expect(ids.size).toBe(tags.length);
    expect(seen.length).toBe(tags.length);
    expect(seen.sort()).toEqual([...tags].sort());
  } finally {
    await queue.close();
  }
}

/**
 * Call at module level: returns a function making fresh directories inside one temp directory
 * that is removed after the file (tempDir's afterAll only works outside tests).
 */
export function scratchDirs(label: string): (name: string) => string {
  const root = tempDir(label);
  return (name) => mkdtempSync(path.join(root, `${name}-`));
}
