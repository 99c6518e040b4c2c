import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.ts';
import { runSluice } from '../helpers/cli.ts';

describe('logger', () => {
  it('masks secrets in log objects, nested headers, URLs and messages', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination: sink });
    logger.info(
      {
        request: { headers: { Authorization: 'Bearer tok_SECRET1' }, params: { api_key: 'SECRET2' } },
        key: 'a/b.csv',
      },
      'fetching https://x/y?token=SECRET3&page=2',
    );
    logger.info('plain %s', 'https://u:SECRET4@host/');
    await new Promise((r) => setTimeout(r, 20));
    const text = lines.join('');
    for (const s of ['SECRET1', 'SECRET2', 'SECRET3', 'SECRET4']) expect(text).not.toContain(s);
    expect(text).toContain('"key":"a/b.csv"');
    expect(text).toContain('page=2');
  });
});

describe('logged errors (issue #15: pino took the unmasked message as msg)', () => {
  it('masks the message, stack, properties and causes of a logged Error, and keeps its type', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = createLogger({ level: 'trace', destination: sink });
    const cause = new Error('connect https://bob:SECRET6@proxy/ refused');
    const error = Object.assign(
      new TypeError('GET https://h/v1?page=1&x-vault-token=SECRET5 failed', { cause }),
      {
        code: 'E007',
        privateToken: 'SECRET7',
      },
    );
    logger.error(error);
    logger.warn({ err: error }, 'wrapped %s', 'https://h/?access_token=SECRET8');
    await new Promise((r) => setTimeout(r, 20));
    const text = lines.join('');
    for (const s of ['SECRET5', 'SECRET6', 'SECRET7', 'SECRET8']) expect(text).not.toContain(s);
    const first = JSON.parse(lines[0]!) as {
      msg: string;
      err: { type: string; stack: string; code: string };
    };
    expect(first.msg).toBe('GET https://h/v1?page=1&x-vault-token=******** failed');
    expect(first.err.stack).toContain('caused by: Error: connect https://bob:********@proxy/ refused');
    expect(first.err.code).toBe('E007');
    expect(error.message).toContain('SECRET5'); // the caller's error is not changed
  });
});

describe('seed logging helpers', () => {
  it('getLogger(name, level) gives a tagged child; setupLogging sets the level', async () => {
    const { getLogger, setupLogging } = await import('../../src/logging/logger.ts');
    const root = setupLogging('warn');
    expect(root.level).toBe('warn');
    const child = getLogger('pipeline.ingest', 'debug');
    expect(child.level).toBe('debug');
    expect(child.bindings()).toMatchObject({ module: 'pipeline.ingest' });
    expect(getLogger()).toBe(root);
  });
});

describe('configureLogging', () => {
  it('rejects an unknown level or format at once (E001), before any logger is made', async () => {
    const { configureLogging } = await import('../../src/logging/logger.ts');
    expect(() => configureLogging({ level: 'verbose' as never })).toThrow(/E001|Unknown log level "verbose"/);
    expect(() => configureLogging({ format: 'xml' as never })).toThrow(/Unknown log format "xml"/);
    const bad = await runSluice(['storage', 'ls', '.'], { env: { SLUICE_LOG_LEVEL: 'verbose' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^E001: Unknown log level "verbose"/);
    expect(bad.stdout).toBe('');
  });
});
