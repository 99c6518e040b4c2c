/**
 * The machinery of examples.test.ts on made-up documents: what counts as an example, how a failing
 * one is reported (document, line, command), and how the shell session carries `cd` and `$?`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  blocksOf,
  checkExample,
  examplesOf,
  runsUntilStopped,
  stripComment,
  synopses,
  unlabelledCommands,
} from '../helpers/doc-examples.ts';
import { runLine, sluiceShims } from '../helpers/shell.ts';
import { tempDir } from '../helpers/tmp.ts';

const DOC = `# A doc

\`\`\`sh
npm ci && npx sluice demo   # install, then the demo
npm test
sluice ts append ./ts cpu 1 --meta '{"a":"# not a comment"}'
sluice storage put ./a \\
  s3://b/a                  # continued
\`\`\`

<!-- not-run: needs a real AWS account and its credentials -->
\`\`\`bash
sluice sync ./lake s3://real-bucket/lake
\`\`\`

\`\`\`console
$ sluice convert BAD.csv BAD.parquet
E021: CSV BAD.csv line 3: 3 fields, but the header has 4
$ echo $?
1
\`\`\`

\`\`\`
sluice poll --source ./drop
\`\`\`

\`\`\`text
sluice ts query <store> <variable> [--from T] [--to T]
                [--format table|csv]
\`\`\`
`;

describe('reading examples out of markdown', () => {
  const root = tempDir('doc-examples-md');
  writeFileSync(path.join(root, 'doc.md'), DOC);
  const blocks = blocksOf(root, 'doc.md');

  it('finds every block with its language, line and exemption', () => {
    expect(blocks.map((b) => [b.lang, b.line, b.notRun])).toEqual([
      ['sh', 3, undefined],
      ['bash', 12, 'needs a real AWS account and its credentials'],
      ['console', 16, undefined],
      ['', 23, undefined],
      ['text', 27, undefined],
    ]);
  });

  it('sh: a command per line, comments outside quotes dropped, continuations joined, npm left out', () => {
    const { examples, npmLines } = examplesOf(blocks[0] as (typeof blocks)[0]);
    expect(examples.map((e) => [e.line, e.command])).toEqual([
      [4, 'npx sluice demo'],
      [6, `sluice ts append ./ts cpu 1 --meta '{"a":"# not a comment"}'`],
      [7, 'sluice storage put ./a \\\n  s3://b/a'],
    ]);
    expect(npmLines.map((e) => e.command)).toEqual(['npm test']);
    expect(stripComment('echo "a # b" # c')).toBe('echo "a # b"');
    expect(stripComment('echo a#b')).toBe('echo a#b');
  });

  it('console: $ lines are commands, the lines after them their output', () => {
    const { examples } = examplesOf(blocks[2] as (typeof blocks)[0]);
    expect(examples).toEqual([
      {
        doc: 'doc.md',
        line: 17,
        command: 'sluice convert BAD.csv BAD.parquet',
        expected: ['E021: CSV BAD.csv line 3: 3 fields, but the header has 4'],
      },
      { doc: 'doc.md', line: 19, command: 'echo $?', expected: ['1'] },
    ]);
  });

  it('an unlabelled block of sluice commands is reported; a text block is a synopsis', () => {
    expect(unlabelledCommands(blocks[3] as (typeof blocks)[0])).toEqual(['sluice poll --source ./drop']);
    expect(synopses(blocks[4] as (typeof blocks)[0])).toEqual([
      { line: 28, path: ['ts', 'query'], flags: ['--from', '--to', '--format'] },
    ]);
  });

  it('knows the commands that run until stopped', () => {
    expect(runsUntilStopped('sluice poll --source ./drop --queue sqlite:./q.db')).toBe(true);
    expect(runsUntilStopped('sluice poll --source ./drop --once')).toBe(false);
    expect(runsUntilStopped('PULSE_S3_BUCKET=b sluice worker --queue sqlite:./q.db')).toBe(true);
    expect(runsUntilStopped('sluice worker --queue sqlite:./q.db --drain')).toBe(false);
    expect(runsUntilStopped('sluice ts query ./ts cpu')).toBe(false);
  });
});

describe('running examples', () => {
  const root = tempDir('doc-examples-run');
  const state = path.join(root, 'state');
  mkdirSync(state);
  const env = {
    ...process.env,
    PATH: `${sluiceShims(path.join(root, 'bin'))}${path.delimiter}${process.env.PATH}`,
  };

  it('a failing example is reported with its document, line, command and output', async () => {
    const ex = { doc: 'docs/x.md', line: 12, command: 'sluice storage cat ./missing.txt' };
    const res = await runLine(ex.command, { cwd: root, env, stateDir: state });
    const failure = checkExample(ex, res);
    expect(failure).toMatch(/^docs\/x\.md:12: sluice storage cat \.\/missing\.txt\nfailed \(exit 1\)\n/);
    expect(failure).toMatch(/--- stderr\nE011: /);
  });

  it('console output that differs from the doc fails; the same output passes', async () => {
    const ex = { doc: 'README.md', line: 3, command: 'echo hello', expected: ['hello'] };
    const res = await runLine(ex.command, { cwd: root, env, stateDir: state });
    expect(checkExample(ex, res)).toBeUndefined();
    expect(checkExample({ ...ex, expected: ['bye'] }, res)).toMatch(
      /^README\.md:3: echo hello\nprinted something else/,
    );
  });

  it('the session keeps cd (also inside a compound line) and $? from line to line', async () => {
    mkdirSync(path.join(root, 'a', 'b'), { recursive: true });
    const cd = await runLine('cd a && true', { cwd: root, env, stateDir: state });
    expect(cd.cwd).toBe(path.join(root, 'a'));
    const failed = await runLine('false', { cwd: cd.cwd, env, stateDir: state });
    expect(failed.status).toBe(1);
    const status = await runLine('echo $?', {
      cwd: cd.cwd,
      env,
      stateDir: state,
      previousStatus: failed.status,
    });
    expect(status.stdout).toBe('1\n');
  });

  it('a command that runs until stopped gets Ctrl-C and must end with 130 and its one line', async () => {
    const ex = { doc: 'd.md', line: 1, command: 'sluice worker --queue sqlite:./q.db --handler noop' };
    const res = await runLine(ex.command, { cwd: root, env, stateDir: state, interruptAfterMs: 2_500 });
    expect(checkExample(ex, res)).toBeUndefined();
    expect(res.status).toBe(130);
    const sleeper = {
      doc: 'd.md',
      line: 2,
      command: 'sluice worker --queue sqlite:./q.db --handler noop; sleep 0',
    };
    // bash ends by the same Ctrl-C as the command: still the status of an interrupted command.
    const viaShell = await runLine(`${sleeper.command}`, {
      cwd: root,
      env,
      stateDir: state,
      interruptAfterMs: 2_500,
    });
    expect(viaShell.status).toBe(130);
    expect(
      checkExample({ ...ex, command: 'sluice poll --source ./nowhere' }, { ...res, stderr: '' }),
    ).toMatch(/did not run until Ctrl-C/);
  });

  it('npx means sluice only', async () => {
    const res = await runLine('npx cowsay hi', { cwd: root, env, stateDir: state });
    expect(res.status).toBe(127);
    expect(res.stderr).toMatch(/only as npx sluice/);
  });
});
