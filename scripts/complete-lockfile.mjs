#!/usr/bin/env node
// The npm registry mirror on our build machines serves only the Linux builds of
// platform-specific optional packages (@biomejs/cli-darwin-*, @duckdb/node-bindings-win32-*, …).
// `npm install` then writes a lock file without entries for the others, and `npm ci` refuses
// it as "out of sync". This script adds an inert entry (version, os, cpu, optional) for every
// optional platform package that a locked package declares but the lock lacks, so `npm ci`
// accepts the lock and skips those packages on Linux exactly as it would with a full lock.
// Run it after every `npm install` that changes dependencies: `node scripts/complete-lockfile.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;

const OS_WORDS = ['android', 'darwin', 'win32', 'linux', 'freebsd', 'openbsd', 'sunos', 'aix'];
const CPU_WORDS = ['arm64', 'x64', 'arm', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64'];

function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const os = parts.find((p) => OS_WORDS.includes(p));
  const cpu = parts.find((p) => CPU_WORDS.includes(p));
  if (!os || !cpu) return undefined;
  const entry = { os: [os], cpu: [cpu] };
  if (os === 'linux') entry.libc = [parts.includes('musl') ? 'musl' : 'glibc'];
  return entry;
}

let added = 0;
for (const [path, pkg] of Object.entries(packages)) {
  for (const [dep, range] of Object.entries(pkg.optionalDependencies ?? {})) {
    const depPath = `node_modules/${dep}`;
    const nested = `${path}/node_modules/${dep}`;
    if (packages[depPath] || packages[nested]) continue;
    const platform = platformOf(dep);
    if (!platform) {
      console.error(
        `complete-lockfile: ${dep} (optional dependency of ${path}) is missing and is not a platform package; run npm install`,
      );
      process.exitCode = 1;
      continue;
    }
    const version = range.replace(/^[\^~=]/, '');
    packages[depPath] = { version, ...platform, optional: true, ...(pkg.dev ? { dev: true } : {}) };
    added += 1;
  }
}
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} inert platform entries`);
