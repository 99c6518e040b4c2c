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
const moduleOf = (f: string) => f.split('/')[0] ?? f;

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
});
