/**
 * OS errors a user causes — a missing or mistyped path, permissions, a full or read-only disk —
 * in the user's words: E011/E012 naming the path, never Node's `EACCES: permission denied, open
 * '…'` (which names a syscall and, for atomic writes, a temp file) and never E099. The one place
 * that translates them: the fs storage driver, the commands and the CLI's top-level handler
 * (userFacingError) all come here.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import {
  AlreadyExistsError,
  type ErrorCode,
  NotFoundError,
  SluiceError,
  StorageError,
  toSluiceError,
} from './errors.ts';

const OS_ERROR_CLASSES = { E011: NotFoundError, E012: StorageError, E013: AlreadyExistsError } as const;

export interface OsErrorOptions {
  /** The path to name (say, the object being written, not its temp file). @default the error's path */
  path?: string;
  /** Whether the failed call read or wrote; words ENOENT and ENOTDIR. @default guessed from the syscall */
  access?: 'read' | 'write';
  /** More context for the error (a storage key, say). */
  context?: Record<string, unknown>;
  /** What the failure means for the caller's data, appended to the message ("the batch was not stored"). */
  outcome?: string;
}

/** The errnos of a full disk (or a full quota). */
export const DISK_FULL_CODES: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT']);

/**
 * A full disk anywhere in an error's causes, raw (`code`) or as sluice words it (E012 with its
 * `context.errno`): the bytes were fine, the disk was not.
 */
export function isDiskFull(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e !== null && typeof e === 'object'; depth++) {
    const { code, context } = e as { code?: unknown; context?: { errno?: unknown } };
    if (DISK_FULL_CODES.has(String(code)) || DISK_FULL_CODES.has(String(context?.errno))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * ENOSPC as the OS reports it, for a full disk no errno names: a short write (libuv keeps the
 * errno of the write after it to itself), SQLite's SQLITE_FULL, DuckDB's "No space left on
 * device". Pass it to fromOsError to word it.
 */
export function diskFull(file: string, syscall = 'write', cause?: unknown): NodeJS.ErrnoException {
  const message = `ENOSPC: no space left on device, ${syscall} '${file}'`;
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), {
    code: 'ENOSPC',
    errno: -28,
    syscall,
    path: file,
  });
}

/** Syscalls that change the file system: their ENOENT/ENOTDIR are about writing, not a missing input. */
const WRITING_SYSCALLS = new Set([
  'mkdir',
  'rename',
  'link',
  'symlink',
  'unlink',
  'rmdir',
  'copyfile',
  'write',
]);

/**
 * The first component of `file` that exists but is not a directory (`/a/f` for `/a/f/x/y` when
 * `/a/f` is a file): ENOTDIR names the whole path, the user needs to know which part is wrong.
 */
function fileInTheWay(file: string): string {
  const parts = path.resolve(file).split(path.sep);
  for (let i = 2; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join(path.sep);
    const st = statSync(prefix, { throwIfNoEntry: false });
    if (st === undefined) break;
    if (!st.isDirectory()) return path.isAbsolute(file) ? prefix : path.relative(process.cwd(), prefix);
  }
  return file;
}

