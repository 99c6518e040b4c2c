// Compiles each src/**/wasm/*.wat into a TypeScript module beside it that holds the binary as
// base64 (so the package ships no .wasm files and needs no loader). `npm run build:wasm` after
// editing a .wat; test/formats/record-ends.test.ts fails when a .ts no longer matches its .wat.
// Usage: node scripts/build-wasm.mjs [--check]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import wabtInit from 'wabt';

const root = path.resolve(import.meta.dirname, '..');
const check = process.argv.includes('--check');

/** The TypeScript module for one .wat file, exactly as committed. */
export async function compiledModule(watFile) {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(path.basename(watFile), readFileSync(watFile, 'utf8'), { simd: true });
  parsed.validate();
  const { buffer } = parsed.toBinary({});
  parsed.destroy();
  const name = path.basename(watFile, '.wat');
  const base64 = Buffer.from(buffer).toString('base64');
  const lines = base64.match(/.{1,100}/g).map((l) => `  '${l}',`);
  return [
    `// Generated from ${name}.wat by scripts/build-wasm.mjs (npm run build:wasm); do not edit.`,
    'export const WASM_BASE64 = [',
    ...lines,
    "].join('');",
    '',
  ].join('\n');
}

function watFiles(dir) {
  return readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith('.wat') && f.split(path.sep).includes('wasm'))
    .map((f) => path.join(dir, f));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let stale = 0;
  for (const wat of watFiles(path.join(root, 'src'))) {
    const out = wat.replace(/\.wat$/, '.ts');
    const text = await compiledModule(wat);
    let current = '';
    try {
      current = readFileSync(out, 'utf8');
    } catch {}
    if (current === text) continue;
    if (check) {
      console.error(
        `${path.relative(root, out)} does not match ${path.basename(wat)}: run npm run build:wasm`,
      );
      stale++;
    } else {
      writeFileSync(out, text);
      console.log(`wrote ${path.relative(root, out)}`);
    }
  }
  process.exit(stale > 0 ? 1 : 0);
}
