/**
 * `serve.schedules` as users write it: every entry checked when the config is read (E001 naming
 * the file and the entry, before anything listens), and `sluice serve` running a schedule in its
 * own process until SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.ts';
import type { RunRecord } from '../../src/pipeline/index.ts';
import { readServeSection, resolveServeSettings } from '../../src/server/settings.ts';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { auth, TOKENS_ENV } from './helpers.ts';
import { tinyProject, until } from './schedule-fixture.ts';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

function configWith(lines: string[]): string {
  const file = path.join(tempDir('sched-settings'), 'sluice.config.yaml');
  writeFileSync(file, ['serve:', '  schedules:', ...lines.map((l) => `    ${l}`), ''].join('\n'));
  return file;
}

function refusal(lines: string[]): { file: string; error: SluiceError } {
  const file = configWith(lines);
  try {
    readServeSection(file);
  } catch (error) {
    return { file, error: error as SluiceError };
  }
  throw new Error(`accepted: ${lines.join(' | ')}`);
}

describe('serve.schedules settings', () => {
  it.each([
    [
      'a step past the field',
      '- { name: nightly, cron: "*/61 * * * *" }',
      /serve\.schedules\[0\]\.cron: schedule "nightly": invalid cron expression "\*\/61 \* \* \* \*": .*steps cannot be greater/,
    ],
    [
      'not a cron expression',
      '- { name: n, cron: "every day" }',
      /serve\.schedules\[0\]\.cron: schedule "n": invalid cron/,
    ],
    [
      'seven fields',
      '- { name: n, cron: "0 0 0 1 1 * 2030" }',
      /serve\.schedules\[0\]\.cron: .*invalid cron/,
    ],
    [
      'a date that never comes',
      '- { name: feb30, cron: "0 0 30 2 *" }',
      /schedule "feb30": cron expression "0 0 30 2 \*" never fires/,
    ],
    [
      'an unknown time zone',
      '- { name: n, cron: "0 2 * * *", timezone: Mars/Olympus }',
      /serve\.schedules\[0\]\.timezone: schedule "n": unknown time zone "Mars\/Olympus"/,
    ],
    ['a typo in a key', '- { name: n, crn: "0 2 * * *" }', /serve\.schedules\[0\]: Unrecognized key.*crn/],
    [
      'a mode sluice run refuses',
      '- { name: n, cron: "0 2 * * *", run: { mode: sometimes } }',
      /serve\.schedules\[0\]\.run\.mode/,
    ],
    [
      'an unknown environment',
      '- { name: n, cron: "0 2 * * *", run: { env: staging } }',
      /serve\.schedules\[0\]\.run\.env/,
    ],
    [
      'a name that cannot label a metric',
      '- { name: "a b", cron: "0 2 * * *" }',
      /serve\.schedules\[0\]\.name: a schedule name is/,
    ],
  ])('refuses %s with E001 naming the file and the entry', (_what, line, message) => {
    const { file, error } = refusal([line]);
    expect(error).toBeInstanceOf(SluiceError);
    expect(error.code).toBe('E001');
    expect(error.message).toContain(`Invalid serve settings in ${file}`);
    expect(error.message).toMatch(message);
  });

  it('refuses two schedules of one name', () => {
    const { error } = refusal(['- { name: n, cron: "0 2 * * *" }', '- { name: n, cron: "0 3 * * *" }']);
    expect(error.message).toMatch(/serve\.schedules\[1\]\.name: schedule name "n" is used twice/);
  });

  it('reads five fields, six with seconds, nicknames, defaults (full run, UTC) and config paths of the file', () => {
    const file = configWith([
      '- { name: nightly, cron: "0 2 * * *", timezone: Europe/Paris }',
      '- { name: fast, cron: "*/5 * * * * *", run: { mode: ingest, env: qa, config: ./other.yaml } }',
      '- { name: daily, cron: "@daily" }',
    ]);
    const settings = resolveServeSettings({ file, section: readServeSection(file), dataDir: '/tmp' });
    expect(settings.schedules).toEqual([
      { name: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Paris', run: { mode: 'full' } },
      {
        name: 'fast',
        cron: '*/5 * * * * *',
        timezone: 'UTC',
        run: { mode: 'ingest', env: 'qa', config: path.join(path.dirname(file), 'other.yaml') },
      },
      { name: 'daily', cron: '@daily', timezone: 'UTC', run: { mode: 'full' } },
    ]);
  });
});

