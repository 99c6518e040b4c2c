import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');

function sourceFiles(): string[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(SRC, path.join(e.parentPath, e.name)).split(path.sep).join('/'));
}

/**
 * Runtime imports of a file, resolved to src-relative paths. `import type` is erased at build
 * time, so it cannot form a load-order cycle and is left out.
 */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(SRC, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(
    /(?:import|export)\s(?!type\s)[^'";]*?from\s+'(\.[^']+)'|import\('(\.[^']+)'\)/g,
  )) {
    const spec = m[1] ?? m[2];
    if (spec) out.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)));
  }
  return out;
}

const files = sourceFiles();
const graph = new Map(files.map((f) => [f, importsOf(f)]));
/** A module is a folder of src/ (`storage`) or a file at its top (`errors.ts` → `errors`). */
const moduleOf = (f: string) => (f.includes('/') ? (f.split('/')[0] as string) : f.replace(/\.ts$/, ''));

/**
 * The layers, lowest first (docs/architecture.md draws them). A module imports only modules of
 * its own layer or below, and modules never form a circle among themselves.
 */
const LAYERS: string[][] = [
  ['secrets', 'errors', 'os-errors', 'version'],
  ['util', 'logging', 'metrics', 'engine', 'charts', 'crypto', 'backends', 'config'],
  ['storage', 'queue', 'lineage'],
  ['formats', 'sync', 'timeseries'],
  ['ingest', 'pipeline', 'writer', 'poller'],
  ['jobs'],
  ['cli', 'server', 'index'],
];
const layerOf = (m: string) => LAYERS.findIndex((l) => l.includes(m));
const modules = [...new Set(files.map(moduleOf))];
const moduleGraph = new Map<string, Set<string>>(modules.map((m) => [m, new Set()]));
for (const [file, deps] of graph)
  for (const dep of deps)
    if (moduleOf(dep) !== moduleOf(file)) moduleGraph.get(moduleOf(file))?.add(moduleOf(dep));

