/**
 * Every command sluice prints for a user to run next runs as printed (#18 item 1): the demo's next
 * commands, `` `sluice …` `` in error messages (written `npx sluice …` when no `sluice` is on
 * PATH), `run: chmod …`, and the flags errors say to add. The first test finds every such hint in
 * src/ and fails on one this file does not know, so a new hint comes with its proof.
 */
import { chmodSync, cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { invokedAs } from '../../src/cli/invoked-as.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { runLine, type ShellResult, sluiceShims } from '../helpers/shell.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Lines of src/ that tell the user a command or a flag to run. */
const HINT_PATTERNS = [
  /\\`(?:npx )?sluice [^`\\]+\\`/, // `sluice …` quoted inside a template literal
  /'[^'\n]*`sluice [^`']+`[^'\n]*'/, // … or inside a plain string
  /\$\{(?:sluice|invokedAs\(\))\} [a-z]/, // a command built for this shell (invoked-as.ts)
  /[;(:] run: [a-z]/, // a shell command
  /\b(?:use|pass|give|raise|run with) --[a-z]/i, // a flag to add
];

/** The tests below that run hints, by the word their title starts with. */
const PROOFS = ['demo', 'catalog', 'status', 'rollback', 'chmod', 'flags', 'serve'];

/** Each hint in src/: the test below that runs it (PROOFS), or why it is not a command to run. */
const HINTS: { file: string; text: string; proof: string }[] = [
  { file: 'src/cli/actions/pipeline-demo.ts', text: `\`\${sluice} status\``, proof: 'demo' },
  { file: 'src/cli/actions/pipeline-demo.ts', text: `\`\${sluice} catalog ls --env qa\``, proof: 'demo' },
  { file: 'src/cli/actions/pipeline-demo.ts', text: `\`\${sluice} catalog show`, proof: 'demo' },
  { file: 'src/cli/actions/pipeline-demo.ts', text: `\`\${sluice} promote qa prod\``, proof: 'demo' },
  { file: 'src/cli/actions/pipeline-demo.ts', text: `\`\${sluice} serve --demo\``, proof: 'serve' },
  { file: 'src/cli/actions/serve-demo.ts', text: 'run \\`sluice demo\\` first', proof: 'serve' },
  { file: 'src/pipeline/catalog.ts', text: 'sluice catalog ls --env', proof: 'catalog' },
  { file: 'src/cli/actions/pipeline-steps.ts', text: 'status --json', proof: 'status' },
  { file: 'src/pipeline/promoter.ts', text: 'sluice rollback $', proof: 'rollback' },
  { file: 'src/crypto/keys.ts', text: 'run: chmod 600', proof: 'chmod' },
  { file: 'src/jobs/index.ts', text: 'pass --store', proof: 'flags' },
  { file: 'src/cli/commands/timeseries.ts', text: 'pass --string', proof: 'flags' },
  { file: 'src/cli/commands/storage.ts', text: 'use --recursive', proof: 'flags' },
  { file: 'src/cli/program.ts', text: 'run with --help', proof: 'flags' },
  { file: 'src/cli/actions/queue-flags.ts', text: 'pass --queue sqlite:', proof: 'flags' },
  {
    file: 'src/errors.ts',
    text: 'roll back with `sluice rollback`',
    proof: 'the README error table, not printed',
  },
  {
    file: 'src/errors.ts',
    text: 'See `sluice <command> --help`',
    proof: 'the README error table, not printed',
  },
  {
    file: 'src/cli/actions/writer-flags.ts',
    text: 'use --passphrase-file or',
    proof: 'a choice of two flags, not one to add',
  },
  {
    file: 'src/cli/actions/writer-decrypt.ts',
    text: 'give --identity <file> or',
    proof: 'a choice of key sources, not one to add',
  },
  {
    file: 'src/cli/actions/writer-tables.ts',
    text: 'give --encrypt-to or',
    proof: 'a choice of key sources, not one to add',
  },
  {
    file: 'src/cli/commands/lineage.ts',
    text: "'(deeper: raise --depth)'",
    proof: 'test/lineage/cli.test.ts raises --depth past a truncated tree',
  },
  {
    file: 'src/backends/redis.ts',
    text: 'raise --connect-timeout',
    proof: 'the value depends on the network',
  },
];

function srcFiles(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? srcFiles(`${dir}/${e.name}`) : e.name.endsWith('.ts') ? [`${dir}/${e.name}`] : [],
  );
}

/** Hint lines of src/, comments left out. */
function hintsInSource(): { file: string; line: number; text: string }[] {
  return srcFiles('src').flatMap((file) =>
    readFileSync(path.join(REPO_ROOT, file), 'utf8')
      .split('\n')
      .flatMap((text, i) =>
        !/^\s*(\*|\/\/|\/\*)/.test(text) && HINT_PATTERNS.some((p) => p.test(text))
          ? [{ file, line: i + 1, text }]
          : [],
      ),
  );
}

describe('hints sluice prints', () => {
  it('are all known here, with the test that runs them or why they are not a command', () => {
    const found = hintsInSource();
    const unknown = found.filter((h) => !HINTS.some((k) => k.file === h.file && h.text.includes(k.text)));
    expect(unknown.map((h) => `${h.file}:${h.line}: ${h.text.trim()}`)).toEqual([]);
    const stale = HINTS.filter((k) => !found.some((h) => k.file === h.file && h.text.includes(k.text)));
    expect(stale).toEqual([]);
    for (const k of HINTS) expect(PROOFS.includes(k.proof) || k.proof.length > 20, k.proof).toBe(true);
  });

  const root = tempDir('hints');
  const state = path.join(root, 'state');
  // A shell with `sluice` on PATH (after `npm link`), and one with only npx (after `npm ci`).
  const PATH_NO_SLUICE = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((d) => invokedAs({ PATH: d }) === 'npx sluice')
    .join(path.delimiter);
  const env = (bare: boolean): NodeJS.ProcessEnv => {
    const base = { ...process.env };
    delete base.SLUICE_LOG_LEVEL;
    const shims = sluiceShims(path.join(root, bare ? 'bin' : 'bin-npx'), { bare });
    return {
      ...base,
      PATH: `${shims}${path.delimiter}${PATH_NO_SLUICE}`,
      SLUICE_CACHE_DIR: path.join(root, 'cache'),
    };
  };
  const withSluice = env(true);
  const npxOnly = env(false);
  const run = (command: string, cwd: string, shellEnv = npxOnly, previousStatus = 0): Promise<ShellResult> =>
    runLine(command, { cwd, env: shellEnv, stateDir: state, previousStatus });
  const ok = (res: ShellResult, what: string) =>
    expect(res.status, `${what}\n${res.stdout}\n${res.stderr}`).toBe(0);

  /** A copy of one demo project, for a test to change as it likes. */
  let demoOutput = '';
  const demoCopy = (name: string) => {
    const dir = path.join(root, name);
    cpSync(path.join(root, 'first', 'sluice-demo'), path.join(dir, 'sluice-demo'), { recursive: true });
    return path.join(dir, 'sluice-demo');
  };
  beforeAll(async () => {
    const first = path.join(root, 'first');
    mkdirSync(first);
    mkdirSync(state);
    const res = await run('sluice demo', first, withSluice);
    ok(res, 'sluice demo');
    demoOutput = res.stdout;
  }, 120_000);

  it.concurrent('demo: the next commands it prints run as pasted (bash -e)', async () => {
    const block = /\nNext, try:\n((?: {2}.+\n)+)$/.exec(demoOutput)?.[1] ?? '';
    expect(block).toMatch(/^ {2}cd sluice-demo\n {2}sluice status\n/);
    // The last runs until Ctrl-C: the 'serve' test below runs it.
    expect(block).toMatch(/\n {2}sluice serve --demo\n$/);
    const untilServe = block.replace(/ {2}sluice serve --demo\n$/, '');
    const res = await run(`set -e\n${untilServe}`, path.join(root, 'first'), withSluice);
    ok(res, block);
    expect(res.stdout).toMatch(/promoted qa → prod: 8 files/);
  });

  it.concurrent('serve: `sluice serve --demo` serves the demo project until Ctrl-C; without one it says to run `sluice demo` first', async () => {
    const line = /\n {2}(sluice serve --demo)\n$/.exec(demoOutput)?.[1] as string;
    expect(line).toBe('sluice serve --demo');
    // Where the next commands run it (after `cd sluice-demo`); any free port instead of 8080.
    const dir = demoCopy('serve');
    const script = [
      `${line} --port 0 2>serve.log &`,
      "for i in $(seq 1 600); do grep -q 'admin token' serve.log && break; sleep 0.1; done",
      "url=$(sed -n 's/^sluice serve: dashboard on //p' serve.log)",
      "token=$(sed -n 's/^sluice serve: admin token for this run (printed once, stored nowhere): //p' serve.log)",
      'curl -fsS -H "Authorization: Bearer $token" "$url"api/lake',
      'kill -INT %1; wait %1; echo " exit=$?"',
    ].join('\n');
    const res = await run(script, dir, withSluice);
    ok(res, script);
    expect(res.stdout).toMatch(/"env":"qa","version":"\d{8}T/);
    expect(res.stdout).toMatch(/ exit=130\n$/);
    const log = readFileSync(path.join(dir, 'serve.log'), 'utf8');
    expect(log).toMatch(/^interrupted \(SIGINT\): /m);
    // Elsewhere, the hint to make a project first, as this shell runs it; then serving works.
    const empty = path.join(root, 'serve-empty');
    mkdirSync(empty);
    const refused = await run('npx sluice serve --demo --port 0', empty);
    expect(refused.status).toBe(1);
    const hint = /run `([^`]+)` first/.exec(refused.stderr)?.[1];
    expect(hint, refused.stderr).toBe('npx sluice demo');
    ok(await run(hint as string, empty), hint as string);
    const served = await run(script.replace(line, 'npx sluice serve --demo'), empty);
    ok(served, 'npx sluice serve --demo');
    expect(served.stdout).toMatch(/ exit=130\n$/);
  });

  it.concurrent('catalog: an unknown name points to `sluice catalog ls --env E`, as this shell runs it', async () => {
    const dir = demoCopy('catalog');
    for (const [shellEnv, prefix] of [
      [withSluice, 'sluice'],
      [npxOnly, 'npx sluice'],
    ] as const) {
      const miss = await run(`${prefix} catalog show nosuch --env qa`, dir, shellEnv);
      expect(miss.status).toBe(1);
      const hint = /see `([^`]+)`/.exec(miss.stderr)?.[1];
      expect(hint, miss.stderr).toBe(`${prefix} catalog ls --env qa`);
      const listed = await run(hint as string, dir, shellEnv);
      ok(listed, hint as string);
      expect(listed.stdout).toMatch(/staging\/country_year_summary\.parquet/);
    }
  });

  it.concurrent('status: a step with several errors points to `status --json`, which shows them all', async () => {
    const dir = demoCopy('status');
    writeFileSync(
      path.join(dir, 'data/raw/sdg/SDG_DATA.csv'),
      'indicator_id,country_id,year,value\nX,KEN,2020\n',
    );
    writeFileSync(
      path.join(dir, 'data/raw/wdi/WDI_DATA.csv'),
      'indicator_id,country_id,year,value\nX,KEN,y,1\n',
    );
    const failed = await run('npx sluice run', dir);
    expect(failed.status).toBe(1);
    const hint = /\(2 errors: ([^)]+)\)/.exec(failed.stdout)?.[1];
    expect(hint, failed.stdout).toBe('npx sluice status --json');
    const status = await run(hint as string, dir);
    ok(status, hint as string);
    const steps = (JSON.parse(status.stdout) as { lastRun: { steps: { step: string; errors: string[] }[] } })
      .lastRun.steps;
    expect(steps.find((s) => s.step === 'ingest')?.errors).toHaveLength(2);
  });

  it.concurrent('rollback: refusing to empty an environment prints the command that does it', async () => {
    const dir = demoCopy('rollback');
    ok(await run('npx sluice promote qa prod', dir), 'promote');
    const refused = await run('npx sluice rollback prod', dir);
    expect(refused.status).toBe(1);
    const hint = /run `([^`]+)`/.exec(refused.stderr)?.[1];
    expect(hint, refused.stderr).toBe('npx sluice rollback prod --allow-empty');
    ok(await run(hint as string, dir), hint as string);
    const ls = await run('npx sluice catalog ls --env prod --json', dir);
    expect(JSON.parse(ls.stdout)).toEqual([]);
  });

  it.concurrent('chmod: a key file others can read gets the command that fixes it, and then no warning', async () => {
    const dir = path.join(root, 'chmod', 'my keys');
    mkdirSync(dir, { recursive: true });
    ok(await run('age-keygen -o key.txt 2>/dev/null && echo secret > plain.txt', dir), 'age-keygen');
    ok(await run('age -r "$(age-keygen -y key.txt)" -o plain.txt.age plain.txt', dir), 'age');
    chmodSync(path.join(dir, 'key.txt'), 0o644);
    const keyPath = path.join(dir, 'key.txt');
    const warned = await run(`npx sluice decrypt plain.txt.age -o - --identity '${keyPath}'`, dir);
    ok(warned, 'decrypt');
    const hint = /run: (chmod 600 '[^']+'|chmod 600 \S+?)(?="|\n|$)/.exec(warned.stderr)?.[1];
    expect(hint, warned.stderr).toBe(`chmod 600 '${keyPath}'`);
    ok(await run(hint as string, path.join(root, 'state')), hint as string);
    const quiet = await run(`npx sluice decrypt plain.txt.age -o - --identity '${keyPath}'`, dir);
    ok(quiet, 'decrypt again');
    expect(quiet.stdout).toBe('secret\n');
    expect(quiet.stderr).not.toMatch(/chmod/);
  });

  it.concurrent('flags: the flag an error names makes the same command work', async () => {
    const dir = path.join(root, 'flags');
    mkdirSync(path.join(dir, 'folder'), { recursive: true });
    writeFileSync(path.join(dir, 'folder', 'x.txt'), 'x\n');
    const cases: [command: string, hint: RegExp, fixed: string][] = [
      ['npx sluice worker --queue sqlite:./q.db --drain', /pass --store PATH\|URL/, '--store ./ts'],
      ['npx sluice ts append ./ts note hello', /pass --string/, '--string'],
      ['npx sluice storage put ./folder ./copy/', /use --recursive/, '--recursive'],
      ['npx sluice ts query', /run with --help/, '--help'],
      [
        'npx sluice worker --drain --store ./ts',
        /pass --queue sqlite:\.\/sluice-queue\.db\|/,
        '--queue sqlite:./sluice-queue.db',
      ],
    ];
    for (const [command, hint, fixed] of cases) {
      const refused = await run(command, dir);
      expect(refused.status, command).toBe(2);
      expect(refused.stderr, command).toMatch(hint);
      ok(await run(`${command} ${fixed}`, dir), `${command} ${fixed}`);
    }
  });
});
