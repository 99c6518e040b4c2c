/**
 * Ctrl-C: one line on stderr, shell status 130. A command with nothing to unwind (`storage cat`
 * of a FIFO nobody writes) ends at once; one with a graceful stop (a worker with a job in flight)
 * ends at once on a second Ctrl-C, still with one line.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startSluice, waitFor } from './stop-helpers.ts';

const dir = tempDir('ctrl-c');
const SLOW_HANDLER = path.join(REPO_ROOT, 'test/queue/fixtures/sink-handler.js');

/** Opens `fifo` for writing once a reader has it open (ENXIO until then), without blocking. */
function writerOnceRead(fifo: string): number | undefined {
  try {
    return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return undefined;
    throw error;
  }
}

/** The pid of the single child of `pid` (Linux /proc), once there is one. */
function childOf(pid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return children ? Number(children.split(' ')[0]) : undefined;
  } catch {
    return undefined;
  }
}

describe('Ctrl-C', { timeout: 60_000 }, () => {
  it('storage cat of a FIFO: one line, status 130 in the shell, at once', async () => {
    const fifo = path.join(dir, 'fifo');
    await new Promise<void>((resolve, reject) =>
      spawn('mkfifo', [fifo]).on('close', (code) => (code === 0 ? resolve() : reject(new Error('mkfifo')))),
    );
    // The shell reports what a user sees: `$?` after sluice ends.
    const shell = spawn(
      'bash',
      ['-c', `'${process.execPath}' src/cli/main.ts storage cat '${fifo}'; echo "status=$?"`],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    onTestFinished(() => {
      if (shell.exitCode === null) shell.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    shell.stdout.on('data', (d) => {
      out += d;
    });
    shell.stderr.on('data', (d) => {
      err += d;
    });
    const ended = new Promise((resolve) => shell.on('close', resolve));
    // sluice has the FIFO open (so its handlers are installed) and waits for bytes that never come.
    const writer = await waitFor('sluice to open the FIFO', () => writerOnceRead(fifo));
    onTestFinished(() => closeSync(writer));
    const sluicePid = await waitFor('the sluice process', () => childOf(shell.pid as number));
    const sent = Date.now();
    process.kill(sluicePid, 'SIGINT');
    await ended;
    expect(Date.now() - sent).toBeLessThan(700);
    expect(out).toBe('status=130\n');
    expect(err).toBe('interrupted (SIGINT): stopped\n');
  });

  it('worker with a job in flight: the second Ctrl-C ends it at once, with one line', async () => {
    const db = path.join(dir, 'w.db');
    const queue = createSqliteQueue({ path: db, name: 'w' });
    onTestFinished(() => queue.close());
    await queue.add({ id: 'slow', name: 'n', data: {} });
    const run = startSluice(
      ['worker', '--queue', `sqlite:${db}`, '--queue-name', 'w', '--handler', SLOW_HANDLER],
      { env: { SINK_FILE: path.join(dir, 'sink'), SINK_SLEEP_MS: '60000' } },
    );
    await waitFor('a job in flight', async () => (await queue.counts()).active === 1, { child: run });
    run.child.kill('SIGINT');
    // The first Ctrl-C starts the graceful stop: the job gets up to a second to finish.
    await new Promise((r) => setTimeout(r, 150));
    expect(run.child.exitCode === null && run.child.signalCode === null, run.stderr()).toBe(true);
    const end = await run.stop('SIGINT');
    expect(end.signal).toBe('SIGINT');
    expect(end.ms).toBeLessThan(400);
    expect(run.stderr()).toBe(
      'interrupted (SIGINT): 0 jobs done, 1 job in flight will run again when its lease ends (30s)\n',
    );
  });
});
