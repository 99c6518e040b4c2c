/**
 * Running a long command as a pipe or CI log sees it (stderr not a terminal, no SLUICE_PROGRESS)
 * with progress lines every 100 ms instead of 5 s, and reading back what it wrote on stderr.
 */
import { expect } from 'vitest';
import { Engine, quoteLiteral } from '../../src/engine/duckdb.ts';
import { type CliResult, runSluice } from '../helpers/cli.ts';

export interface ProgressLine {
  module: string;
  operation: string;
  detail?: string;
  done: number;
  total?: number;
  unit: string;
  finished?: boolean;
  msg: string;
}

/** `sluice <args>` piped: progress as periodic JSON log lines on stderr (the default off a terminal). */
export async function runPiped(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult & { lines: ProgressLine[] }> {
  const result = await runSluice(args, {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    // SLUICE_PROGRESS unset (the helper's 0 undone): what a pipe or a CI job gets.
    env: { SLUICE_PROGRESS: '', SLUICE_PROGRESS_INTERVAL: '100ms', ...options.env },
  });
  expect(result.stderr, 'no terminal escape codes off a terminal').not.toMatch(/\x1b\[/);
  const lines = result.stderr
    .split('\n')
    .filter(Boolean)
    .map((text) => {
      // Every stderr line is a JSON log line (the format when stderr is piped), not a bar.
      const line = JSON.parse(text) as ProgressLine;
      expect(line.module, text).toBe('progress');
      return line;
    });
  return { ...result, lines };
}

/**
 * Proves progress was reported while the work ran: a line of `operation` in `unit` before the
 * end with some but not all done (with no total known, some done), and a closing line.
 */
export function expectLiveProgress(lines: ProgressLine[], operation: string | RegExp, unit: string): void {
  const ours = lines.filter(
    (l) =>
      (typeof operation === 'string' ? l.operation === operation : operation.test(l.operation)) &&
      l.unit === unit,
  );
  const during = ours.filter(
    (l) => l.finished === undefined && l.done > 0 && (l.total === undefined || l.done < l.total),
  );
  expect(
    during.length,
    `a ${operation} line in ${unit} while the work ran: ${JSON.stringify(ours)}`,
  ).toBeGreaterThan(0);
  expect(during[0]?.msg).toMatch(/\/s/); // a rate
  const closing = ours.at(-1);
  expect(closing?.finished, JSON.stringify(closing)).toBe(true);
  expect(lines.indexOf(during[0] as ProgressLine)).toBeLessThan(lines.indexOf(closing as ProgressLine));
}

/** A CSV of `rows` rows (id, name, amount, at), about 50 bytes a row, written by DuckDB. */
export async function writeBigCsv(file: string, rows: number): Promise<void> {
  const engine = await Engine.create({ threads: 2 });
  try {
    await engine.run(
      `COPY (SELECT i AS id, 'name-' || i AS name, i * 0.25 AS amount,
                    TIMESTAMP '2024-01-01 00:00:00' + to_seconds(i) AS at
             FROM range(${rows}) t(i)) TO ${quoteLiteral(file)} (FORMAT csv, HEADER true)`,
    );
  } finally {
    await engine.close();
  }
}
