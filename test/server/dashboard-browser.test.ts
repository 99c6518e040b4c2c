/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against `sluice
 * serve --demo` run where `sluice demo` left its project, with qa promoted twice so it has a
 * version to roll back to. Every view is loaded; a wrong token (401) and a read token trying a
 * rollback (403) are shown as such; a dead-lettered job is retried, qa is rolled back after the
 * confirmation, and a zoom on the chart asks the server again. Any console error, page error,
 * failed request or HTTP error the test did not announce fails it. Screenshots go to
 * .test-work/screenshots/ (SLUICE_DOC_SCREENSHOTS=1: also docs/images/ for the README).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Config } from '../../src/config/config.ts';
import { DataPromoter, Pipeline } from '../../src/pipeline/index.ts';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { eventually, launchChromium, type PageWatch, screenshot, watchPage } from './browser.ts';

const READ = 'browser-read-token-0123456789';
const ADMIN = 'browser-admin-token-0123456789';

let browser: Browser;
let serve: ChildProcess | undefined;
let url = '';
let serveErr = '';
let context: BrowserContext | undefined;
let watch: PageWatch | undefined;
/** qa's versions and the backup that holds the first one. */
const qa = { first: '', second: '', firstBackup: '' };

async function api<T>(route: string, token = ADMIN): Promise<T> {
  const res = await fetch(`${url}${route}`, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; serve said:\n${serveErr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A fresh page (own context: no token kept from another test) signed in with `token`. */
async function signedIn(token: string | undefined): Promise<Page> {
  context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
  const page = await context.newPage();
  watch = watchPage(page);
  await page.goto(url);
  if (token) {
    await page.fill('#token', token);
    await page.click('button[type=submit]');
    await page.waitForSelector('header nav');
  }
  return page;
}

beforeAll(async () => {
  browser = await launchChromium();
  const root = tempDir('dash-browser');
  const made = await runSluice(['demo'], { cwd: root });
  expect(made.code, made.stderr).toBe(0);
  // A second version of qa, so that the backup taken before it holds the first.
  const config = Config.load({ file: path.join(root, 'sluice-demo', 'sluice.config.yaml') });
  const promoter = new DataPromoter(config);
  qa.first = (await promoter.lake.readManifest('qa'))?.version ?? '';
  appendFileSync(path.join(root, 'sluice-demo/data/raw/sdg/SDG_DATA.csv'), 'SDG_900,KEN,2023,1.5\n');
  expect(await new Pipeline(config).run('full')).toBe(true);
  qa.second = (await promoter.promote('dev', 'qa')).version ?? '';
  qa.firstBackup = (await promoter.listBackups('qa')).at(-1) ?? '';
  // A schedule the runs view lists (it fires on New Year only: no run of it joins the history).
  appendFileSync(
    path.join(root, 'sluice-demo/sluice.config.yaml'),
    'serve:\n  schedules:\n    - { name: new-year, cron: "0 0 1 1 *", run: { mode: ingest } }\n',
  );

  serve = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--demo', '--port', '0'],
    {
      cwd: root,
      env: { ...process.env, SLUICE_API_TOKENS: `read:${READ},admin:${ADMIN}`, SLUICE_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  serve.stderr?.on('data', (d) => {
    serveErr += d;
  });
  url = await until(
    'sluice serve --demo to listen',
    async () => /dashboard on (http:\/\/\S+\/)/.exec(serveErr)?.[1],
  );
  url = url.replace(/\/$/, '');
  // The demo's poller and worker: one job dead-lettered, one object failed.
  await until('a dead-lettered job', async () =>
    (await api<{ jobs: unknown[] }>('/api/queues/sluice/dead')).jobs.length === 1 ? true : undefined,
  );
  await until('a failed object', async () =>
    (await api<{ total: number }>('/api/pollers/poller-1/failed')).total === 1 ? true : undefined,
  );
}, 180_000);

afterEach(async () => {
  const problems = watch?.problems() ?? [];
  watch = undefined;
  await context?.close();
  context = undefined;
  expect(problems).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  if (serve && serve.exitCode === null) {
    const ended = new Promise((resolve) => serve?.on('close', resolve));
    serve.kill('SIGTERM');
    await ended;
  }
});

describe('the dashboard in chromium, served by sluice serve --demo', () => {
  it('refuses a wrong token with the 401 the server gave, then signs in with a read token kept for the tab only', async () => {
    const page = await signedIn(undefined);
    watch?.expectFailure('/api/whoami', 401);
    await page.fill('#token', 'not-a-token-of-this-server');
    await page.click('button[type=submit]');
    await eventually(() => page.textContent('.signin [role=alert]')).toMatch(/refused this token \(401\)/);
    await page.fill('#token', READ);
    await page.click('button[type=submit]');
    await eventually(() => page.textContent('header .who')).toMatch(/read#1 \(read\)/);
    // Let the lake view's requests finish: a reload would abort them (a failed request).
    await page.locator('[data-testid=lake-view] table').waitFor();
    await page.waitForLoadState('networkidle');
    // sessionStorage, not a cookie; and the token is nowhere in the page.
    expect(await context?.cookies()).toEqual([]);
    expect(await page.evaluate(() => sessionStorage.getItem('sluice.token'))).toBe(READ);
    expect(await page.content()).not.toContain(READ);
    await page.reload();
    await eventually(() => page.textContent('header .who')).toMatch(/read#1/);
    await page.locator('[data-testid=lake-view] .card').first().waitFor();
  });

  it('lake: environments, datasets, then a dataset’s schema and first 50 rows', async () => {
    const page = await signedIn(READ);
    await page.goto(`${url}/#/lake`);
    await page.click('button[data-env=qa]');
    await page.click('text=staging/country_year_summary.parquet');
    const section = page.locator('section[data-dataset="staging/country_year_summary.parquet"]');
    await section.waitFor();
    await eventually(() => section.locator('.scroll tbody tr').count()).toBe(50);
    expect(await section.locator('.split > div:first-child tbody tr').count()).toBe(5);
    expect(await section.textContent()).toMatch(/Indicator count and mean value per country/);
    await screenshot(page, 'lake');
  });

  it('runs: each run with its steps', async () => {
    const page = await signedIn(READ);
    await page.goto(`${url}/#/runs`);
    const steps = page.locator('.steps');
    await steps.waitFor();
    expect(await page.locator('[data-testid=runs-view] > div > table tbody tr').count()).toBe(2);
    expect(await steps.locator('tbody tr td:first-child').allTextContents()).toEqual([
      'ingest',
      'transform',
      'upload',
    ]);
    const schedule = page.locator('[data-testid=schedules] tbody tr');
    await schedule.waitFor();
    expect(await schedule.locator('td').allTextContents()).toEqual([
      'new-year',
      '0 0 1 1 * UTC',
      'ingest · dev',
      `${new Date().getUTCFullYear() + 1}-01-01 00:00:00 UTC`,
      '—',
      '0 / 0 / 0',
    ]);
    await screenshot(page, 'runs');
    const earlier = page.locator('[data-testid=runs-view] > div > table tbody tr').nth(1);
    const id = (await earlier.locator('td').first().textContent())?.trim();
    await earlier.click();
    await eventually(() => steps.getAttribute('data-run')).toBe(id);
  });

  it('promotions: a read token’s rollback is refused, shown as 403, and nothing changes', async () => {
    const page = await signedIn(READ);
    watch?.expectFailure('/api/promotions/qa/rollback', 403);
    await page.goto(`${url}/#/promotions`);
    await page.click(`button[data-backup="${qa.firstBackup}"]`);
    await page.click('.dialog button.danger');
    await expect
      .poll(() => page.textContent('.dialog [role=alert]'))
      .toMatch(/Not allowed \(403\):.*admin scope/);
    expect((await api<{ current: { version: string } }>('/api/promotions/qa')).current.version).toBe(
      qa.second,
    );
  });

  it('promotions: an admin rolls qa back to its first version after confirming', async () => {
    const page = await signedIn(ADMIN);
    await page.goto(`${url}/#/promotions`);
    await page.locator('[data-testid=current-version]').waitFor();
    await screenshot(page, 'promotions');
    await page.click(`button[data-backup="${qa.firstBackup}"]`);
    await eventually(() => page.textContent('.dialog')).toContain(qa.first);
    await page.click('.dialog button.danger');
    await eventually(() => page.textContent('[data-testid=rollback-done]')).toContain(qa.firstBackup);
    await eventually(() => page.textContent('[data-testid=current-version]')).toContain(qa.first);
    expect((await api<{ current: { version: string } }>('/api/promotions/qa')).current.version).toBe(
      qa.first,
    );
  });

  it('pollers & queues: the failed object and the dead job with its error; Retry sends it back', async () => {
    const page = await signedIn(ADMIN);
    await page.goto(`${url}/#/queues`);
    const failed = page.locator('[data-testid=failed-objects]');
    await eventually(() => failed.textContent()).toMatch(/truncated\.json.*E021/);
    const dead = page.locator('[data-testid=dead-sluice]');
    await eventually(() => dead.textContent()).toMatch(/invalid ingest_and_score_signal payload, value/);
    await screenshot(page, 'queues');
    const job = (await dead.locator('button[data-retry]').first().getAttribute('data-retry')) as string;
    const answer = page.waitForResponse((r) => r.url().endsWith('/api/queues/sluice/retry'));
    await dead.locator(`button[data-retry="${job}"]`).click();
    const res = await answer;
    expect(res.status()).toBe(200);
    expect(await res.json()).toEqual({ queue: 'sluice', retried: 1 });
    expect(JSON.parse(res.request().postData() ?? '')).toEqual({ ids: [job] });
    await eventually(() => dead.textContent()).toContain('1 job moved back to waiting.');
  });

  it('time series: the chart draws server buckets, and a zoom asks the server again at a finer width', async () => {
    const page = await signedIn(READ);
    const queries: string[] = [];
    page.on('request', (r) => {
      if (r.url().includes('/series?')) queries.push(r.url());
    });
    await page.goto(`${url}/#/explorer`);
    const info = page.locator('[data-testid=series-info]');
    await page.locator('[data-testid=chart] canvas').waitFor();
    const before = Number(await info.getAttribute('data-every'));
    expect(before).toBe(300_000);
    await screenshot(page, 'explorer');
    const asked = queries.length;
    const box = await page.locator('[data-testid=chart] .u-over').boundingBox();
    if (!box) throw new Error('no chart area');
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.45, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await eventually(async () => Number(await info.getAttribute('data-every'))).toBeLessThan(before);
    expect(queries.length).toBe(asked + 1);
    const zoomed = new URL(queries.at(-1) as string);
    const span = Number(zoomed.searchParams.get('to')) - Number(zoomed.searchParams.get('from'));
    expect(span).toBeLessThan(3 * 86_400_000 * 0.1);
    expect(await page.locator('button:has-text("Reset zoom")').isEnabled()).toBe(true);
  });
});
