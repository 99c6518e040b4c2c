import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { expectEachRecordOnce, listKeys, runCli, type Seeded, scratchDirs, seedObjects } from './fixtures.ts';

const scratch = scratchDirs('poll-e2e');

interface Setup {
  /** Storage the archive and failed prefixes live in (bucket root, or the watched directory). */
  root: Storage;
  /** Prefix of the watched objects inside `root`. */
  watched: string;
  sourceUrl: string;
  env: Record<string, string>;
}

async function s3Setup(label: string): Promise<Setup> {
  const b = await freshBucket(label);
  return {
    root: openStorage(b.url(), s3Options()),
    watched: 'incoming/',
    sourceUrl: b.url('incoming/'),
    env: b.env,
  };
}

function localSetup(label: string): Setup {
  const dir = path.join(scratch(label), 'watched');
  return { root: openStorage(dir), watched: '', sourceUrl: dir, env: {} };
}

async function checkArchive(s: Setup, seeded: Seeded): Promise<void> {
  expect(await listKeys(s.root, 'processed/')).toEqual(seeded.good.map((k) => `processed/${k}`).sort());
  const failed = await listKeys(s.root, 'failed/');
  expect(failed).toEqual(seeded.bad.flatMap((k) => [`failed/${k}`, `failed/${k}.error.json`]).sort());
  for (const k of seeded.bad) {
    const report = JSON.parse((await s.root.get(`failed/${k}.error.json`)).toString());
    expect(report.code).toBe('E021');
    expect(report.key).toBe(s.watched + k);
    expect(report.message).toContain(k);
  }
  const line3 = JSON.parse((await s.root.get('failed/bad/line3.jsonl.error.json')).toString());
  expect(line3).toMatchObject({ line: 3, row: 3, recordsEnqueued: 0 });
  const ragged = JSON.parse((await s.root.get('failed/bad/ragged.csv.error.json')).toString());
  expect(ragged).toMatchObject({ line: 3, row: 2 });
  // Only the unsupported file is left in the watched prefix.
  const left = (await listKeys(s.root, s.watched)).filter((k) => !/^(processed|failed)\//.test(k));
  expect(left).toEqual([`${s.watched}notes.txt`]);
}

async function endToEnd(s: Setup, queueUrl: string, queueName: string, count: number): Promise<void> {
  const seeded = await seedObjects(s.root, s.watched, count);
  const args = ['poll', '--source', s.sourceUrl, '--queue', queueUrl, '--queue-name', queueName, '--once'];
  const first = await runCli([...args, '--min-age', '0s'], s.env);
  expect(first.stderr).toBe('');
  expect(first.code).toBe(0);
  const summary = JSON.parse(first.stdout);
  expect(summary).toMatchObject({
    archived: count,
    failed: seeded.bad.length,
    records: seeded.tags.length,
    jobsAdded: seeded.tags.length,
  });
  await checkArchive(s, seeded);
  const second = await runCli([...args, '--min-age', '0s'], s.env);
  expect(second.code).toBe(0);
  expect(JSON.parse(second.stdout)).toMatchObject({
    listed: 0,
    archived: 0,
    failed: 0,
    records: 0,
    jobsAdded: 0,
  });
  await expectEachRecordOnce(queueUrl, queueName, seeded.tags);
  await s.root.close();
}

const qname = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

describe('sluice poll --once end to end', () => {
  it('s3rver, 1,200 objects over several listing pages, sqlite queue', async () => {
    const s = await s3Setup('poll-s3-sqlite');
    const db = path.join(scratch('poll-q'), 'queue.db');
    await endToEnd(s, `sqlite:${db}`, qname('s3'), 1200);
  }, 240_000);

  it('local directory source, sqlite queue', async () => {
    const s = localSetup('poll-local');
    const db = path.join(scratch('poll-q'), 'queue.db');
    await endToEnd(s, `sqlite:${db}`, qname('local'), 300);
  }, 120_000);

  it('s3rver, 1,200 objects, bullmq queue with state in Redis', async () => {
    const s = await s3Setup('poll-s3-bullmq');
    const prefix = `sluice-test-${randomBytes(4).toString('hex')}`;
    await endToEnd(s, `redis://127.0.0.1:6379/0?prefix=${prefix}`, qname('bull'), 1200);
  }, 240_000);

  it('min-age leaves young objects for a later poll', async () => {
    const s = localSetup('poll-minage');
    await s.root.put('young.json', '{"name":"x","value":1}');
    const db = path.join(scratch('poll-q'), 'queue.db');
    const args = ['poll', '--source', s.sourceUrl, '--queue', `sqlite:${db}`, '--once'];
    const r = await runCli([...args, '--min-age', '1h']);
    expect(JSON.parse(r.stdout)).toMatchObject({ listed: 1, deferred: 1, archived: 0 });
    expect(await s.root.exists('young.json')).toBe(true);
    const r2 = await runCli([...args, '--min-age', '0s']);
    expect(JSON.parse(r2.stdout)).toMatchObject({ archived: 1, records: 1 });
    expect(await s.root.exists('processed/young.json')).toBe(true);
  });

  it('takes the seed environment names (PULSE_S3_*) instead of flags', async () => {
    const b = await freshBucket('poll-pulse-env');
    const root = openStorage(b.url(), s3Options());
    await root.put('drop/a/one.json', '{"name":"x","value":1}');
    await root.put('drop/b/two.csv', 'name,value\ny,2\nz,3\n');
    const db = path.join(scratch('poll-q'), 'queue.db');
    const env = {
      ...b.env,
      PULSE_S3_BUCKET: b.bucket,
      PULSE_S3_PREFIX: 'drop/',
      PULSE_S3_PROCESSED_PREFIX: 'archive/',
      SLUICE_QUEUE_URL: `sqlite:${db}`,
      SLUICE_POLL_MIN_AGE: '0s',
    };
    const r = await runCli(['poll', '--once'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ archived: 2, records: 3 });
    expect(await listKeys(root, 'archive/')).toEqual(['archive/a/one.json', 'archive/b/two.csv']);
    await root.close();
  });
});