describe('architecture (BRIEF layering rules)', () => {
  it('every relative import resolves to a file', () => {
    for (const [file, deps] of graph)
      for (const dep of deps) expect(files, `${file} imports ${dep}`).toContain(dep);
  });

  it('has no import cycles', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (f: string, trail: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(f)), f].join(' → '));
        return;
      }
      state.set(f, 'visiting');
      for (const dep of graph.get(f) ?? []) visit(dep, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('every module has a layer', () => {
    expect(modules.filter((m) => layerOf(m) < 0)).toEqual([]);
  });

  it('modules import only their own layer or the layers below', () => {
    const upward: string[] = [];
    for (const [file, deps] of graph)
      for (const dep of deps)
        if (layerOf(moduleOf(dep)) > layerOf(moduleOf(file))) upward.push(`${file} imports ${dep}`);
    expect(upward).toEqual([]);
  });

  it('has no circles between modules', () => {
    const cycles: string[] = [];
    for (const [m, deps] of moduleGraph) {
      const seen = new Set<string>();
      const stack = [...deps];
      while (stack.length) {
        const next = stack.pop() as string;
        if (next === m) cycles.push(m);
        if (seen.has(next)) continue;
        seen.add(next);
        stack.push(...(moduleGraph.get(next) ?? []));
      }
    }
    expect(cycles).toEqual([]);
  });

  it("drivers are reached only through their module (storage/open.ts, queue/open.ts), never a sibling's internals", () => {
    for (const [file, deps] of graph)
      for (const dep of deps) {
        if (!dep.includes('/drivers/')) continue;
        expect(moduleOf(dep), `${file} imports ${dep}`).toBe(moduleOf(file));
      }
  });

  it('jobs/ is the only module that joins the queue and the time-series store', () => {
    const joiners = [...moduleGraph]
      .filter(([m, deps]) => deps.has('queue') && deps.has('timeseries') && layerOf(m) < layerOf('jobs'))
      .map(([m]) => m);
    expect(joiners).toEqual([]);
    // …and the queue itself knows no application code.
    for (const dep of moduleGraph.get('queue') ?? [])
      expect(layerOf(dep), `queue imports ${dep}`).toBeLessThanOrEqual(layerOf('queue'));
  });

  it('SQLite and Redis are opened only in backends/', () => {
    for (const file of files) {
      const text = readFileSync(path.join(SRC, file), 'utf8');
      if (file.startsWith('backends/')) continue;
      expect(/new DatabaseSync\(/.test(text), `${file} opens SQLite itself`).toBe(false);
      expect(
        /new (?:Redis|IORedis)\(|require\('ioredis'\)/.test(text),
        `${file} connects to Redis itself`,
      ).toBe(false);
    }
  });

  it('every module is in docs/architecture.md and the README module list', () => {
    const doc = readFileSync(path.join(SRC, '../docs/architecture.md'), 'utf8');
    const readme = readFileSync(path.join(SRC, '../README.md'), 'utf8');
    for (const m of modules.filter((x) => x !== 'index' && x !== 'version' && x !== 'os-errors')) {
      const name = files.some((f) => f.startsWith(`${m}/`)) ? `${m}/` : `${m}.ts`;
      expect(doc, `docs/architecture.md names ${name}`).toContain(`\`${name}\``);
      expect(readme, `README names ${name}`).toContain(`\`${name}\``);
    }
  });

  it('every subpath export is a module index that exists', () => {
    const pkg = JSON.parse(readFileSync(path.join(SRC, '../package.json'), 'utf8')) as {
      exports: Record<string, string | { default: string }>;
    };
    for (const [sub, entry] of Object.entries(pkg.exports)) {
      if (typeof entry === 'string') continue;
      const source = entry.default.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts');
      expect(files, `${sub} → src/${source}`).toContain(source);
    }
  });

  it('nothing below cli/ and server/ imports them', () => {
    for (const [file, deps] of graph) {
      if (['cli', 'server'].includes(moduleOf(file)) || file === 'index.ts') continue;
      for (const dep of deps)
        expect(['cli', 'server'], `${file} imports ${dep}`).not.toContain(moduleOf(dep));
    }
  });

  it('drivers never import each other', () => {
    // A driver is a file or a folder right under some `drivers/`: `storage/drivers/s3/` holds its own helpers.
    const driverOf = (f: string) => /^(.*\/drivers\/[^/.]+)/.exec(f)?.[1];
    for (const [file, deps] of graph) {
      const own = driverOf(file);
      if (!own) continue;
      for (const dep of deps) {
        const other = driverOf(dep);
        expect(other === undefined || other === own, `${file} imports ${dep}`).toBe(true);
      }
    }
  });

  it('only engine/ imports DuckDB at runtime; only storage drivers import the AWS SDK', () => {
    for (const file of files) {
      const text = readFileSync(path.join(SRC, file), 'utf8');
      const runtimeDuck =
        /^import\s+(?!type\b)[^;]*'@duckdb\/node-api'|(?:import|require)\('@duckdb\/node-api'\)/m.test(text);
      if (runtimeDuck) expect(file.startsWith('engine/'), `${file} imports @duckdb/node-api`).toBe(true);
      const runtimeAws = /^import\s+(?!type\b)[^;]*'@aws-sdk\/|(?:import|require)\('@aws-sdk\//m.test(text);
      if (runtimeAws) expect(file.startsWith('storage/drivers/'), `${file} imports the AWS SDK`).toBe(true);
    }
  });

  it('keeps files small (≤ 400 lines)', () => {
    const long = files.filter((f) => readFileSync(path.join(SRC, f), 'utf8').split('\n').length > 400);
    expect(long).toEqual([]);
  });

  it('tests take fast-check through test/helpers/fc.ts (a failure found late is reported, not timed out)', () => {
    const TEST = path.resolve(import.meta.dirname);
    const direct = readdirSync(TEST, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && f !== path.join('helpers', 'fc.ts') && f !== 'architecture.test.ts')
      .filter((f) => /from 'fast-check'/.test(readFileSync(path.join(TEST, f), 'utf8')));
    expect(direct).toEqual([]);
  });
});
