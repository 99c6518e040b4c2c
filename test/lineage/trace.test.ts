/** lineageOf: the chain upstream (raw CSV → landing → staging → qa) and downstream, across logs. */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineageLog, type LineageNode, lineageOf, lineageUrl, outputUrl } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import type { Storage } from '../../src/storage/types.ts';
import { tempDir } from '../helpers/tmp.ts';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');

async function put(
  log: LineageLog,
  storage: Storage,
  key: string,
  body: string,
  operation: string,
  inputs: never[] | unknown[],
) {
  await log.record({ output: outputUrl(storage, key), operation, inputs: inputs as never }, async () => {
    await storage.put(key, body);
    return { sha256: sha(body), size: body.length, rows: 1 };
  });
}

const nodesOf = (n: LineageNode): LineageNode[] => [n, ...(n.inputs ?? []).flatMap(nodesOf)];

/** The tree as `url (kind)` lines, indented, for readable expectations. */
function outline(node: LineageNode, depth = 0, key: 'inputs' | 'consumers' = 'inputs'): string[] {
  const name = node.url.replace(/^.*\/(raw|lake|task)\//, '$1/');
  const line = `${'  '.repeat(depth)}${name} (${node.kind}${node.operation ? ` ${node.operation}` : ''}${node.status && node.status !== 'committed' ? ` ${node.status}` : ''})`;
  return [line, ...(node[key] ?? []).flatMap((c) => outline(c, depth + 1, key))];
}

describe('lineageOf', () => {
  const root = tempDir('trace');
  const rawDir = path.join(root, 'raw');
  mkdirSync(rawDir);
  const csv = 'id,v\n1,2\n';
  writeFileSync(path.join(rawDir, 'sales.csv'), csv);
  const lake = createFsStorage({ root: path.join(root, 'lake') });
  const task = createFsStorage({ root: path.join(root, 'task') });
  const rawUrl = lineageUrl(path.join(rawDir, 'sales.csv'));
  const sql = 'select * from sales';

  it('walks upstream from a qa file to the raw CSV and the model, across two logs, with hashes', async () => {
    const lakeLog = new LineageLog(lake);
    await put(lakeLog, lake, 'landing/sales.parquet', 'L', 'pipeline.ingest', [
      { kind: 'file', url: rawUrl, sha256: sha(csv) },
    ]);
    await put(lakeLog, lake, 'dev/staging/sales.parquet', 'S', 'pipeline.transform', [
      { kind: 'file', url: outputUrl(lake, 'landing/sales.parquet'), sha256: sha('L') },
      { kind: 'model', name: 'sales', url: 'file:///models/sales.sql', sha256: sha(sql) },
    ]);
    await put(lakeLog, lake, 'qa/sales.parquet', 'S', 'pipeline.promote', [
      { kind: 'version', url: outputUrl(lake, 'dev/staging/sales.parquet'), sha256: sha('S') },
    ]);
    await lakeLog.flush();
    const taskLog = new LineageLog(task);
    await put(taskLog, task, 'output/report.csv', 'R', 'writer.write', [
      { kind: 'file', url: outputUrl(lake, 'qa/sales.parquet'), sha256: sha('S') },
    ]);
    await taskLog.flush();

    const tree = await lineageOf(path.join(root, 'task', 'output', 'report.csv'));
    expect(outline(tree)).toEqual([
      'task/output/report.csv (output writer.write)',
      '  lake/qa/sales.parquet (file pipeline.promote)',
      '    lake/dev/staging/sales.parquet (version pipeline.transform)',
      '      lake/landing/sales.parquet (file pipeline.ingest)',
      '        raw/sales.csv (file unrecorded)',
      '      file:///models/sales.sql (model)',
    ]);
    expect(tree.sha256).toBe(sha('R'));
    expect(tree.inputs?.[0]?.sha256).toBe(sha('S'));
    const shallow = await lineageOf(path.join(root, 'task', 'output', 'report.csv'), { depth: 1 });
    expect(outline(shallow)).toEqual([
      'task/output/report.csv (output writer.write)',
      '  lake/qa/sales.parquet (file pipeline.promote)',
    ]);
    expect(shallow.inputs?.[0]?.truncated).toBe(true);
  });

  it('walks downstream from a landing file to what was built from it (within its log)', async () => {
    const tree = await lineageOf(path.join(root, 'lake', 'landing', 'sales.parquet'), { downstream: true });
    expect(outline(tree, 0, 'consumers')).toEqual([
      'lake/landing/sales.parquet (output pipeline.ingest)',
      '  lake/dev/staging/sales.parquet (output pipeline.transform)',
      '    lake/qa/sales.parquet (output pipeline.promote)',
    ]);
  });

  it('an input rewritten since it was read is followed to the write that made the bytes read', async () => {
    const log = new LineageLog(lake);
    const csvB = 'id,v\n3,4\n';
    writeFileSync(path.join(rawDir, 'sales-b.csv'), csvB);
    // qa/sales.parquet ('S') was copied from dev/staging/sales.parquet while it held 'S'; the dev
    // file is rebuilt from another CSV now.
    await put(log, lake, 'landing/sales.parquet', 'L2', 'pipeline.ingest', [
      { kind: 'file', url: lineageUrl(path.join(rawDir, 'sales-b.csv')), sha256: sha(csvB) },
    ]);
    await put(log, lake, 'dev/staging/sales.parquet', 'S2', 'pipeline.transform', [
      { kind: 'file', url: outputUrl(lake, 'landing/sales.parquet'), sha256: sha('L2') },
    ]);
    await log.flush();
    const tree = await lineageOf(path.join(root, 'lake', 'qa', 'sales.parquet'));
    expect(outline(tree)).toEqual([
      'lake/qa/sales.parquet (output pipeline.promote)',
      '  lake/dev/staging/sales.parquet (version pipeline.transform)',
      '    lake/landing/sales.parquet (file pipeline.ingest)',
      '      raw/sales.csv (file unrecorded)',
      '    file:///models/sales.sql (model)',
    ]);
    // The current write of the dev file is the rebuild.
    const now = await lineageOf(path.join(root, 'lake', 'dev', 'staging', 'sales.parquet'));
    expect(now.sha256).toBe(sha('S2'));
    expect(nodesOf(now).some((n) => n.url.endsWith('sales-b.csv'))).toBe(true);
  });

  it('an input whose S3 cannot be reached is a leaf marked unreachable; the rest is traced', async () => {
    const closed = createFsStorage({ root: path.join(root, 'closed') });
    const log = new LineageLog(closed);
    const objects = ['s3://lfin-closed/raw/a.csv', 's3://lfin-closed/other/b.csv'];
    await put(log, closed, 'landing/mixed.parquet', 'M', 'pipeline.ingest', [
      ...objects.map((url) => ({ kind: 'object', url, etag: '"e1"', size: 9 })),
      { kind: 'file', url: rawUrl, sha256: sha(csv) },
    ]);
    await log.flush();
    const storage = {
      s3: {
        endpoint: 'http://127.0.0.1:1', // nothing listens: connection refused
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKIDLFIN', secretAccessKey: 'lfin-secret' },
        maxAttempts: 1,
      },
    };
    const tree = await lineageOf(path.join(root, 'closed', 'landing', 'mixed.parquet'), { storage });
    expect(tree).toMatchObject({ operation: 'pipeline.ingest', status: 'committed', sha256: sha('M') });
    expect(tree.inputs?.map((n) => `${n.url} (${n.kind} ${n.status})`)).toEqual([
      's3://lfin-closed/raw/a.csv (object unreachable)',
      's3://lfin-closed/other/b.csv (object unreachable)',
      `${rawUrl} (file unrecorded)`,
    ]);
    const [a] = tree.inputs ?? [];
    expect(a).toMatchObject({
      url: objects[0],
      kind: 'object',
      etag: '"e1"',
      size: 9,
      status: 'unreachable',
    });
    expect(a?.error?.code).toBe('E007');
    expect(a?.error?.message).toContain('s3://lfin-closed/');
    expect(JSON.stringify(tree)).not.toContain('lfin-secret');
    // The file asked about itself must be reachable: that is still an error, with its code.
    await expect(lineageOf(objects[0] as string, { storage })).rejects.toMatchObject({ code: 'E007' });
  });

  it('a file no log knows is one unrecorded node', async () => {
    const tree = await lineageOf(path.join(rawDir, 'sales.csv'));
    expect(tree).toEqual({ url: rawUrl, kind: 'output', status: 'unrecorded' });
  });
});
