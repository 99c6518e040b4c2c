/**
 * Log lines: human on a terminal, JSON when stderr is piped; --log-format and SLUICE_LOG_FORMAT
 * decide when given (the flag first). Human lines keep the masking of JSON ones.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chooseLogFormat, createLogger, readLogFormat } from '../../src/logging/logger.ts';
import { REPO_ROOT, runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const dir = tempDir('log-format');
// A command that logs one info line and ends: a worker draining an empty queue.
const worker = (name: string) => [
  'worker',
  '--queue',
  `sqlite:${path.join(dir, `${name}.db`)}`,
  '--handler',
  'noop',
  '--drain',
  '--log-level',
  'info',
];
const HUMAN_LINE =
  /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: worker stopped \{"completed":0,"retried":0,"waited":0,"dead":0\}$/m;

describe('chooseLogFormat', () => {
  it('flag, then SLUICE_LOG_FORMAT, then the terminal', () => {
    expect(chooseLogFormat({ isTTY: true })).toBe('human');
    expect(chooseLogFormat({ isTTY: false })).toBe('json');
    expect(chooseLogFormat({ env: 'json', isTTY: true })).toBe('json');
    expect(chooseLogFormat({ env: 'human', isTTY: false })).toBe('human');
    expect(chooseLogFormat({ env: '', isTTY: false })).toBe('json');
    expect(chooseLogFormat({ requested: 'json', env: 'human', isTTY: true })).toBe('json');
    expect(chooseLogFormat({ requested: 'human', env: 'json', isTTY: false })).toBe('human');
  });

  it('pretty, the earlier name, still means human; anything else is refused with where it came from', () => {
    expect(readLogFormat('pretty')).toBe('human');
    expect(readLogFormat('xml')).toBeUndefined();
    expect(() => chooseLogFormat({ env: 'xml', isTTY: true })).toThrow(
      'Unknown log format "xml" in SLUICE_LOG_FORMAT; use human or json',
    );
  });

  it('human lines are masked like JSON ones', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => {
      text += d;
    });
    const log = createLogger({ format: 'human', destination: out, level: 'info' });
    log.info({ password: 'hunter2-secret', rows: 3 }, 'loaded https://h/x?token=abcdef123456');
    expect(text).toMatch(/INFO: loaded /);
    expect(text).toContain('"rows":3');
    expect(text).not.toContain('hunter2-secret');
    expect(text).not.toContain('abcdef123456');
    expect(text.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('sluice --log-format', () => {
  it('human: one readable line per event', async () => {
    const res = await runSluice(['--log-format', 'human', ...worker('human')]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(HUMAN_LINE);
    expect(res.stderr).not.toContain('"level"');
  });

  it('piped and unset: JSON lines; SLUICE_LOG_FORMAT=human switches; the flag wins over it', async () => {
    const piped = await runSluice(worker('piped'));
    expect(JSON.parse(piped.stderr.trim())).toMatchObject({ level: 30, msg: 'worker stopped' });
    const env = await runSluice(worker('env'), { env: { SLUICE_LOG_FORMAT: 'human' } });
    expect(env.stderr).toMatch(HUMAN_LINE);
    const flag = await runSluice(['--log-format', 'json', ...worker('flag')], {
      env: { SLUICE_LOG_FORMAT: 'human' },
    });
    expect(JSON.parse(flag.stderr.trim())).toMatchObject({ msg: 'worker stopped' });
  });

  it('on a terminal, unset: human lines (run under script(1) for a pseudo-terminal)', () => {
    let script = '';
    try {
      script = execFileSync('bash', ['-c', 'command -v script'], { encoding: 'utf8' }).trim();
    } catch {
      throw new Error('script(1) from util-linux is needed to give sluice a terminal; install util-linux');
    }
    const command = [process.execPath, 'src/cli/main.ts', ...worker('tty')].join(' ');
    const out = execFileSync(script, ['-qec', command, '/dev/null'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(out.replaceAll('\r', '')).toMatch(HUMAN_LINE);
  });

  it('a bad value: exit 2 for the flag, E001 for the environment', async () => {
    const flag = await runSluice(['--log-format', 'xml', ...worker('bad')]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^E022: --log-format must be human or json, got "xml"/);
    const env = await runSluice(worker('bad-env'), { env: { SLUICE_LOG_FORMAT: 'xml' } });
    expect(env.code).toBe(1);
    expect(env.stderr).toMatch(/^E001: Unknown log format "xml" in SLUICE_LOG_FORMAT/);
  });
});
