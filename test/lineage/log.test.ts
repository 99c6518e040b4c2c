/**
 * Lineage records on every backend: an intent is durable before its output, verify tells edits,
 * truncations and swaps (corrupt) from crashes (explained), and a log that lies is refused.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  LINEAGE_PREFIX,
  LineageLog,
  outputUrl,
  readLineage,
  verifyLineage,
} from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { createMemoryStorage } from '../../src/storage/drivers/memory/memory-storage.ts';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

const backends: [string, () => Promise<Storage>][] = [
  ['fs', async () => createFsStorage({ root: tempDir('lineage') })],
  ['memory', async () => createMemoryStorage()],
  ['s3', async () => openStorage((await freshBucket('lineage')).url('lake/'), s3Options())],
];

/** Writes `body` at `key` under a lineage record, as a sluice write path does. */
async function recordedPut(log: LineageLog, storage: Storage, key: string, body: string, inputs = []) {
  return log.record({ output: outputUrl(storage, key), operation: 'test.put', inputs }, async () => {
    await storage.put(key, body);
    return { sha256: sha(body), size: Buffer.byteLength(body), rows: body.split('\n').length - 1 };
  });
}

async function logObjects(storage: Storage): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of storage.list({ prefix: LINEAGE_PREFIX })) if (e.type === 'object') keys.push(e.key);
  return keys;
}

