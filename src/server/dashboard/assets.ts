/**
 * The dashboard's files, served by the API's own process (no build step, no other server): the
 * page at `/`, its ES modules and stylesheet from `ui/` beside this file, and Preact, htm and uPlot
 * from node_modules under `/vendor/`. Only the files listed here are served — a request names a
 * file of a fixed list, never a path — and the page carries a Content-Security-Policy that allows
 * scripts from this origin (plus the hash of its one inline import map) and requests to this
 * origin only. The page needs no token; every API call it makes does.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import { ConfigurationError } from '../../errors.ts';
import type { ServerEnv } from '../types.ts';

/**
 * The page's own files: `ui/` beside this module (`npm run build` copies them into dist/, which
 * tsc fills with compiled .ts only), or the checkout's src/server/dashboard/ui/ for a dist/ built
 * by tsc alone.
 */
const UI_DIR =
  [new URL('./ui/', import.meta.url), new URL('../../../src/server/dashboard/ui/', import.meta.url)].find(
    (dir) => existsSync(new URL('app.js', dir)),
  ) ?? new URL('./ui/', import.meta.url);

/** The dashboard's own files (ui/). */
export const UI_FILES = [
  'app.js',
  'api.js',
  'html.js',
  'format.js',
  'widgets.js',
  'lake.js',
  'lineage.js',
  'runs.js',
  'promotions.js',
  'queues.js',
  'explorer.js',
  'chart.js',
  'style.css',
] as const;

/** Third-party modules, by the name the page asks for and the module specifier that resolves it. */
const VENDOR: Record<string, string> = {
  'preact.mjs': 'preact',
  'preact-hooks.mjs': 'preact/hooks',
  'htm.mjs': 'htm',
  'uplot.mjs': 'uplot/dist/uPlot.esm.js',
  'uplot.css': 'uplot/dist/uPlot.min.css',
};

const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: './vendor/preact.mjs',
    'preact/hooks': './vendor/preact-hooks.mjs',
    htm: './vendor/htm.mjs',
    uplot: './vendor/uplot.mjs',
  },
});

const CONTENT_TYPE: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};

/** Relative URLs throughout, so the dashboard also works behind a proxy under a path prefix. */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>sluice</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="./vendor/uplot.css">
<link rel="stylesheet" href="./ui/style.css">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="./ui/app.js"></script>
</head>
<body><div id="app"><p class="boot">Loading the sluice dashboard…</p></div></body>
</html>
`;

const CSP = [
  "default-src 'none'",
  `script-src 'self' 'sha256-${createHash('sha256').update(IMPORT_MAP).digest('base64')}'`,
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

/** Vendor files, read once on first request (the set is small and fixed). */
const cache = new Map<string, Buffer>();

function read(file: URL | string): Buffer {
  const key = String(file);
  let bytes = cache.get(key);
  if (!bytes) {
    bytes = readFileSync(typeof file === 'string' ? file : fileURLToPath(file));
    cache.set(key, bytes);
  }
  return bytes;
}

/** A vendor module without its source-map comment: the maps are not served. */
function vendorBytes(name: string): Buffer {
  const bytes = read(vendorFile(name));
  if (!name.endsWith('.mjs')) return bytes;
  const text = bytes.toString('utf8').replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n');
  return Buffer.from(text);
}

function vendorFile(name: string): string {
  return fileURLToPath(import.meta.resolve(VENDOR[name] as string));
}

/** Fails at start-up, naming the file, when a dashboard file is missing (a broken install or build). */
export function checkDashboardFiles(): void {
  const files = [
    ...UI_FILES.map((f) => () => readFileSync(new URL(f, UI_DIR))),
    ...Object.keys(VENDOR).map((name) => () => read(vendorFile(name))),
  ];
  for (const readOne of files) {
    try {
      readOne();
    } catch (error) {
      throw new ConfigurationError(
        `The dashboard cannot be served: ${(error as Error).message} (a broken install or build); serve.dashboard: false serves the API without it`,
        { cause: error },
      );
    }
  }
}

export function dashboardRoutes(): Hono<ServerEnv> {
  const app = new Hono<ServerEnv>();
  const page = () =>
    new Response(PAGE, {
      headers: {
        ...SECURITY_HEADERS,
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-cache',
      },
    });

  app.get('/', page);
  app.get('/index.html', page);

  // Read on each request (they are small): an edited file shows on reload, no restart needed.
  app.get('/ui/:file', async (c) => {
    const file = c.req.param('file');
    if (!(UI_FILES as readonly string[]).includes(file)) return c.notFound();
    const type = CONTENT_TYPE[file.split('.').pop() as string] as string;
    return c.body(new Uint8Array(await readFile(new URL(file, UI_DIR))), 200, {
      ...SECURITY_HEADERS,
      'Content-Type': type,
      'Cache-Control': 'no-cache',
    });
  });

  app.get('/vendor/:file', (c) => {
    const file = c.req.param('file');
    if (!Object.hasOwn(VENDOR, file)) return c.notFound();
    const type = CONTENT_TYPE[file.split('.').pop() as string] as string;
    return c.body(new Uint8Array(vendorBytes(file)), 200, {
      ...SECURITY_HEADERS,
      'Content-Type': type,
      'Cache-Control': 'public, max-age=3600',
    });
  });

  return app;
}
