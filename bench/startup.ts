/**
 * Start-up cost: how long a program waits before sluice can do anything. Each case is a fresh
 * `node` process, timed from spawn to exit; the peer is `node -e 0` (Node's own start-up), run in
 * the same alternating rounds. Cases run the built package (`dist/`, as users get it through
 * `exports`), so the bench builds first (`--no-build` skips that).
 *
 * Goals (issue #17): `import { openStorage } from 'sluice/storage'` under 100 ms and
 * `sluice --help` under 250 ms on the 2-core machine this project is tested on.
 *
 *   node bench/startup.ts [--rounds 15] [--no-build]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '15' }, 'no-build': { type: 'boolean', default: false } },
});
const rounds = Number(values.rounds);

interface Case {
  name: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  goalMs?: number;
}

const importCase = (name: string, specifier: string, goalMs?: number): Case => ({
  name,
  args: ['--input-type=module', '-e', `await import(${JSON.stringify(specifier)})`],
  ...(goalMs ? { goalMs } : {}),
});

const CASES: Case[] = [
  { name: 'node -e 0 (peer)', args: ['-e', '0'] },
  importCase("import 'sluice/storage'", 'sluice/storage', 100),
  importCase("import 'sluice/errors'", 'sluice/errors'),
  importCase("import 'sluice/queue'", 'sluice/queue'),
  importCase("import 'sluice/timeseries'", 'sluice/timeseries'),
  importCase("import 'sluice/writer'", 'sluice/writer'),
  importCase("import 'sluice/pipeline'", 'sluice/pipeline'),
  importCase("import 'sluice/poller'", 'sluice/poller'),
  importCase("import 'sluice' (root)", 'sluice'),
  { name: 'sluice --help', args: ['bin/sluice.js', '--help'], goalMs: 250 },
  {
    name: 'sluice --help, no compile cache',
    args: ['bin/sluice.js', '--help'],
    env: { NODE_DISABLE_COMPILE_CACHE: '1' },
    goalMs: 250,
  },
  { name: 'sluice queue --help', args: ['bin/sluice.js', 'queue', '--help'], goalMs: 250 },
];

function timeOnce(c: Case): number {
  const started = process.hrtime.bigint();
  const res = spawnSync(process.execPath, c.args, {
    cwd: ROOT,
    env: { ...process.env, ...c.env },
    stdio: 'pipe',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (res.status !== 0)
    throw new Error(`${c.name} failed (${res.status}): ${res.stderr.toString().slice(0, 500)}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

if (!values['no-build']) execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
for (const c of CASES) timeOnce(c); // warm the OS file cache (and the compile cache where on)
const times = new Map<string, number[]>(CASES.map((c) => [c.name, []]));
for (let r = 0; r < rounds; r++) for (const c of CASES) times.get(c.name)?.push(timeOnce(c));

const peer = median(times.get(CASES[0]?.name as string) ?? []);
console.log(`start-up, median of ${rounds} alternating rounds (Node ${process.version})`);
console.log(`${'case'.padEnd(36)} ${'median'.padStart(9)} ${'× node -e 0'.padStart(12)}  goal`);
let missed = 0;
for (const c of CASES) {
  const ms = median(times.get(c.name) ?? []);
  const goal = c.goalMs ? `< ${c.goalMs} ms ${ms < c.goalMs ? 'met' : 'MISSED'}` : '';
  if (c.goalMs && ms >= c.goalMs) missed++;
  console.log(
    `${c.name.padEnd(36)} ${`${ms.toFixed(1)} ms`.padStart(9)} ${(ms / peer).toFixed(2).padStart(11)}×  ${goal}`,
  );
}
process.exitCode = missed ? 1 : 0;
