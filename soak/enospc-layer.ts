/**
 * The fs fault layer of the soak, for machines where a tmpfs cannot be mounted: loaded into a
 * sluice process by soak/preload.ts, it makes JavaScript writes to files under
 * `$SOAK_ENOSPC_DIR` fail with ENOSPC while `$SOAK_ENOSPC_FLAG` exists, appending one byte to
 * `$SOAK_ENOSPC_LOG` per refusal. It covers node:fs (callback, sync, promises and FileHandle)
 * writes and file creation; native writers (node:sqlite, DuckDB) bypass it.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';

const root = path.resolve(process.env.SOAK_ENOSPC_DIR ?? '/nonexistent');
const flag = process.env.SOAK_ENOSPC_FLAG ?? '';
const log = process.env.SOAK_ENOSPC_LOG ?? '';
const under = (p: unknown) =>
  (typeof p === 'string' || p instanceof URL || Buffer.isBuffer(p)) &&
  `${path.resolve(String(p instanceof URL ? p.pathname : p))}/`.startsWith(`${root}/`);

let checkedAt = 0;
let full = false;
const diskFull = () => {
  const now = Date.now();
  if (now - checkedAt > 20) {
    checkedAt = now;
    full = fs.existsSync(flag);
  }
  return full;
};

const fdPaths = new Map<number, string>();
const enospc = (syscall: string, where?: string) => {
  try {
    fs.appendFileSync(log, 'x');
  } catch {
    // Counting is best effort.
  }
  return Object.assign(
    new Error(`ENOSPC: no space left on device, ${syscall}${where ? ` '${where}'` : ''}`),
    {
      code: 'ENOSPC',
      errno: -28,
      syscall,
      ...(where ? { path: where } : {}),
    },
  );
};
const refuseFd = (fd: unknown) => typeof fd === 'number' && fdPaths.has(fd) && diskFull();
const writesData = (flags: unknown) => typeof flags === 'string' && /[wa+]/.test(flags);

// biome-ignore lint/suspicious/noExplicitAny: patching node:fs generically
type Fn = (...args: any[]) => any;
const mod = fs as unknown as Record<string, Fn>;
const patch = (name: string, wrap: (orig: Fn) => Fn) => {
  const orig = mod[name];
  if (orig) mod[name] = wrap(orig.bind(fs));
};

patch('openSync', (orig) => (p, flags, ...rest) => {
  if (under(p) && writesData(flags) && diskFull()) throw enospc('open', String(p));
  const fd = orig(p, flags, ...rest) as number;
  if (under(p)) fdPaths.set(fd, String(p));
  return fd;
});
patch('open', (orig) => (p, ...rest) => {
  const cb = rest.pop() as Fn;
  if (under(p) && writesData(rest[0]) && diskFull()) return process.nextTick(cb, enospc('open', String(p)));
  return orig(p, ...rest, (err: unknown, fd: number) => {
    if (!err && under(p)) fdPaths.set(fd, String(p));
    cb(err, fd);
  });
});
for (const name of ['closeSync', 'close'])
  patch(name, (orig) => (fd, ...rest) => {
    fdPaths.delete(fd);
    return orig(fd, ...rest);
  });
for (const name of ['writeSync', 'writevSync', 'fdatasyncSync', 'fsyncSync'])
  patch(name, (orig) => (fd, ...rest) => {
    if (refuseFd(fd)) throw enospc(name.replace('Sync', ''), fdPaths.get(fd));
    return orig(fd, ...rest);
  });
for (const name of ['write', 'writev'])
  patch(name, (orig) => (fd, ...rest) => {
    if (refuseFd(fd)) return process.nextTick(rest.at(-1) as Fn, enospc(name, fdPaths.get(fd)));
    return orig(fd, ...rest);
  });
for (const name of ['writeFileSync', 'appendFileSync'])
  patch(name, (orig) => (p, ...rest) => {
    if ((under(p) || refuseFd(p)) && diskFull()) throw enospc('write', String(p));
    return orig(p, ...rest);
  });

const promises = fs.promises as unknown as Record<string, Fn>;
for (const name of ['writeFile', 'appendFile']) {
  const orig = promises[name]?.bind(fs.promises);
  if (orig)
    promises[name] = async (p, ...rest) => {
      if (under(p) && diskFull()) throw enospc('write', String(p));
      return orig(p, ...rest);
    };
}
const openPromise = promises.open?.bind(fs.promises);
if (openPromise) {
  promises.open = async (p, flags, ...rest) => {
    if (under(p) && writesData(flags) && diskFull()) throw enospc('open', String(p));
    const handle = await openPromise(p, flags, ...rest);
    if (under(p)) {
      for (const name of ['write', 'writev', 'writeFile', 'appendFile', 'sync', 'datasync']) {
        const orig = handle[name]?.bind(handle);
        if (orig)
          handle[name] = async (...args: unknown[]) => {
            if (diskFull()) throw enospc(name, String(p));
            return orig(...args);
          };
      }
    }
    return handle;
  };
}
syncBuiltinESMExports();
