/**
 * The dashboard's lake API in-process (`app.request`), on a lake on disk and on s3rver: the
 * environments, datasets, a dataset's schema and first rows (checked against DuckDB's own read),
 * run history, promotion history, and rollback — refused without the admin scope, refused for a
 * backup that would empty the env, and refused for a bad body, each time with nothing changed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Config } from '../../src/config/config.ts';
import { Engine, quoteLiteral } from '../../src/engine/index.ts';
import { DataCatalog, DataPromoter, type RunRecord } from '../../src/pipeline/index.ts';
import type { DatasetView, EnvSummary, PromotionHistory } from '../../src/server/lake/lake-service.ts';
import type { Preview } from '../../src/server/lake/preview.ts';
import { tempDir } from '../helpers/tmp.ts';
import { auth, testServer } from './helpers.ts';
import { type DemoLake, demoLake } from './lake-fixture.ts';

interface Problem {
  message: string;
}
interface LakeAnswer {
  root: string;
  environments: EnvSummary[];
}

describe.each(['fs', 's3'] as const)('dashboard lake API on %s', (kind) => {
  let lake: DemoLake;
  let server: ReturnType<typeof testServer>;
  const get = async <T = Problem>(path: string, scope: 'read' | 'write' | 'admin' = 'read') => {
    const res = await server.app.request(path, { headers: auth(scope, 'Bearer') });
    return { status: res.status, body: (await res.json()) as T };
  };
  const post = async <T = Problem>(path: string, body: string, scope: 'read' | 'admin' = 'admin') => {
    const res = await server.app.request(path, { method: 'POST', headers: auth(scope, 'Bearer'), body });
    return { status: res.status, body: (await res.json()) as T };
  };
  /** What qa publishes now, read through the pipeline's own catalog. */
  const qaNow = async () => {
    const promoter = new DataPromoter(lake.config);
    const manifest = await promoter.lake.readManifest('qa');
    const backups = await promoter.listBackups('qa');
    const files = (await new DataCatalog(lake.config).listDatasets('qa')).map((d) => `${d.path}:${d.sha256}`);
    return { version: manifest?.version, backups, files };
  };

  beforeAll(async () => {
    lake = await demoLake(kind, `dash-lake-${kind}`);
    server = testServer({ pipelineConfig: lake.config });
  }, 180_000);
  afterAll(() => server?.close());

  it('refuses every lake route without a token (401) or with a write-only token (403)', async () => {
    for (const path of [
      '/api/lake',
      '/api/lake/qa/datasets',
      '/api/lake/qa/dataset?path=landing/sdg/SDG_DATA.parquet',
      '/api/runs',
      '/api/promotions/qa',
    ]) {
      const none = await server.app.request(path);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await get(path, 'write')).status, path).toBe(403);
    }
  });

  it('lists the environments with their versions, datasets, rows and bytes', async () => {
    const { status, body } = await get<LakeAnswer>('/api/lake');
    expect(status).toBe(200);
    const byEnv = Object.fromEntries(body.environments.map((e) => [e.env, e])) as Record<string, EnvSummary>;
    expect(Object.keys(byEnv)).toEqual(['dev', 'qa', 'prod']);
    expect(byEnv.qa).toMatchObject({ version: lake.versions[1], from: 'dev', datasets: 8 });
    expect(byEnv.dev).toMatchObject({ version: null, datasets: 8 });
    expect(byEnv.prod).toMatchObject({ version: null, datasets: 0, rows: 0, bytes: 0 });
    expect(byEnv.qa?.rows).toBeGreaterThan(1000);
    expect(byEnv.qa?.rows).toBe(byEnv.dev?.rows);
  });

  it('lists the datasets of an env as the catalog does, without storage URLs', async () => {
    const { body } = await get<{ datasets: DatasetView[] }>('/api/lake/qa/datasets');
    const catalog = await new DataCatalog(lake.config).listDatasets('qa');
    expect(body.datasets.map((d) => d.path)).toEqual(catalog.map((d) => d.path));
    for (const d of body.datasets) {
      expect(d).not.toHaveProperty('url');
      expect(d.columns.length).toBeGreaterThan(0);
      expect(d.bytes).toBeGreaterThan(0);
    }
    expect(JSON.stringify(body)).not.toContain(kind === 's3' ? 's3://' : lake.dir);
  });

  it('shows a dataset with its schema and the first 50 rows as DuckDB reads them', async () => {
    const file = 'landing/sdg/SDG_DATA.parquet';
    const { status, body } = await get<DatasetView & { preview: Preview }>(
      `/api/lake/qa/dataset?path=${encodeURIComponent(file)}`,
    );
    expect(status).toBe(200);
    expect(body.columns.map((c) => c.name)).toEqual(['indicator_id', 'country_id', 'year', 'value']);
    expect(body.preview.columns).toEqual(['indicator_id', 'country_id', 'year', 'value']);
    expect(body.preview.rows).toHaveLength(50);
    // The same rows, read from the env's plain files by DuckDB itself (staged locally for S3).
    const catalog = new DataCatalog(lake.config);
    const engine = await Engine.create({ threads: 1 });
    const dir = await mkdtemp(path.join(tmpdir(), 'dash-duck-'));
    try {
      const local = await catalog.lake.localFile(catalog.lake.storage, `qa/${file}`, dir);
      const rows = await engine.query<Record<string, unknown>>(
        `SELECT * FROM read_parquet(${quoteLiteral(local)}) LIMIT 3`,
      );
      expect(body.preview.rows.slice(0, 3)).toEqual(
        rows.map((r) => ({ ...r, year: Number(r.year), value: r.value === null ? null : Number(r.value) })),
      );
    } finally {
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers 400 for a missing path or unknown env and 404 for an unknown dataset', async () => {
    expect((await get('/api/lake/qa/dataset')).status).toBe(400);
    expect((await get('/api/lake/staging/datasets')).status).toBe(400);
    const missing = await get('/api/lake/qa/dataset?path=landing/nope.parquet');
    expect(missing.status).toBe(404);
    expect(missing.body.message).toMatch(/no dataset "landing\/nope.parquet" in qa/);
  });

  it('lists pipeline runs newest first with their steps; an env without runs has none', async () => {
    const { body } = await get<{ runs: RunRecord[] }>('/api/runs?env=dev&limit=5');
    const [latest, earlier] = body.runs as [RunRecord, RunRecord];
    expect(body.runs).toHaveLength(2);
    expect(latest.startedAt > earlier.startedAt).toBe(true);
    expect(latest.steps.map((s) => s.step)).toEqual(['ingest', 'transform', 'upload']);
    expect(latest).toMatchObject({ success: true, username: 'tester', env: 'dev' });
    expect((await get<{ runs: RunRecord[] }>('/api/runs?env=prod')).body.runs).toEqual([]);
    expect((await get('/api/runs?env=dev&limit=0')).status).toBe(400);
  });

  it('shows the promotion history: current version, promotions and backups, newest first', async () => {
    const { body } = await get<PromotionHistory>('/api/promotions/qa');
    expect(body.current).toMatchObject({ version: lake.versions[1], from: 'dev', files: 8 });
    expect(body.promotions.map((p) => [p.version, p.current])).toEqual([
      [lake.versions[1], true],
      [lake.versions[0], false],
    ]);
    expect(body.promotions[0]?.changed.length).toBeGreaterThan(0);
    expect(body.backups.map((b) => [b.id, b.files])).toEqual([
      [lake.backups.first, 8],
      [lake.backups.empty, 0],
    ]);
    expect(body.backups[0]?.version).toBe(lake.versions[0]);
    const prod = (await get<PromotionHistory>('/api/promotions/prod')).body;
    expect(prod).toEqual({ env: 'prod', current: null, promotions: [], backups: [] });
  });

  it('refuses a rollback without the admin scope, to an empty backup, or with a bad body: nothing changes', async () => {
    const before = await qaNow();
    const body = JSON.stringify({ backup: lake.backups.first });
    const noToken = await server.app.request('/api/promotions/qa/rollback', { method: 'POST', body });
    expect(noToken.status).toBe(401);
    const reader = await post('/api/promotions/qa/rollback', body, 'read');
    expect(reader.status).toBe(403);
    expect(reader.body.message).toMatch(/lacks the admin scope/);
    const empty = await post('/api/promotions/qa/rollback', JSON.stringify({ backup: lake.backups.empty }));
    expect(empty.status).toBe(409);
    expect(empty.body.message).toMatch(/E005: .*holds no datasets.*nothing changed/);
    const unknown = await post(
      '/api/promotions/qa/rollback',
      JSON.stringify({ backup: '20200101T000000000Z-aaaaaa' }),
    );
    expect(unknown.status).toBe(409);
    for (const bad of ['{', '{"backup": "../x"}', '{"backup": "a", "extra": 1}', '{"allowEmpty": "yes"}']) {
      const res = await post('/api/promotions/qa/rollback', bad);
      expect(res.status, bad).toBe(400);
    }
    expect((await post('/api/promotions/staging/rollback', body)).status).toBe(400);
    expect(await qaNow()).toEqual(before);
  });

  it('rolls qa back to its first version with the admin scope, keeping the replaced one as a backup', async () => {
    const before = await qaNow();
    const res = await post<{ restored: string; backupOfCurrent: string }>(
      '/api/promotions/qa/rollback',
      JSON.stringify({ backup: lake.backups.first }),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ env: 'qa', restored: lake.backups.first, files: 8 });
    const after = await qaNow();
    expect(after.version).toBe(lake.versions[0]);
    expect(after.files).not.toEqual(before.files);
    expect(after.backups).toEqual([...before.backups, res.body.backupOfCurrent].sort());
    const history = (await get<PromotionHistory>('/api/promotions/qa')).body;
    expect(history.current?.version).toBe(lake.versions[0]);
    expect(history.promotions.find((p) => p.current)?.version).toBe(lake.versions[0]);
    expect(history.backups[0]).toMatchObject({ id: res.body.backupOfCurrent, version: lake.versions[1] });
    // The lake view follows: qa's summary names the restored version.
    const envs = (await get<LakeAnswer>('/api/lake')).body.environments;
    expect(envs.find((e) => e.env === 'qa')?.version).toBe(lake.versions[0]);
  });
});

