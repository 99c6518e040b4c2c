/**
 * The lineage API in-process (`app.request`) on the dashboard's demo lake, on disk and on s3rver:
 * a qa file's chain upstream to the raw CSV and the SQL model, downstream from a landing file,
 * the depth limit, the same answer for a key, a URL and a path; a 404 naming an unknown file;
 * every way out of the lake refused (400, E010); the scopes; marks on a file
 * whose bytes changed and on a write that never landed; and the admin-only whole-lake verify.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineageLog, type LineageNode, lineageOf, outputUrl } from '../../src/lineage/index.ts';
import { storageOptionsFrom } from '../../src/pipeline/index.ts';
import { type LineageNodeView, LineageService } from '../../src/server/lake/lineage-service.ts';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { TEST_CREDENTIALS } from '../helpers/s3.ts';
import { auth, TOKENS, testServer } from './helpers.ts';
import { type DemoLake, demoLake } from './lake-fixture.ts';

interface Problem {
  code: string;
  message: string;
}
interface TreeAnswer {
  root: string;
  key: string;
  direction: string;
  depth: number;
  tree: LineageNodeView;
  checked: { files: number; bytes: number } | { skipped: string };
}
interface VerifyAnswer {
  prefix: string;
  checked: number;
  corrupt: number;
  counts: Record<string, number>;
  outputs: { key: string; status: string }[];
}

const QA_SUMMARY = 'qa/staging/country_year_summary.parquet';
const DEV_SUMMARY = 'dev/staging/country_year_summary.parquet';
const LANDING = 'dev/landing/sdg/SDG_DATA.parquet';

function nodes<T extends { inputs?: T[]; consumers?: T[] }>(node: T): T[] {
  return [node, ...(node.inputs ?? []).flatMap(nodes), ...(node.consumers ?? []).flatMap(nodes)];
}

describe.each(['fs', 's3'] as const)('lineage API on %s', (kind) => {
  let lake: DemoLake;
  let storage: Storage;
  let server: ReturnType<typeof testServer>;
  const get = async <T = Problem>(route: string, scope: keyof typeof TOKENS = 'read') => {
    const res = await server.app.request(route, { headers: auth(scope, 'Bearer') });
    return { status: res.status, body: (await res.json()) as T };
  };
  const tree = (url: string, query = '') =>
    get<TreeAnswer & Partial<Problem>>(`/api/lineage?url=${encodeURIComponent(url)}${query}`);

  beforeAll(async () => {
    lake = await demoLake(kind, `lineage-api-${kind}`);
    storage = openStorage(lake.config.lakeRoot, storageOptionsFrom(lake.config));
    server = testServer({ pipelineConfig: lake.config });
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    await storage?.close();
  });

  it('refuses the tree without a token (401) or with a write token (403), and verify without admin', async () => {
    const route = `/api/lineage?url=${encodeURIComponent(QA_SUMMARY)}`;
    const none = await server.app.request(route);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await get(route, 'write')).status).toBe(403);
    expect((await server.app.request('/api/lineage/verify')).status).toBe(401);
    const reader = await get('/api/lineage/verify', 'read');
    expect(reader.status).toBe(403);
    expect(reader.body.message).toMatch(/lacks the admin scope/);
  });

  it('traces a qa file up to the raw CSV and the SQL model, every lake file checked ok', async () => {
    const { status, body } = await tree(QA_SUMMARY);
    expect(status).toBe(200);
    expect(body).toMatchObject({ key: QA_SUMMARY, direction: 'up', depth: 20 });
    expect(body.tree).toMatchObject({ key: QA_SUMMARY, operation: 'pipeline.materialize', check: 'ok' });
    const all = nodes(body.tree);
    const version = all.find((n) => n.operation === 'pipeline.promote');
    expect(version?.key).toMatch(/^_sluice\/qa\/versions\/[^/]+\/staging\/country_year_summary\.parquet$/);
    expect(all.find((n) => n.key === DEV_SUMMARY)?.operation).toBe('pipeline.transform');
    expect(all.find((n) => n.key === LANDING)?.operation).toBe('pipeline.ingest');
    const csv = all.find((n) => n.url.endsWith('/data/raw/sdg/SDG_DATA.csv'));
    expect(csv).toMatchObject({ kind: 'file', status: 'unrecorded' });
    expect(csv?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(csv).not.toHaveProperty('key');
    const model = all.find((n) => n.kind === 'model' && n.url.endsWith('/models/country_year_summary.sql'));
    expect(model?.sha256).toMatch(/^[0-9a-f]{64}$/);
    // The API's tree is lineageOf's, node for node; each lake file with a record is re-hashed.
    const library = await lineageOf(outputUrl(storage, QA_SUMMARY), {
      storage: storageOptionsFrom(lake.config),
    });
    expect(all.map((n) => [n.url, n.sha256])).toEqual(
      nodes<LineageNode>(library).map((n) => [n.url, n.sha256]),
    );
    const recorded = all.filter((n) => n.key !== undefined && n.status === 'committed');
    expect(recorded.length).toBeGreaterThanOrEqual(5);
    for (const n of recorded) expect(n.check, n.key).toBe('ok');
    expect(body.checked).toMatchObject({ files: new Set(recorded.map((n) => n.key)).size });
    const text = JSON.stringify(body);
    for (const secret of [TEST_CREDENTIALS.secretAccessKey, ...Object.values(TOKENS)])
      expect(text).not.toContain(secret);
  });

  it('stops at the depth asked for and marks where it stopped; refuses a depth out of range', async () => {
    const { body } = await tree(QA_SUMMARY, '&depth=1');
    expect(body.depth).toBe(1);
    const [version] = body.tree.inputs ?? [];
    expect(version).toMatchObject({ operation: 'pipeline.promote', truncated: true });
    expect(version).not.toHaveProperty('inputs');
    for (const bad of ['0', '51', 'x', '-1']) {
      const res = await get(`/api/lineage?url=${encodeURIComponent(QA_SUMMARY)}&depth=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.message).toMatch(/depth must be a whole number from 1 to 50/);
    }
    expect((await tree(QA_SUMMARY, '&direction=sideways')).status).toBe(400);
  });

  it('shows downstream what was built from a landing file, up to qa', async () => {
    const { status, body } = await tree(LANDING, '&direction=down');
    expect(status).toBe(200);
    const keys = nodes(body.tree).map((n) => n.key);
    expect(keys).toContain('dev/staging/sdg_indicators.parquet');
    expect(keys).toContain(DEV_SUMMARY);
    expect(keys).toContain(QA_SUMMARY);
    expect(body.tree.inputs).toBeUndefined();
  });

  it('answers the same tree for the key, the lake URL and (on disk) the absolute path', async () => {
    const byKey = (await tree(QA_SUMMARY)).body;
    const forms = [outputUrl(storage, QA_SUMMARY)];
    if (kind === 'fs') forms.push(path.join(lake.config.lakeRoot, QA_SUMMARY));
    for (const form of forms) {
      const res = await tree(form);
      expect(res.status, form).toBe(200);
      expect(res.body.key).toBe(QA_SUMMARY);
      expect(res.body.tree).toEqual(byKey.tree);
    }
  });

  it('answers 404 with E011 naming a file the lake does not have', async () => {
    const res = await tree('qa/staging/nope.parquet');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not found');
    expect(res.body.message).toMatch(/^E011: no file "qa\/staging\/nope\.parquet" in the lake/);
    expect((await get('/api/lineage')).status).toBe(400);
  });

  it('refuses every URL outside the lake with 400 and E010', async () => {
    const lakeUrl = outputUrl(storage, '');
    const outside = [
      '../data/raw/sdg/SDG_DATA.csv',
      'qa/../../data/raw/sdg/SDG_DATA.csv',
      'qa/staging/../../../x',
      './qa/staging/country_year_summary.parquet',
      '/etc/passwd',
      'file:///etc/passwd',
      path.join(lake.dir, 'data/raw/sdg/SDG_DATA.csv'),
      `${lakeUrl}../data/raw/sdg/SDG_DATA.csv`,
      's3://another-bucket/lake/qa/staging/country_year_summary.parquet',
      `${lakeUrl}${QA_SUMMARY}?endpoint=http://127.0.0.1:9`,
      'qa\\staging\\x.parquet',
      '_sluice/meta/qa/staging/x.json',
      'memory://lake/qa/x',
      'http://example.com/x',
    ];
    // A file URL decodes %2e%2e to '..' (an S3 key keeps it literally: a key inside the lake).
    if (kind === 'fs')
      outside.push(`${lake.config.lakeRoot}/../data/raw/sdg/SDG_DATA.csv`, `${lakeUrl}qa/%2e%2e/%2e%2e/x`);
    for (const url of outside) {
      const res = await tree(url);
      expect(res.status, url).toBe(400);
      expect(res.body.code, url).toBe('invalid');
      expect(res.body.message, url).toMatch(/^E010: /);
    }
    const nul = await server.app.request(`/api/lineage?url=qa%2Fx%00.parquet`, { headers: auth('read') });
    expect(nul.status).toBe(400);
  });

  it('marks a lake file whose bytes changed, and verify (admin) reports it as corrupt', async () => {
    const original = await storage.get(DEV_SUMMARY);
    const edited = Buffer.from(original);
    edited[edited.length - 20] = (edited[edited.length - 20] as number) ^ 0xff;
    await storage.put(DEV_SUMMARY, edited);
    try {
      const { body } = await tree(QA_SUMMARY);
      const marked = nodes(body.tree).filter((n) => n.check !== 'ok' && n.check !== undefined);
      expect(marked.map((n) => [n.key, n.check])).toEqual([[DEV_SUMMARY, 'changed']]);
      const report = await get<VerifyAnswer>('/api/lineage/verify', 'admin');
      expect(report.status).toBe(200);
      expect(report.body.corrupt).toBe(1);
      expect(report.body.outputs.filter((o) => o.status === 'changed').map((o) => o.key)).toEqual([
        DEV_SUMMARY,
      ]);
      const qaOnly = await get<VerifyAnswer>('/api/lineage/verify?root=qa&all=1', 'admin');
      expect(qaOnly.body.prefix).toBe('qa/');
      expect(qaOnly.body.corrupt).toBe(0);
      expect(qaOnly.body.outputs.length).toBe(qaOnly.body.checked);
      expect(qaOnly.body.outputs.every((o) => o.key.startsWith('qa/') && o.status === 'ok')).toBe(true);
      expect((await get('/api/lineage/verify?root=../x', 'admin')).status).toBe(400);
    } finally {
      await storage.put(DEV_SUMMARY, original);
    }
    expect((await get<VerifyAnswer>('/api/lineage/verify', 'admin')).body.corrupt).toBe(0);
  });

  it('marks a write whose file never landed, upstream and downstream', async () => {
    const ghost = 'dev/staging/ghost.parquet';
    const landing = (await tree(LANDING)).body.tree;
    const log = new LineageLog(storage);
    await log.begin([
      {
        output: outputUrl(storage, ghost),
        operation: 'pipeline.transform',
        inputs: [{ kind: 'file', url: outputUrl(storage, LANDING), sha256: landing.sha256 as string }],
      },
    ]);
    const up = await tree(ghost);
    expect(up.status).toBe(200);
    expect(up.body.tree).toMatchObject({ key: ghost, status: 'unconfirmed', check: 'never-landed' });
    expect(up.body.tree.inputs?.[0]).toMatchObject({ key: LANDING, check: 'ok' });
    const down = await tree(LANDING, '&direction=down');
    expect(nodes(down.body.tree).find((n) => n.key === ghost)?.check).toBe('never-landed');
  });
});

describe('lineage service limits', () => {
  it('answers a chain above the hash limit unchecked, saying why', async () => {
    const lake = await demoLake('fs', 'lineage-limit');
    const storage = openStorage(lake.config.lakeRoot);
    try {
      const service = new LineageService(storage, {}, { hashLimitBytes: 1024 });
      const answer = await service.tree(QA_SUMMARY, 'up', 20);
      expect(answer.checked).toMatchObject({
        skipped: expect.stringMatching(/more than the 1 KB a lineage view re-hashes/),
      });
      expect(nodes(answer.tree).some((n) => n.check !== undefined)).toBe(false);
    } finally {
      await storage.close();
    }
  }, 180_000);

  it('answers 404 on a server without a lake', async () => {
    const server = testServer();
    try {
      const res = await server.app.request('/api/lineage?url=qa/x', { headers: auth('read') });
      expect(res.status).toBe(404);
      expect(((await res.json()) as Problem).message).toMatch(/no lake/);
    } finally {
      await server.close();
    }
  });
});
