// Child of fs-meta-crash.test.ts: opens a storage on a root in the legacy metadata layout and
// lists it, which migrates the root; the parent kills it with SIGKILL somewhere in the middle.
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { listKeys } from '../../src/storage/scoped.ts';

const [root] = process.argv.slice(2);
const storage = createFsStorage({ root: root! });
process.stdout.write('STARTED\n');
const started = performance.now();
await listKeys(storage);
process.stdout.write(`DONE ${Math.round(performance.now() - started)}\n`);
