/**
 * Segments no manifest names (a compaction killed with -9 between writing segments and
 * publishing the manifest) and temp files of killed puts: the writer removes them when it opens
 * the store, `sluice storage gc` removes old ones from stores no writer holds, and neither
 * touches a live segment or changes what the store reads back.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { segmentFiles, snapshot } from './helpers.ts';

const child = path.join(import.meta.dirname, 'fixtures', 'compact-loop.ts');
const options = { compactIntervalMs: 0, compactPoints: 0 } as const;
const HOUR = 3_600_000;

/** Runs the compaction loop until its `round`-th compaction has started, plus `delayMs`, then SIGKILLs it. */
function killDuringCompaction(dir: string, start: number, delayMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, dir, String(start)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SLUICE_LOG_LEVEL: 'silent' },
    });
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    proc.stdout.on('data', (d: Buffer) => {
      if (!timer && d.toString().includes(`compacting ${start + 1}`))
        timer = setTimeout(() => proc.kill('SIGKILL'), delayMs);
    });
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    proc.on('exit', (code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`compaction loop exited with ${code}: ${err}`)),
    );
  });
}

/** What a reader sees: the manifest's segments and the log tail, without recovery. */
async function readOnlySnapshot(dir: string) {
  const store = await TimeSeriesStore.open(dir, { ...options, readOnly: true });
  try {
    return await snapshot(store);
  } finally {
    await store.close();
  }
}

/** Writes `bytes` at `file` (folders made), last modified `ageMs` ago. */
function plant(file: string, bytes: string | Buffer, ageMs = 0): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, bytes);
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(file, t, t);
  return file;
}

describe('orphan segments', () => {
  it('the writer removes what compactions killed with -9 left when it opens, and reads back the same points', async () => {
    const dir = path.join(tempDir('ts-orphans'), 'store');
    let orphansSeen = 0;
    for (let round = 0; round < 6; round++) {
      await killDuringCompaction(dir, round * 10, 20 + Math.floor(Math.random() * 150));
      const left = await segmentFiles(dir);
      orphansSeen += left.orphans.length;
      // A put killed before its rename, and a manifest put killed the same way.
      const window = path.join(dir, 'segments', 'var=v0', 'window=2024-01-01T000000');
      plant(path.join(window, '.mx00-000000000000.parquet.0123456789ab.sluice-tmp'), 'half a segment');
      plant(path.join(dir, '.manifest.json.ba9876543210.sluice-tmp'), '{"version":');
      const seen = await readOnlySnapshot(dir);

      const store = await TimeSeriesStore.open(dir, options);
      try {
        const after = await segmentFiles(dir);
        expect(after.orphans, `round ${round}`).toEqual([]);
        expect(after.live).toEqual(left.live);
        expect(await snapshot(store)).toEqual(seen);
        expect((await fsp.readdir(dir)).filter((n) => n.includes('sluice-tmp'))).toEqual([]);
      } finally {
        await store.close();
      }
    }
    // The kills really landed mid-compaction: segments were written that no manifest named.
    expect(orphansSeen).toBeGreaterThan(0);
  }, 180_000);

  it('sluice storage gc removes old orphans of stores no writer holds, keeps live and fresh files, and says what it removed', async () => {
    const root = tempDir('ts-gc');
    const dir = path.join(root, 'lake', 'ts');
    const store = await TimeSeriesStore.open(dir, options);
    await store.storeDataPoints(
      Array.from({ length: 3000 }, (_, i) => ({ variable: `v${i % 3}`, timestamp: i * 60_000, value: i })),
    );
    await store.compact();
    await store.close();
    const { live } = await segmentFiles(dir);
    expect(live.length).toBeGreaterThan(0);
    const seen = await readOnlySnapshot(dir);

    // As killed compactions leave them: a copy of a live segment under a new id, old and fresh.
    const liveFile = path.join(dir, live[0]!);
    const oldOrphan = path.join(path.dirname(liveFile), 'mx00aaaa-000000000001.parquet');
    const freshOrphan = path.join(path.dirname(liveFile), 'mx00aaaa-000000000002.parquet');
    copyFileSync(liveFile, oldOrphan);
    copyFileSync(liveFile, freshOrphan);
    const t = (Date.now() - 48 * HOUR) / 1000;
    utimesSync(oldOrphan, t, t);
    const scratch = plant(
      path.join(dir, 'wal', 'scratch', 'write-mx00-1.parquet'),
      'x'.repeat(300),
      48 * HOUR,
    );
    const temp = plant(
      path.join(path.dirname(liveFile), '.y.parquet.0123456789ab.sluice-tmp'),
      'y',
      48 * HOUR,
    );
    const orphanBytes = (await fsp.stat(oldOrphan)).size;
    const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');

    const dry = await runSluice(['storage', 'gc', root, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would remove: ${rel(oldOrphan)} (orphan-segment,`);
    expect(dry.stdout).toContain(`would remove: ${rel(scratch)} (temp, 300 B)`);
    expect(dry.stdout).toContain(`would remove: ${rel(temp)} (temp, 1 B)`);
    expect(dry.stdout).toContain('would remove 3 files');
    expect((await segmentFiles(dir)).orphans).toHaveLength(3);

    const run = await runSluice(['storage', 'gc', root, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { removed: { path: string; kind: string }[]; bytes: number };
    expect(result.removed.map((e) => [e.path, e.kind])).toEqual(
      [
        [rel(oldOrphan), 'orphan-segment'],
        [rel(temp), 'temp'],
        [rel(scratch), 'temp'],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)),
    );
    expect(result.bytes).toBe(orphanBytes + 300 + 1);
    // The fresh orphan may be a compaction in flight: it stays, and so does every live segment.
    expect(await segmentFiles(dir)).toEqual({ live, orphans: [rel(freshOrphan).replace('lake/ts/', '')] });
    expect(await readOnlySnapshot(dir)).toEqual(seen);

    // With its writer running, a store is left to the writer, whatever the age limit.
    const writer = await TimeSeriesStore.open(dir, options);
    try {
      const busy = await runSluice(['storage', 'gc', root, '--older-than', '0s']);
      expect(busy.code, busy.stderr).toBe(0);
      expect(busy.stderr).toContain(
        `skipped time-series store lake/ts: its writer (process ${process.pid}) is running`,
      );
      expect(busy.stdout).toContain('removed 0 files');
    } finally {
      await writer.close();
    }
  }, 120_000);

  it('removes no segment while the store has no manifest to compare with (a lost manifest may come back)', async () => {
    const dir = path.join(tempDir('ts-orphans'), 'store');
    const first = await TimeSeriesStore.open(dir, options);
    await first.storeDataPoints([{ variable: 'v', timestamp: 0, value: 1 }]);
    await first.close();
    const stray = plant(
      path.join(dir, 'segments', 'var=v', 'window=1970-01-01T000000', 'mx00-1.parquet'),
      'x',
    );
    const reopened = await TimeSeriesStore.open(dir, options);
    try {
      expect((await segmentFiles(dir)).orphans).toEqual([path.relative(dir, stray)]);
      await reopened.compact();
    } finally {
      await reopened.close();
    }
    const published = await TimeSeriesStore.open(dir, options);
    try {
      expect((await segmentFiles(dir)).orphans).toEqual([]);
      expect((await published.queryAll('v')).map((p) => p.value)).toEqual([1]);
    } finally {
      await published.close();
    }
  });
});
