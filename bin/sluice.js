#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (built by `npm run build`, which `prepare` runs on install).
// The compile cache (Node ≥ 22.1) keeps V8's compiled code of sluice and its dependencies between
// runs, which roughly halves the start-up of short commands such as a no-op sync.
import module from 'node:module';

module.enableCompileCache?.();
await import('../dist/cli/main.js');