/** Why folders cannot be made under the deepest existing ancestor of `dir`, if it says (EROFS, EACCES). */
function whyNoFolder(dir: string): Error | undefined {
  let existing = path.resolve(dir);
  while (statSync(existing, { throwIfNoEntry: false }) === undefined && path.dirname(existing) !== existing)
    existing = path.dirname(existing);
  try {
    accessSync(existing, constants.W_OK);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/**
 * The one translation of OS errors a user causes (a missing or mistyped path, permissions, a
 * full or read-only disk) into E011/E012 errors that name the path, in the user's words; Node's
 * own text (`EACCES: permission denied, open '…'`) names a syscall and, for atomic writes, a temp
 * file. Returns undefined for anything else, which callers report as they did before.
 */
export function fromOsError(error: unknown, options: OsErrorOptions = {}): SluiceError | undefined {
  if (error instanceof SluiceError || !(error instanceof Error)) return undefined;
  const e = error as NodeJS.ErrnoException;
  if (typeof e.code !== 'string') return undefined;
  const where = options.path ?? e.path;
  const at = where === undefined ? '' : ` ${where}`;
  const writing =
    options.access === undefined ? WRITING_SYSCALLS.has(e.syscall ?? '') : options.access === 'write';
  const context = {
    ...options.context,
    ...(where === undefined ? {} : { path: where }),
    errno: e.code,
    syscall: e.syscall,
  };
  // The classes, not bare codes: callers branch on `instanceof NotFoundError` / `AlreadyExistsError`.
  const then = options.outcome === undefined ? '' : `; ${options.outcome}`;
  const make = (code: keyof typeof OS_ERROR_CLASSES, message: string, retryable = false) =>
    new OS_ERROR_CLASSES[code](`${message}${then}`, {
      cause: error,
      context: retryable ? { ...context, retryable } : context,
    });
  switch (e.code) {
    case 'ENOENT': {
      if (!writing || where === undefined)
        return make('E011', `${where ?? 'a file or folder'} does not exist`);
      // mkdir -p reports ENOENT when a folder on the way could not be made (read-only, no
      // permission): ask the deepest existing folder why.
      const blocked = e.syscall === 'mkdir' && e.path !== undefined ? whyNoFolder(e.path) : undefined;
      if (blocked) return fromOsError(blocked, { ...options, path: where, access: 'write' });
      return make('E011', `cannot write ${where}: its folder ${path.dirname(where)} does not exist`);
    }
    case 'ENOTDIR': {
      const part = where === undefined ? undefined : fileInTheWay(where);
      const notDir =
        part === undefined ? 'a part of the path is not a directory' : `${part} is not a directory`;
      if (part === where) return make(writing ? 'E012' : 'E011', notDir);
      return writing
        ? make('E012', `cannot write${at}: ${notDir}`)
        : make('E011', `${where ?? 'the path'} does not exist: ${notDir}`);
    }
    case 'EEXIST':
      // mkdir -p fails this way when a file sits where a folder is needed.
      if (e.syscall === 'mkdir' && e.path !== undefined) {
        const st = statSync(e.path, { throwIfNoEntry: false });
        if (st && !st.isDirectory())
          return make('E012', `${where === e.path ? '' : `cannot write${at}: `}${e.path} is not a directory`);
      }
      return make('E013', `${where ?? 'the target'} already exists`);
    case 'EISDIR':
      return make('E012', `${where ?? 'the path'} is a directory, not a file`);
    case 'EACCES':
    case 'EPERM':
      return make('E012', `permission denied:${at || ' (no path given)'}`);
    case 'ENOSPC':
      return make('E012', `disk full writing${at || ' a file'} (no space left on device)`);
    case 'EDQUOT':
      return make('E012', `disk quota exceeded writing${at || ' a file'}`);
    case 'EROFS':
      return make('E012', `read-only file system: cannot write${at || ' there'}`);
    case 'EMFILE':
    case 'ENFILE':
      return make(
        'E012',
        `too many open files${at ? ` opening${at}` : ''}; raise the limit (ulimit -n) or lower the concurrency`,
        true,
      );
    case 'ENAMETOOLONG':
      return make('E012', `file name too long:${at}`);
    case 'ELOOP':
      return make('E012', `too many levels of symbolic links:${at}`);
    case 'EBUSY':
    case 'ETXTBSY':
      return make('E012', `${where ?? 'the file'} is busy (in use by another process)`, true);
    case 'ENOTEMPTY':
      return make('E012', `${where ?? 'the folder'} is not empty`);
    case 'EIO':
      return make('E012', `I/O error on${at || ' the disk'} (the disk or network mount failed)`, true);
    default:
      return undefined;
  }
}

/** Codes that only say which step failed: an OS error beneath one is what the user must fix. */
const WRAPPER_CODES: ReadonlySet<ErrorCode> = new Set([
  'E006',
  'E030',
  'E040',
  'E050',
  'E060',
  'E070',
  'E099',
]);

const OS_CODES: ReadonlySet<ErrorCode> = new Set(['E011', 'E012', 'E013']);

/** The OS error in a cause chain: one a driver already translated (it names the right path), or a raw one. */
function osCause(error: SluiceError): { mapped: SluiceError; raw: Error } | undefined {
  let raw: Error | undefined;
  for (let e: unknown = error.cause, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof SluiceError && typeof e.context.errno === 'string' && OS_CODES.has(e.code))
      return { mapped: e, raw: e };
    if (
      raw === undefined &&
      typeof (e as NodeJS.ErrnoException).code === 'string' &&
      !(e instanceof SluiceError)
    )
      raw = e;
  }
  const mapped = raw && fromOsError(raw);
  return raw && mapped ? { mapped, raw } : undefined;
}

/**
 * What the CLI prints for a failure: OS errors in the user's words (see fromOsError), also when a
 * step wrapped one (`E040: writeDataframe out failed: EACCES: …` becomes `E012: writeDataframe out
 * failed: permission denied: /path`); a wrapper's code gives way to the OS error's, whose
 * resolution (permissions, free space, the path) is the one that helps.
 */
export function userFacingError(error: unknown): SluiceError {
  if (!(error instanceof SluiceError)) return fromOsError(error) ?? toSluiceError(error);
  const os = osCause(error);
  if (os === undefined) return error;
  const message = error.message.includes(os.raw.message)
    ? error.message.replace(os.raw.message, os.mapped.message)
    : error.message;
  if (message === error.message && !WRAPPER_CODES.has(error.code)) return error;
  const code = WRAPPER_CODES.has(error.code) ? os.mapped.code : error.code;
  return new SluiceError(code, message, {
    cause: error,
    context: { ...error.context, ...os.mapped.context },
  });
}