describe('dashboard lake API without a lake', () => {
  it('answers 404 saying the server has no lake', async () => {
    const server = testServer();
    try {
      const res = await server.app.request('/api/lake', { headers: auth('read') });
      expect(res.status).toBe(404);
      expect(((await res.json()) as Problem).message).toMatch(/no lake/);
    } finally {
      await server.close();
    }
  });

  it('shows a lake root that does not exist yet as empty environments', async () => {
    const dir = tempDir('dash-nolake');
    const config = Config.load({ env: {}, overrides: { lakeRoot: path.join(dir, 'no-lake-here') } });
    const server = testServer({ pipelineConfig: config });
    try {
      const res = await server.app.request('/api/lake', { headers: auth('read') });
      expect(res.status).toBe(200);
      const body = (await res.json()) as LakeAnswer;
      expect(body.environments.map((e) => e.datasets)).toEqual([0, 0, 0]);
      const runs = await server.app.request('/api/runs?env=dev', { headers: auth('read') });
      expect(((await runs.json()) as { runs: unknown[] }).runs).toEqual([]);
      const history = await server.app.request('/api/promotions/qa', { headers: auth('read') });
      expect(((await history.json()) as PromotionHistory).backups).toEqual([]);
    } finally {
      await server.close();
    }
  });
});