describe('sluice serve with schedules (CLI)', () => {
  it('refuses a bad cron expression at start, before anything listens', async () => {
    const project = tinyProject('cli-bad', [
      'serve:',
      '  schedules:',
      '    - { name: hourly, cron: "61 * * * *" }',
    ]);
    const r = await runSluice(['serve', '-c', 'sluice.config.yaml', '--port', '0'], { cwd: project.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /E001: Invalid serve settings in sluice\.config\.yaml: serve\.schedules\[0\]\.cron: schedule "hourly": invalid cron expression "61 \* \* \* \*"/,
    );
    expect(r.stderr).not.toContain('listening');
  });

  it('refuses a schedule whose run.config cannot be loaded, naming the schedule', async () => {
    const project = tinyProject('cli-config', [
      'serve:',
      '  schedules:',
      '    - { name: other, cron: "0 2 * * *", run: { config: ./missing.yaml } }',
    ]);
    const r = await runSluice(['serve', '-c', 'sluice.config.yaml', '--port', '0'], { cwd: project.dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/E001: serve\.schedules "other": .*missing\.yaml/);
    expect(r.stderr).not.toContain('listening');
  });

  it('runs a schedule in the served process, then stops on SIGTERM saying what became of it', async () => {
    const project = tinyProject('cli-run', [
      'serve:',
      '  shutdownGrace: 5s',
      '  schedules:',
      '    - { name: every-second, cron: "* * * * * *", run: { mode: ingest } }',
    ]);
    const child = spawn(
      process.execPath,
      [path.join(REPO_ROOT, 'src/cli/main.ts'), 'serve', '-c', project.file, '--port', '0'],
      {
        cwd: tempDir('sched-cwd'),
        env: {
          ...process.env,
          SLUICE_API_TOKENS: TOKENS_ENV,
          SLUICE_LOG_FORMAT: 'json',
          SLUICE_LOG_LEVEL: '',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    children.push(child);
    let err = '';
    child.stderr?.on('data', (d) => {
      err += d;
    });
    const exited = new Promise<number | string | null>((resolve) =>
      child.on('close', (code, signal) => resolve(signal ?? code)),
    );
    const url = await until('the address', async () => /listening on (http:\/\/\S+)/.exec(err)?.[1], 30_000);
    expect(err).toMatch(
      /schedule every-second \(\* \* \* \* \* \*, UTC\) runs the pipeline \(ingest, dev\); next at 20\d\d-/,
    );
    const runs = await until('a scheduled run in the history', async () => {
      const res = await fetch(`${url}/api/runs?env=dev`, { headers: auth('read') });
      const body = (await res.json()) as { runs: RunRecord[] };
      const mine = body.runs.filter((r) => r.trigger === 'schedule every-second');
      return mine.length > 0 ? mine : undefined;
    });
    expect(runs[0]).toMatchObject({ mode: 'ingest', success: true });
    child.kill('SIGTERM');
    // Ends with 143, or by the signal itself when it re-raises it (as serve-cli.test.ts allows).
    expect([143, 'SIGTERM']).toContain(await exited);
    expect(err).toMatch(
      /interrupted \(SIGTERM\): HTTP server stopped \(no request cut off\); (schedules stopped, no run in flight|scheduled run of every-second finished)/,
    );
    expect(err).toContain('"msg":"scheduled run succeeded"');
  });
});
