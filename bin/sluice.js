#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (built by `npm run build`, which `prepare` runs on install).
// The compile cache (Node ≥ 22.1) keeps V8's compiled code of sluice and its dependencies between
// runs, which roughly halves the start-up of short commands such as a no-op sync.
import module from 'node:module';

// Checked before anything of sluice loads: on an older Node the first failure would be a stack
// about node:sqlite or a dependency's syntax, which says nothing about the cause. Keep this
// version equal to package.json "engines" (a test checks both).
const MIN_NODE = [22, 13];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
  process.stderr.write(
    `sluice needs Node ≥ ${MIN_NODE.join('.')}, this is ${process.version}; run it with \`npx sluice\` from the checkout or install Node 24\n`,
  );
  process.exit(1);
}

module.enableCompileCache?.();
await import('../dist/cli/main.js');
