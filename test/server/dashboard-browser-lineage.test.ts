/**
 * The lake view's Lineage panel in chromium (playwright-core), against `sluice serve --demo` run
 * where `sluice demo` left its project: a qa summary dataset's chain reaches the SQL model and the
 * raw CSV; the downstream toggle shows what a landing file fed; a staging file edited outside
 * sluice is marked as changed. Any console error, page error, failed request or HTTP error fails
 * it. The screenshot goes to .test-work/screenshots/ (SLUICE_DOC_SCREENSHOTS=1: docs/images/).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { eventually, launchChromium, type PageWatch, screenshot, watchPage } from './browser.ts';

const READ = 'lineage-read-token-0123456789';

let browser: Browser;
let serve: ChildProcess | undefined;
let url = '';
let serveErr = '';
let demo = '';
let context: BrowserContext | undefined;
let watch: PageWatch | undefined;

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; serve said:\n${serveErr}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A fresh page signed in with the read token, showing `env`'s dataset `file` with its lineage open. */
async function lineageOf(env: string, file: string) {
  context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page: Page = await context.newPage();
  watch = watchPage(page);
  await page.goto(url);
  await page.fill('#token', READ);
  await page.click('button[type=submit]');
  await page.waitForSelector('header nav');
  await page.goto(`${url}/#/lake`);
  await page.click(`button[data-env=${env}]`);
  await page.click(`text=${file}`);
  const section = page.locator(`section[data-dataset="${file}"]`);
  await section.locator('[data-testid=lineage-toggle]').click();
  const panel = section.locator('[data-testid=lineage]');
  await panel.locator('[data-testid=lineage-tree]').waitFor();
  return { page, panel };
}

beforeAll(async () => {
  browser = await launchChromium();
  const root = tempDir('dash-lineage');
  const made = await runSluice(['demo'], { cwd: root });
  expect(made.code, made.stderr).toBe(0);
  demo = path.join(root, 'sluice-demo');
  serve = spawn(
    process.execPath,
    [path.join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '--demo', '--port', '0'],
    {
      cwd: root,
      env: { ...process.env, SLUICE_API_TOKENS: `read:${READ}`, SLUICE_LOG_LEVEL: 'warn' },
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

describe('the Lineage panel of the lake view, served by sluice serve --demo', () => {
  it('traces a qa summary dataset to its SQL model and the raw CSV; downstream it fed nothing yet', async () => {
    const { page, panel } = await lineageOf('qa', 'staging/country_year_summary.parquet');
    const root = panel.locator('[data-lineage-node="qa/staging/country_year_summary.parquet"]').first();
    expect(await root.locator('> .lnode').textContent()).toMatch(
      /pipeline\.materialize.*[0-9a-f]{12}….*rows/,
    );
    const model = panel.locator('li[data-kind=model]', { hasText: 'country_year_summary.sql' });
    expect(await model.locator('> .lnode').textContent()).toMatch(/SQL model\s*[0-9a-f]{12}…/);
    const csv = panel.locator('li', { hasText: 'raw/sdg/SDG_DATA.csv' }).last();
    expect(await csv.locator('> .lnode').textContent()).toMatch(/raw input/);
    expect(
      await panel.locator('li[data-lineage-node="dev/landing/sdg/SDG_DATA.parquet"]').count(),
    ).toBeGreaterThan(0);
    // Every lake file of the chain was re-hashed and matches its record: nothing is marked.
    expect(await panel.locator('[data-mark]').count()).toBe(0);
    expect(await panel.textContent()).toMatch(/lake files of this chain\s+re-hashed/);
    await panel.scrollIntoViewIfNeeded();
    await screenshot(page, 'lineage');
    await panel.locator('button[role=tab]', { hasText: 'Downstream' }).click();
    await eventually(() => panel.getAttribute('data-direction')).toBe('down');
    await eventually(() => panel.textContent()).toMatch(/Nothing recorded was built from this file/);
  });

  it('shows downstream what a landing file fed, and marks a staging file edited outside sluice', async () => {
    const { panel } = await lineageOf('dev', 'landing/sdg/SDG_DATA.parquet');
    await panel.locator('button[role=tab]', { hasText: 'Downstream' }).click();
    await eventually(() =>
      panel.locator('li[data-lineage-node="qa/staging/country_year_summary.parquet"]').count(),
    ).toBeGreaterThan(0);
    await context?.close();
    context = undefined;

    const file = path.join(demo, 'lake/dev/staging/country_year_summary.parquet');
    const original = readFileSync(file);
    const edited = Buffer.from(original);
    edited[100] = (edited[100] as number) ^ 0xff;
    writeFileSync(file, edited);
    try {
      const { panel: qa } = await lineageOf('qa', 'staging/country_year_summary.parquet');
      const marked = qa.locator('[data-check=changed]');
      expect(await marked.count()).toBe(1);
      expect(await marked.getAttribute('data-lineage-node')).toBe('dev/staging/country_year_summary.parquet');
      expect(await marked.locator('> .lnode [data-mark]').textContent()).toBe('bytes changed');
    } finally {
      writeFileSync(file, original);
    }
  });
});
