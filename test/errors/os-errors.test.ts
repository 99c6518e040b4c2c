/**
 * fromOsError and userFacingError on errors the OS really raised (temp files and folders, no
 * mocks): codes, the path named, the part of a path that is in the way, and no Node wording.
 * Permission, full-disk and read-only cases need a second user or a mount: test/cli/os-errors.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  DataWriteError,
  NotFoundError,
  SluiceError,
  StorageError,
} from '../../src/errors.ts';
import { fromOsError, userFacingError } from '../../src/os-errors.ts';
import { tempDir } from '../helpers/tmp.ts';

/** The error a real call throws (each case below makes one fail). */
function thrown(fn: () => unknown): NodeJS.ErrnoException {
  try {
    fn();
  } catch (error) {
    return error as NodeJS.ErrnoException;
  }
  throw new Error('expected the call to fail');
}

describe('fromOsError', () => {
  const dir = tempDir('os-errors');
  const file = path.join(dir, 'a-file');
  writeFileSync(file, 'x');
  const folder = path.join(dir, 'a-folder');
  mkdirSync(folder);

  it('ENOENT on a read: E011 "<path> does not exist"', () => {
    const missing = path.join(dir, 'missing.csv');
    const e = fromOsError(thrown(() => readFileSync(missing)));
    expect(e?.code).toBe('E011');
    expect(e?.message).toBe(`${missing} does not exist`);
    expect(e?.context).toMatchObject({ path: missing, errno: 'ENOENT', syscall: 'open' });
  });

  it('ENOENT on a write names the missing folder; the path given wins over the syscall’s', () => {
    const target = path.join(dir, 'no-folder', 'out.csv');
    const e = fromOsError(
      thrown(() => writeFileSync(`${target}.tmp`, 'x')),
      { path: target, access: 'write' },
    );
    expect(e?.code).toBe('E011');
    expect(e?.message).toBe(`cannot write ${target}: its folder ${path.dirname(target)} does not exist`);
    expect(e?.message).not.toContain('.tmp');
  });

  it('ENOTDIR names the part of the path that is a file: E011 reading, E012 writing', () => {
    const under = path.join(file, 'x', 'y.csv');
    const read = fromOsError(thrown(() => readFileSync(under)));
    expect(read?.code).toBe('E011');
    expect(read?.message).toBe(`${under} does not exist: ${file} is not a directory`);
    const write = fromOsError(thrown(() => mkdirSync(path.join(file, 'sub'), { recursive: true })));
    expect(write?.code).toBe('E012');
    expect(write?.message).toContain(`${file} is not a directory`);
    const listing = fromOsError(thrown(() => readdirSync(file)));
    expect(listing?.message).toBe(`${file} is not a directory`);
  });

  it('a file where mkdir -p needs a folder (EEXIST) is E012 "is not a directory", not "already exists"', () => {
    const e = fromOsError(
      thrown(() => mkdirSync(file, { recursive: true })),
      {
        path: path.join(file, 'obj'),
      },
    );
    expect(e?.code).toBe('E012');
    expect(e?.message).toBe(`cannot write ${path.join(file, 'obj')}: ${file} is not a directory`);
    const exists = fromOsError(thrown(() => mkdirSync(folder)));
    expect(exists?.code).toBe('E013');
    // Callers branch on the classes (ingest retries a name on AlreadyExistsError).
    expect(exists).toBeInstanceOf(AlreadyExistsError);
    expect(e).toBeInstanceOf(StorageError);
    expect(fromOsError(thrown(() => readFileSync(path.join(dir, 'gone'))))).toBeInstanceOf(NotFoundError);
    expect(exists?.message).toBe(`${folder} already exists`);
  });

  it('EISDIR: E012 "<path> is a directory"', () => {
    const e = fromOsError(
      thrown(() => readFileSync(folder)),
      { path: folder },
    );
    expect(e?.code).toBe('E012');
    expect(e?.message).toBe(`${folder} is a directory, not a file`);
    const w = fromOsError(thrown(() => writeFileSync(folder, 'x')));
    expect(w?.message).toBe(`${folder} is a directory, not a file`);
  });

  it('EMFILE (a real one, under ulimit -n 40): E012 naming the file, marked retryable', () => {
    const script = `
      import { openSync } from 'node:fs';
      import { fromOsError } from ${JSON.stringify(path.resolve(import.meta.dirname, '../../src/os-errors.ts'))};
      try { for (;;) openSync(${JSON.stringify(file)}, 'r'); }
      catch (e) { const m = fromOsError(e); console.log(JSON.stringify({ code: m?.code, message: m?.message, retryable: m?.context.retryable })); }`;
    const out = execFileSync(
      'bash',
      ['-c', 'ulimit -n 40 && exec "$0" --input-type=module -e "$1"', process.execPath, script],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    expect(JSON.parse(out.toString())).toEqual({
      code: 'E012',
      message: `too many open files opening ${file}; raise the limit (ulimit -n) or lower the concurrency`,
      retryable: true,
    });
  });

  it('leaves SluiceErrors, errors without an errno code and unknown codes to the caller', async () => {
    expect(fromOsError(new StorageError('x'))).toBeUndefined();
    expect(fromOsError(new Error('plain'))).toBeUndefined();
    expect(fromOsError('text')).toBeUndefined();
    expect(fromOsError(Object.assign(new Error('odd'), { code: 'EXDEV' }))).toBeUndefined();
    // Async errors carry the same fields.
    const e = await fsp.readFile(path.join(dir, 'nope')).then(
      () => undefined,
      (error: unknown) => fromOsError(error),
    );
    expect(e?.code).toBe('E011');
  });

  it('never puts Node’s wording or a stack in the message, and keeps the OS error as the cause', () => {
    const raw = thrown(() => readFileSync(path.join(file, 'x')));
    const e = fromOsError(raw) as SluiceError;
    expect(e.message).not.toMatch(/ENOTDIR|scandir|open '|\n\s+at /);
    expect(e.cause).toBe(raw);
    expect(String(e)).toMatch(/^E011: /);
  });
});

describe('userFacingError (what the CLI prints)', () => {
  const dir = tempDir('user-facing');
  const file = path.join(dir, 'f');
  writeFileSync(file, 'x');

  it('maps a raw OS error; wraps anything else as E099 as before', () => {
    expect(userFacingError(thrown(() => readFileSync(path.join(dir, 'gone')))).code).toBe('E011');
    expect(userFacingError(new Error('boom')).code).toBe('E099');
  });

  it('a step that wrapped an OS error gives way to its code, its text replaced by the user’s words', () => {
    const raw = thrown(() => mkdirSync(path.join(file, 'out'), { recursive: true }));
    const wrapped = new DataWriteError(`writeDataframe out failed: ${raw.message}`, { cause: raw });
    const shown = userFacingError(wrapped);
    expect(shown.code).toBe('E012');
    expect(shown.message).toBe(
      `writeDataframe out failed: cannot write ${path.join(file, 'out')}: ${file} is not a directory`,
    );
    expect(shown.message).not.toContain('ENOTDIR');
  });

  it('a driver’s translation in the chain wins (it names the object, not a temp file)', () => {
    const raw = Object.assign(new Error(`EACCES: permission denied, open '${dir}/.x.tmp'`), {
      code: 'EACCES',
      syscall: 'open',
      path: `${dir}/.x.tmp`,
    });
    const driver = fromOsError(raw, { path: `${dir}/x`, access: 'write' }) as SluiceError;
    const wrapped = new DataWriteError(`writeDataframe x failed: ${driver.message}`, { cause: driver });
    const shown = userFacingError(wrapped);
    expect(shown.code).toBe('E012');
    expect(shown.message).toBe(`writeDataframe x failed: permission denied: ${dir}/x`);
  });

  it('keeps the code of an error about the user’s input (config, format, encryption), only rewording', () => {
    const raw = thrown(() => readFileSync(path.join(dir, 'sluice.config.yaml')));
    const config = new SluiceError('E001', `Cannot read config file sluice.config.yaml: ${raw.message}`, {
      cause: raw,
    });
    const shown = userFacingError(config);
    expect(shown.code).toBe('E001');
    expect(shown.message).toBe(
      `Cannot read config file sluice.config.yaml: ${path.join(dir, 'sluice.config.yaml')} does not exist`,
    );
    const plain = new SluiceError('E021', 'bad.csv line 3: unclosed quote');
    expect(userFacingError(plain)).toBe(plain);
  });
});
