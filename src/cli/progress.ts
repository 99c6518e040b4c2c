import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';
import type { ProgressEvent } from '../util/progress.ts';
import { formatBytes } from '../util/sizes.ts';

export type { ProgressEvent };

export interface ProgressReporter {
  update(event: ProgressEvent): void;
  stop(): void;
}

/**
 * A bar on stderr when it is a terminal (or SLUICE_PROGRESS=1), otherwise nothing: piped output
 * and CI logs stay clean. One bar per operation name.
 */
export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const enabled =
    process.env.SLUICE_PROGRESS === '1' || (stream.isTTY === true && process.env.SLUICE_PROGRESS !== '0');
  if (!enabled) return { update() {}, stop() {} };
  // Loaded only when a bar is drawn: piped and scripted runs never pay for it.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule;
  const multi = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      format: ' {operation} |{bar}| {percentage}% {doneText}/{totalText}',
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgressModule.SingleBar>();
  const text = (n: number, unit: ProgressEvent['unit']) =>
    unit === 'bytes' ? formatBytes(n) : `${n} ${unit}`;
  return {
    update(event) {
      const total = event.total ?? 0;
      const payload = {
        operation: event.operation,
        doneText: text(event.done, event.unit),
        totalText: event.total === undefined ? '?' : text(total, event.unit),
      };
      let bar = bars.get(event.operation);
      if (!bar) {
        bar = multi.create(total, event.done, payload);
        bars.set(event.operation, bar);
      }
      if (event.total !== undefined) bar.setTotal(total);
      bar.update(event.done, payload);
    },
    stop() {
      multi.stop();
    },
  };
}
