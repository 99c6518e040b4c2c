import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
};

/** `sluice/x` → the src file its `exports` entry is built from (dist/x/index.js ← src/x/index.ts). */
function sourceOf(specifier: string): string | undefined {
  const entry = pkg.exports[specifier === 'sluice' ? '.' : `./${specifier.slice('sluice/'.length)}`];
  if (!entry || typeof entry === 'string') return undefined;
  return path.join(ROOT, entry.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
}

/** Every `import { … } from 'sluice…'` in the TypeScript/JavaScript blocks of README.md and docs/. */
function documentedImports(): { doc: string; names: string[]; from: string }[] {
  const docs = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).map((f) => `docs/${f}`)];
  const out: { doc: string; names: string[]; from: string }[] = [];
  for (const doc of docs.filter((d) => d.endsWith('.md'))) {
    const text = readFileSync(path.join(ROOT, doc), 'utf8');
    for (const block of text.matchAll(/```(?:ts|typescript|js|javascript)\n([\s\S]*?)```/g)) {
      for (const m of (block[1] ?? '').matchAll(/import\s*\{([^}]*)\}\s*from\s*'(sluice(?:\/[a-z]+)?)'/g)) {
        const names = (m[1] ?? '')
          .split(',')
          .map((n) => n.trim().replace(/^type\s+/, ''))
          .filter(Boolean);
        out.push({ doc, names, from: m[2] as string });
      }
    }
  }
  return out;
}

describe('the docs import what the package exports', () => {
  const imports = documentedImports();

  it('finds the documented imports', () => {
    expect(imports.length).toBeGreaterThan(8);
  });

  it.each(imports.map((i) => [`${i.doc}: ${i.from}`, i] as const))('%s', async (_, { names, from }) => {
    const source = sourceOf(from);
    expect(source, `${from} is not in package.json "exports"`).toBeDefined();
    const runtime = (await import(source as string)) as Record<string, unknown>;
    for (const name of names) expect(Object.keys(runtime), `${from} exports ${name}`).toContain(name);
  });
});
