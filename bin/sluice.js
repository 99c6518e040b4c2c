#!/usr/bin/env node
// Thin launcher: the CLI lives in dist/ (built by `npm run build`, which `prepare` runs on install).
import '../dist/cli/main.js';
