/**
 * The dashboard in chromium against a lake on S3 (the run's s3rver): the lake view shows the
 * datasets, a preview staged from S3 and a dataset's lineage re-hashed on S3, and a rollback from
 * the promotions view publishes the backup on S3. Any console error, page error, failed request or unannounced HTTP error fails it.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DataPromoter } from '../../src/pipeline/index.ts';
import { eventually, launchChromium, type PageWatch, screenshot, watchPage } from './browser.ts';
import { TOKENS, testSocketServer } from './helpers.ts';
import { type DemoLake, demoLake } from './lake-fixture.ts';

let browser: Browser;
let lake: DemoLake;
let server: Awaited<ReturnType<typeof testSocketServer>>;
let context: BrowserContext | undefined;
let watch: PageWatch | undefined;

async function signedIn(): Promise<Page> {
  context = await browser.newContext({ viewport: { width: 1200, height: 760 } });
  const page = await context.newPage();
  watch = watchPage(page);
  await page.goto(server.url);
  await page.fill('#token', TOKENS.admin);
  await page.click('button[type=submit]');
  await page.waitForSelector('header nav');
  return page;
}

beforeAll(async () => {
  browser = await launchChromium();
  lake = await demoLake('s3', 'dash-browser-s3');
  server = await testSocketServer({ pipelineConfig: lake.config });
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
  await server?.stop();
});

describe('the browser tests’ chromium', () => {
  it('is a failure that says how to install it when missing, not a skip', async () => {
    await expect(launchChromium('/nonexistent/chromium')).rejects.toThrow(
      /chromium not found at \/nonexistent\/chromium: .*apt-get install -y chromium/,
    );
  });
});

describe('the dashboard on a lake on S3', () => {
  it('lake: the datasets of qa and a preview read from S3', async () => {
    const page = await signedIn();
    await page.click('button[data-env=qa]');
    await page.click('text=landing/wdi/WDI_DATA.parquet');
    const section = page.locator('section[data-dataset="landing/wdi/WDI_DATA.parquet"]');
    await eventually(() => section.locator('.scroll tbody tr').count()).toBe(50);
    expect(await page.textContent('[data-testid=lake-view] h2')).toContain(`s3://`);
    await screenshot(page, 's3-lake');
  });

  it('lineage: a qa dataset on S3 traced to its SQL model and raw CSV, each lake file re-hashed', async () => {
    const page = await signedIn();
    await page.click('button[data-env=qa]');
    await page.click('text=staging/wdi_indicators.parquet');
    const section = page.locator('section[data-dataset="staging/wdi_indicators.parquet"]');
    await section.locator('[data-testid=lineage-toggle]').click();
    const tree = section.locator('[data-testid=lineage-tree]');
    await tree.waitFor();
    expect(await tree.locator('li[data-lineage-node="dev/landing/wdi/WDI_DATA.parquet"]').count()).toBe(1);
    expect(await tree.locator('li[data-kind=model]', { hasText: 'wdi_indicators.sql' }).count()).toBe(1);
    expect(await tree.locator('li', { hasText: 'raw/wdi/WDI_DATA.csv' }).count()).toBeGreaterThan(0);
    expect(await tree.locator('[data-mark]').count()).toBe(0);
    expect(await section.textContent()).toMatch(/lake files of this chain\s+re-hashed/);
  });

  it('promotions: rolling qa back publishes the backup on S3', async () => {
    const page = await signedIn();
    await page.goto(`${server.url}/#/promotions`);
    await page.click(`button[data-backup="${lake.backups.first}"]`);
    await page.click('.dialog button.danger');
    await eventually(() => page.textContent('[data-testid=current-version]')).toContain(lake.versions[0]);
    const manifest = await new DataPromoter(lake.config).lake.readManifest('qa');
    expect(manifest?.version).toBe(lake.versions[0]);
  });
});
