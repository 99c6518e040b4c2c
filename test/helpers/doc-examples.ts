/**
 * The shell examples of README.md and docs/*.md, as the examples test runs them.
 *
 * - ```sh, ```bash and ```console blocks are examples. In sh/bash blocks every line is a command
 *   (a trailing `\` continues it, `# …` outside quotes is a comment); in console blocks the
 *   lines starting with `$ ` are commands and the lines after one, up to the next, its output.
 * - Lines that run npm are not run: `npm ci` is the install step the examples come after (so
 *   `npm ci && npx sluice demo` runs `npx sluice demo`), and `npm test` / `npm run …` are the test
 *   suite, builds and benchmarks themselves.
 * - `<!-- not-run: reason -->` on the line before a block exempts it, with its reason.
 * - ```text blocks are synopses (`sluice ts query <store> [--from T]`): not run, but their
 *   commands and flags are checked against `--help`. A plain ``` block may not hold a line that
 *   starts with `sluice`: it must say which of the two it is.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const EXAMPLE_LANGS = new Set(['sh', 'bash', 'console']);

export interface Block {
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** The reason from a `<!-- not-run: … -->` just before the block. */
  notRun?: string;
  body: { line: number; text: string }[];
}

export interface Example {
  doc: string;
  line: number;
  command: string;
  /** Console blocks: the output shown after the command, line by line. */
  expected?: string[];
}

/** Every fenced block of a markdown file (path relative to `root`). */
export function blocksOf(root: string, doc: string): Block[] {
  const lines = readFileSync(path.join(root, doc), 'utf8').split('\n');
  const blocks: Block[] = [];
  let open: Block | undefined;
  lines.forEach((text, i) => {
    const fence = /^```(\S*)\s*$/.exec(text);
    if (open) {
      if (fence && fence[1] === '') {
        blocks.push(open);
        open = undefined;
      } else open.body.push({ line: i + 1, text });
      return;
    }
    if (!fence) return;
    const before = lines
      .slice(0, i)
      .reverse()
      .find((l) => l.trim() !== '');
    const notRun = /^<!--\s*not-run:\s*(.+?)\s*-->$/.exec(before?.trim() ?? '')?.[1];
    open = { doc, line: i + 1, lang: fence[1] ?? '', body: [], ...(notRun ? { notRun } : {}) };
  });
  return blocks;
}

/** `text` without a `# comment` that starts outside quotes after whitespace. */
export function stripComment(text: string): string {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '\\') i++;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1] as string))) return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

/** The commands of an example block, in order, and the npm lines left out. */
export function examplesOf(block: Block): { examples: Example[]; npmLines: Example[] } {
  const examples: Example[] = [];
  const npmLines: Example[] = [];
  const add = (line: number, command: string) => {
    const afterInstall = command.replace(/^npm ci\s*&&\s*/, '');
    if (/^npm\s/.test(afterInstall) || afterInstall === 'npm')
      npmLines.push({ doc: block.doc, line, command });
    else examples.push({ doc: block.doc, line, command: afterInstall });
  };
  if (block.lang === 'console') {
    for (const { line, text } of block.body) {
      if (text.startsWith('$ ')) add(line, text.slice(2).trim());
      else {
        const last = examples.at(-1);
        if (last) last.expected = [...(last.expected ?? []), text];
      }
    }
    return { examples, npmLines };
  }
  let pending: { line: number; text: string } | undefined;
  for (const { line, text } of block.body) {
    const joined = pending ? `${pending.text}\n${text}` : text;
    const start = pending?.line ?? line;
    if (/\\$/.test(text)) {
      pending = { line: start, text: joined };
      continue;
    }
    pending = undefined;
    const command = stripComment(joined).trim();
    if (command !== '') add(start, command);
  }
  return { examples, npmLines };
}

/**
 * Commands that run until stopped (a poller without --once, a worker without --drain, the
 * service): the test
 * starts them, lets them work, presses Ctrl-C and expects the documented end (status 130, one
 * `interrupted (SIGINT): …` line).
 */
export function runsUntilStopped(command: string): boolean {
  return (
    (/(^|\s)sluice poll(\s|$)/.test(command) && !/--once\b/.test(command)) ||
    (/(^|\s)sluice worker(\s|$)/.test(command) && !/--drain\b/.test(command)) ||
    /(^|\s)sluice serve(\s|$)/.test(command)
  );
}

/** Lines of a plain ``` block that look like sluice commands (they must be labelled). */
export function unlabelledCommands(block: Block): string[] {
  if (block.lang !== '') return [];
  return block.body.map((b) => b.text.trim()).filter((t) => /^(npx )?sluice\s/.test(t));
}

/**
 * A synopsis line's command path and flags: `sluice ts query <store> [--from T]` →
 * `{ path: ['ts', 'query'], flags: ['--from'] }`. Continuation lines (indented, no `sluice`)
 * add their flags to the command above.
 */
export function synopses(block: Block): { line: number; path: string[]; flags: string[] }[] {
  const out: { line: number; path: string[]; flags: string[] }[] = [];
  for (const { line, text } of block.body) {
    const body = stripComment(text).trim();
    const flags = [...body.matchAll(/(?<![\w-])(--[a-z][a-z0-9-]*)/g)].map((m) => m[1] as string);
    const m = /^sluice((?:\s+[a-z][a-z-]*)+)/.exec(body);
    if (m) out.push({ line, path: (m[1] as string).trim().split(/\s+/), flags });
    else out.at(-1)?.flags.push(...flags);
  }
  return out;
}

/** Why an example's run does not match the doc (naming the doc, line and command), or undefined. */
export function checkExample(
  ex: Example,
  res: { status: number; stdout: string; stderr: string },
): string | undefined {
  const failure = (why: string) =>
    `${ex.doc}:${ex.line}: ${ex.command}\n${why} (exit ${res.status})\n--- stdout\n${res.stdout.slice(-3000)}\n--- stderr\n${res.stderr.slice(-3000)}`;
  if (ex.expected) {
    const shown = ex.expected.join('\n').trimEnd();
    const got = `${res.stdout}${res.stderr}`
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')
      .trimEnd();
    return got === shown ? undefined : failure(`printed something else than the doc shows:\n${shown}`);
  }
  if (runsUntilStopped(ex.command)) {
    const stopped =
      res.status === 130 && /^interrupted \(SIGINT\): /m.test(res.stderr) && !/^E\d{3}:/m.test(res.stderr);
    return stopped ? undefined : failure('did not run until Ctrl-C and stop with status 130');
  }
  return res.status === 0 ? undefined : failure('failed');
}
