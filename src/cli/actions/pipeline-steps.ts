/** The step table of a pipeline run, printed by `sluice run` and `sluice demo`. */
import { formatBytes } from '../../util/sizes.ts';
import { invokedAs } from '../invoked-as.ts';
import { printTable } from '../output.ts';

export interface StepRow {
  step: string;
  status: string;
  files: number;
  rows: number;
  bytes: number;
  durationMs: number;
  errors: string[];
  note?: string;
}

export function printSteps(steps: StepRow[]): void {
  printTable(
    steps.map((s) => ({
      step: s.step,
      status: s.status,
      files: s.files,
      rows: s.rows,
      size: formatBytes(s.bytes),
      seconds: (s.durationMs / 1000).toFixed(2),
      note: s.note ?? errorNote(s.errors),
    })),
  );
}

/**
 * A failed step's errors in the table: their codes only. The first message is the command's
 * error line on stderr, so it is printed once; every message is in `sluice status --json`, named
 * as this shell runs it.
 */
function errorNote(errors: string[]): string {
  if (errors.length === 0) return '';
  const codes = new Set(errors.flatMap((e) => /^(E\d{3}):/.exec(e)?.[1] ?? []));
  const all = errors.length > 1 ? ` (${errors.length} errors: ${invokedAs()} status --json)` : '';
  return `${codes.size > 0 ? [...codes].join(', ') : 'failed'}${all}`;
}
