/** Which operation called the writer, for metrics metadata (the seed's `_get_caller_info`). */
import path from 'node:path';

export function callerInfo(skip: RegExp = /[/\\]src[/\\]writer[/\\]/): { module: string; function: string } {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const match = /^\s*at (?:(?:async )?(\S+) \()?(.*?):\d+:\d+\)?$/.exec(line);
    if (!match) continue;
    const file = match[2] ?? '';
    if (skip.test(file) || file.startsWith('node:')) continue;
    const base = path.basename(file.replace(/^file:\/\//, ''));
    return { module: base.replace(/\.[cm]?[jt]s$/, ''), function: match[1] ?? '<anonymous>' };
  }
  return { module: 'unknown', function: 'unknown' };
}
