/** Which operation called the writer, for metrics metadata (the seed's `_get_caller_info`) and lineage. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The first stack frame outside the writer: its function and the file it is in. */
export interface CallerFrame {
  /** The file's base name without extension (`anonymize` for `…/ops/anonymize.ts`). */
  module: string;
  function: string;
  /** The file's path as the stack names it (undefined for frames without one, e.g. a REPL). */
  file?: string;
}

const WRITER_FRAMES = /[/\\]src[/\\]writer[/\\]/;

export function callerFrame(skip: RegExp = WRITER_FRAMES): CallerFrame {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const match = /^\s*at (?:(?:async )?(\S+) \()?(.*?):\d+:\d+\)?$/.exec(line);
    if (!match) continue;
    const file = match[2] ?? '';
    if (skip.test(file) || file.startsWith('node:')) continue;
    const local = localPath(file);
    return {
      module: path.basename(local).replace(/\.[cm]?[jt]s$/, ''),
      function: match[1] ?? '<anonymous>',
      ...(path.isAbsolute(local) ? { file: local } : {}),
    };
  }
  return { module: 'unknown', function: 'unknown' };
}

export function callerInfo(skip: RegExp = WRITER_FRAMES): { module: string; function: string } {
  const { module, function: fn } = callerFrame(skip);
  return { module, function: fn };
}

function localPath(file: string): string {
  if (!file.startsWith('file://')) return file;
  try {
    return fileURLToPath(file);
  } catch {
    return file.slice('file://'.length);
  }
}
