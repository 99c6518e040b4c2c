// Child of crash.test.ts: streams a large body into `key`, slowly, so the parent can kill -9 it
// in the middle. Prints STARTED once bytes are flowing.
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';

const [root, key, mb] = process.argv.slice(2);
const storage = createFsStorage({ root: root! });
const chunk = Buffer.alloc(1024 * 1024, 0x6e); // 'n'
async function* body() {
  for (let i = 0; i < Number(mb); i++) {
    if (i === 2) process.stdout.write('STARTED\n');
    await new Promise((r) => setTimeout(r, 5));
    yield chunk;
  }
}
await storage.put(key!, body());
process.stdout.write('DONE\n');
