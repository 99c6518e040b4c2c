import * as fsp from 'node:fs/promises';
import path from 'node:path';

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

interface DirState {
  /** The fsync now running, if any. */
  running?: Promise<void>;
  /** A batch that has not started its fsync yet: later callers join it. */
  pending?: Promise<void>;
}

const dirs = new Map<string, DirState>();

/**
 * Group commit for directory fsyncs. A rename is durable once its directory is fsynced *after*
 * it; callers whose renames are already done share the next fsync of that directory instead of
 * each running their own, so N concurrent puts into one folder cost ~2 directory fsyncs, not N.
 * A caller never joins an fsync that started before it asked, so every rename is covered.
 */
export function syncDirectory(dir: string): Promise<void> {
  let state = dirs.get(dir);
  if (!state) {
    state = {};
    dirs.set(dir, state);
  }
  if (state.pending) return state.pending;
  const st = state;
  let batch!: Promise<void>;
  batch = (async () => {
    // Let the assignment below happen first, so joiners see this batch as pending.
    await Promise.resolve();
    if (st.running) await st.running.catch(() => undefined);
    // From here on the fsync covers everything already renamed; newcomers start a new batch.
    if (st.pending === batch) st.pending = undefined;
    const run = fsyncDir(dir);
    st.running = run;
    try {
      await run;
    } finally {
      if (st.running === run) st.running = undefined;
      if (!st.running && !st.pending) dirs.delete(dir);
    }
  })();
  st.pending = batch;
  return batch;
}

/** Durable folder creations under way: each settles once its new folders' entries are fsynced. */
const creating = new Set<Promise<void>>();

/**
 * `mkdir -p` whose new folders survive a crash: a folder's entry lives in its parent, so each
 * parent of a folder created here is fsynced (outermost first). Folders that already existed
 * cost nothing extra — except that a folder another caller has just created may not be durable
 * yet, so every durable call also waits for the creations under way when its own mkdir is done
 * (and fails if one of them failed). Without `durable`, a plain `mkdir -p`.
 */
export async function makeDirectory(dir: string, durable: boolean): Promise<void> {
  if (!durable) {
    await fsp.mkdir(dir, { recursive: true });
    return;
  }
  const own = (async () => {
    const first = await fsp.mkdir(dir, { recursive: true });
    if (first === undefined) return;
    const chain: string[] = [];
    for (let d = path.resolve(dir); ; d = path.dirname(d)) {
      chain.push(path.dirname(d));
      if (d === path.resolve(first) || path.dirname(d) === d) break;
    }
    for (const parent of chain.reverse()) await syncDirectory(parent);
  })();
  // Registered before its mkdir can finish, so any caller that finds these folders sees it.
  creating.add(own);
  own.then(
    () => creating.delete(own),
    () => creating.delete(own),
  );
  await own;
  await Promise.all([...creating].filter((p) => p !== own));
}
