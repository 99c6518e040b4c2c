/**
 * The dashboard's browser tests' tools: Debian's chromium driven by playwright-core (no browser
 * download), a watch on every page that collects console errors, page errors, failed requests and
 * HTTP error answers — the tests fail on any they did not announce — and screenshots under
 * `.test-work/screenshots/` (gitignored), also written to docs/images/ for the README when
 * `SLUICE_DOC_SCREENSHOTS=1`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { REPO_ROOT } from '../helpers/cli.ts';

export const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(REPO_ROOT, '.test-work', 'screenshots');
const DOC_IMAGES = path.join(REPO_ROOT, 'docs', 'images');

/** expect.poll with room for a loaded machine (its default gives up after 1 s). */
export function eventually<T>(probe: () => T | Promise<T>) {
  return expect.poll(probe, { timeout: 20_000, interval: 100 });
}

/** Chromium, or a failure that says how to get it (these tests never skip). */
export async function launchChromium(executable = CHROMIUM): Promise<Browser> {
  if (!existsSync(executable))
    throw new Error(
      `chromium not found at ${executable}: the dashboard's browser tests need it — apt-get install -y chromium (or set SLUICE_CHROMIUM to its path)`,
    );
  return chromium.launch({ executablePath: executable, args: ['--no-sandbox'] });
}

export interface PageWatch {
  /** Allows one HTTP error answer (and the console line Chrome writes for it) on a path. */
  expectFailure(pathPart: string, status: number): void;
  /** Everything that went wrong and was not announced. */
  problems(): string[];
}

/** Collects what goes wrong on `page`. */
export function watchPage(page: Page): PageWatch {
  const expected: { pathPart: string; status: number; seen: boolean }[] = [];
  const problems: string[] = [];
  const allowed = (url: string, status: number) => {
    const e = expected.find((x) => url.includes(x.pathPart) && x.status === status);
    if (e) e.seen = true;
    return e !== undefined;
  };
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const status = Number(/status of (\d{3})/.exec(m.text())?.[1] ?? 0);
    if (status && allowed(m.location().url, status)) return;
    problems.push(`console error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) =>
    problems.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`),
  );
  page.on('response', (r) => {
    if (r.status() >= 400 && !allowed(r.url(), r.status()))
      problems.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
  });
  return {
    expectFailure(pathPart, status) {
      expected.push({ pathPart, status, seen: false });
    },
    problems: () => [
      ...problems,
      ...expected
        .filter((e) => !e.seen)
        .map((e) => `expected HTTP ${e.status} on ${e.pathPart} did not happen`),
    ],
  };
}

/** A screenshot of the page under .test-work/screenshots/ (and docs/images/ when asked). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file });
  if (process.env.SLUICE_DOC_SCREENSHOTS === '1') {
    mkdirSync(DOC_IMAGES, { recursive: true });
    await page.screenshot({ path: path.join(DOC_IMAGES, `dashboard-${name}.png`) });
  }
  return file;
}
