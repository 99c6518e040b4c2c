/**
 * SIGINT/SIGTERM end the other long commands within 2 s too — ingest-csv, sync, ts import — by
 * that signal (shell status 130/143), with one `interrupted` line on stderr, their temp folders
 * removed, and nothing half-written where the data lands.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.ts';
import { startSluice, waitFor } from './stop-helpers.ts';

const dir = tempDir('stop-long');

function filesUnder(root: string): string[] {
  try {
    return readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => path.join(e.parentPath, e.name));
  } catch {
    return [];
  }
}

/** sluice temp folders left in a child's private TMPDIR (the lock folder is meant to stay). */
function tempFolders(tmp: string): string[] {
  return readdirSync(tmp).filter((n) => n.startsWith('sluice-') && n !== 'sluice-locks');
}

function privateTmp(label: string): string {
  const tmp = path.join(dir, `tmp-${label}`);
  mkdirSync(tmp);
  return tmp;
}

async function writeLines(file: string, header: string, rows: number, line: (i: number) => string) {
  const out = createWriteStream(file);
  if (header) out.write(`${header}\n`);
  for (let i = 0; i < rows; i++) out.write(`${line(i)}\n`);
  await new Promise((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve(undefined))));
}

const csv = path.join(dir, 'big.csv');
const jsonl = path.join(dir, 'points.jsonl');

beforeAll(async () => {
  // ~120 MB: DuckDB needs seconds for it even on a quiet machine, so the signal lands mid-conversion
  // (600,000 rows were converted in 0.6 s, and a signal after the command had finished found no
  // handler and no line to print).
  await writeLines(csv, 'id,name,amount', 4_000_000, (i) => `${i},name-${i},${i * 0.25}`);
  // 2,000,000 points: the import of 600,000 took 1.25 s in all, too close to the first batch.
  await writeLines(jsonl, '', 2_000_000, (i) =>
    JSON.stringify({ variable: 'temp', timestamp: 1.7e12 + i * 1000, value: i }),
  );
});

describe('long commands stop within 2 s on SIGINT/SIGTERM', { timeout: 180_000 }, () => {
  it('ingest-csv, SIGINT mid-conversion: nothing lands, the temp folder goes', async () => {
    const project = path.join(dir, 'project');
    mkdirSync(project);
    writeFileSync(
      path.join(project, 'sluice.config.yaml'),
      'env: dev\ndataDir: ./data\nmodelsDir: ./models\nlakeRoot: ./lake\n',
    );
    const tmp = privateTmp('ingest');
    const run = startSluice(['ingest-csv', csv, '--source', 's1'], { cwd: project, env: { TMPDIR: tmp } });
    await waitFor('the conversion', () => tempFolders(tmp).some((n) => n.startsWith('sluice-ingest-')), {
      child: run,
    });
    // Into DuckDB's conversion, which cannot be interrupted while it scans the file: the command
    // is ended after the grace, and its temp folder must still go.
    await new Promise((r) => setTimeout(r, 200));
    const end = await run.stop('SIGINT');
    expect(end.signal).toBe('SIGINT');
    expect(end.ms).toBeLessThan(2_000);
    expect(run.stderr()).toBe(
      'interrupted (SIGINT): a file lands in the lake only whole (nothing half-written), temp files removed\n',
    );
    expect(tempFolders(tmp)).toEqual([]);
    expect(filesUnder(path.join(project, 'lake')).filter((f) => f.endsWith('.parquet'))).toEqual([]);
  });

  it('sync, SIGTERM mid-copy: every file in the target is whole, no temp file left', async () => {
    const src = path.join(dir, 'sync-src');
    const dst = path.join(dir, 'sync-dst');
    mkdirSync(src);
    for (let i = 0; i < 60; i++) writeFileSync(path.join(src, `f${i}.bin`), randomBytes(2 * 1024 * 1024));
    const run = startSluice(['sync', src, dst, '--concurrency', '4', '--no-cache']);
    await waitFor('the first copies', () => filesUnder(dst).length > 2, { child: run });
    const end = await run.stop('SIGTERM');
    expect(end.signal).toBe('SIGTERM');
    expect(end.ms).toBeLessThan(2_000);
    expect(run.stderr()).toBe(
      'interrupted (SIGTERM): files copied so far are whole (each put is atomic); run sync again for the rest\n',
    );
    // sluice's own bookkeeping (object metadata) lives under _sluice/, not among the files.
    const copied = filesUnder(dst).filter((f) => !path.relative(dst, f).startsWith('_sluice'));
    expect(copied.length).toBeLessThan(60);
    for (const f of copied) {
      expect(path.basename(f), 'a temp file was left').toMatch(/^f\d+\.bin$/);
      expect(readFileSync(f).equals(readFileSync(path.join(src, path.basename(f))))).toBe(true);
    }
  });

  it('ts import, SIGINT mid-import: whole batches stored, the store opens again', async () => {
    const store = path.join(dir, 'store');
    const run = startSluice(['ts', 'import', store, jsonl]);
    await waitFor('the first stored batch', () => filesUnder(store).some((f) => statSync(f).size > 0), {
      child: run,
    });
    const end = await run.stop('SIGINT');
    expect(end.signal).toBe('SIGINT');
    expect(end.ms).toBeLessThan(2_000);
    expect(run.stderr()).toBe(
      'interrupted (SIGINT): batches stored before the stop are kept whole; import again for the rest\n',
    );
    const stats = startSluice(['ts', 'stats', store, '--json']);
    expect((await stats.ended).code, stats.stderr()).toBe(0);
    const { lastSeq } = JSON.parse(stats.stdout()) as { lastSeq: number };
    expect(lastSeq % 10_000).toBe(0);
    expect(lastSeq).toBeLessThan(2_000_000);
  });
});