describe.each(backends)('lineage log on %s', (_kind, make) => {
  it('the intent is stored before the output is written; commits are stored by flush; verify says ok', async () => {
    const storage = await make();
    const log = new LineageLog(storage);
    let seenBeforeWrite: string[] = [];
    await log.record(
      {
        output: outputUrl(storage, 'staging/a.csv'),
        operation: 'test.put',
        inputs: [
          {
            kind: 'http',
            url: 'https://api.example.com/x?api_key=LINEAGESECRET7',
            method: 'GET',
            status: 200,
            responseSha256: sha('r'),
          },
        ],
      },
      async () => {
        // Inside the write: the intent is already durable, its output not yet there.
        const index = await readLineage(storage);
        seenBeforeWrite = index.writes.map((w) => `${w.intent.operation}:${w.commit ? 'committed' : 'open'}`);
        await storage.put('staging/a.csv', 'x\n1\n');
        return { sha256: sha('x\n1\n'), size: 4, rows: 2 };
      },
    );
    expect(seenBeforeWrite).toEqual(['test.put:open']);
    expect((await readLineage(storage)).writes[0]?.commit).toBeUndefined();
    await log.flush();
    const index = await readLineage(storage);
    expect(index.writes[0]?.commit).toMatchObject({ sha256: sha('x\n1\n'), size: 4, rows: 2 });
    const texts = await Promise.all(
      (await logObjects(storage)).map(async (k) => (await storage.get(k)).toString()),
    );
    expect(texts.join('')).not.toContain('LINEAGESECRET7');
    const report = await verifyLineage(storage);
    expect(report.outputs).toEqual([
      {
        output: outputUrl(storage, 'staging/a.csv'),
        status: 'ok',
        expected: sha('x\n1\n'),
        actual: sha('x\n1\n'),
      },
    ]);
    expect(report.corrupt).toEqual([]);
  });

  it('an edited byte, a truncation and a swap are corrupt; a deleted record and a rewrite are not', async () => {
    const storage = await make();
    const log = new LineageLog(storage);
    for (const k of ['a', 'b', 'c', 'd', 'e'])
      await recordedPut(log, storage, `out/${k}.csv`, `v\n${k}${k}${k}\n`);
    await recordedPut(log, storage, 'out/e.csv', 'v\nnew\n'); // a recorded rewrite: current is the last commit
    log.deleted(outputUrl(storage, 'out/d.csv'), 'test.prune');
    await storage.delete('out/d.csv');
    await log.flush();
    await storage.put('out/a.csv', 'v\naaX\n'); // one byte edited outside sluice
    await storage.put('out/b.csv', 'v\n'); // truncated
    const c = await storage.get('out/c.csv');
    await storage.put('out/c.csv', await storage.get('out/b.csv')); // swapped content
    await storage.put('out/x-unrelated.csv', c);
    const report = await verifyLineage(storage);
    const status = Object.fromEntries(
      report.outputs.map((o) => [o.output.replace(/^.*\/out\//, ''), o.status]),
    );
    expect(status).toEqual({
      'a.csv': 'changed',
      'b.csv': 'changed',
      'c.csv': 'changed',
      'd.csv': 'deleted',
      'e.csv': 'ok',
    });
    expect(report.corrupt.map((o) => o.output.replace(/^.*\/out\//, ''))).toEqual([
      'a.csv',
      'b.csv',
      'c.csv',
    ]);
    await storage.delete('out/e.csv'); // gone without a delete record
    expect((await verifyLineage(storage)).corrupt.map((o) => o.status)).toEqual([
      'changed',
      'changed',
      'changed',
      'missing',
    ]);
  });

  it('a crash before the write is "never-landed", after it but before the commit "unconfirmed": explained, not corrupt', async () => {
    const storage = await make();
    const crashed = new LineageLog(storage);
    await crashed.begin([{ output: outputUrl(storage, 'out/never.csv'), operation: 'test.put', inputs: [] }]);
    await recordedPut(crashed, storage, 'out/half.csv', 'v\n1\n');
    await crashed.flush();
    // The process dies between its output and its commit: the intent is stored, the commit is not.
    const dying = new LineageLog(storage);
    await dying.begin([{ output: outputUrl(storage, 'out/half.csv'), operation: 'test.put', inputs: [] }]);
    await storage.put('out/half.csv', 'v\n2\n');
    const failing = new LineageLog(storage);
    await expect(
      failing.record(
        { output: outputUrl(storage, 'out/failed.csv'), operation: 'test.put', inputs: [] },
        async () => {
          throw new Error('disk full');
        },
      ),
    ).rejects.toThrow('disk full');
    await failing.flush();
    const report = await verifyLineage(storage);
    const status = Object.fromEntries(
      report.outputs.map((o) => [o.output.replace(/^.*\/out\//, ''), o.status]),
    );
    expect(status).toEqual({
      'failed.csv': 'never-landed',
      'half.csv': 'unconfirmed',
      'never.csv': 'never-landed',
    });
    expect(report.corrupt).toEqual([]);
    expect((await readLineage(storage)).writes.find((w) => w.aborted)?.aborted).toBe('disk full');
  });

  it('concurrent writes put each record in exactly one log object', async () => {
    const storage = await make();
    const log = new LineageLog(storage);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => recordedPut(log, storage, `p/${i}.csv`, `v\n${i}\n`)),
    );
    await log.flush();
    const lines = (
      await Promise.all((await logObjects(storage)).map(async (k) => (await storage.get(k)).toString()))
    )
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { kind: string; id: string });
    const ids = lines.map((l) => `${l.kind}:${l.id}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(lines.filter((l) => l.kind === 'intent')).toHaveLength(20);
    expect(lines.filter((l) => l.kind === 'commit')).toHaveLength(20);
    expect((await verifyLineage(storage)).outputs.every((o) => o.status === 'ok')).toBe(true);
  });

  it('a log line that is not a lineage record is E021 naming the log object and line, and verify stops', async () => {
    const storage = await make();
    const log = new LineageLog(storage);
    await recordedPut(log, storage, 'out/a.csv', 'v\n1\n');
    await log.flush();
    const [first] = await logObjects(storage);
    const text = (await storage.get(first as string)).toString();
    await storage.put(first as string, `${text}{"v":1,"kind":"commit","id":"short"}\n`);
    const error = await verifyLineage(storage).catch((e: unknown) => e as { code: string; message: string });
    expect(error).toMatchObject({ code: 'E021' });
    expect((error as { message: string }).message).toContain(`${first} line 2: not a lineage record (id: `);
  });
});

describe('a lineage log that is not UTF-8', () => {
  it('is E021 naming the log object, not read with U+FFFD', async () => {
    const storage = createMemoryStorage();
    const key = `${LINEAGE_PREFIX}2026-01-01/broken.jsonl`;
    await storage.put(key, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d, 0x0a]));
    await expect(readLineage(storage)).rejects.toMatchObject({
      code: 'E021',
      message: expect.stringContaining(`${key}: a lineage log object that is not valid UTF-8`),
    });
  });
});
