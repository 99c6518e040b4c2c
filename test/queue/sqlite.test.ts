import path from 'node:path';
import { createSqliteQueue } from '../../src/queue/drivers/sqlite.ts';
import { tempDir } from '../helpers/tmp.ts';
import { queueConformance } from './conformance.ts';

const dir = tempDir('sluice-queue');
queueConformance('sqlite', (opts) =>
  createSqliteQueue({ ...opts, path: path.join(dir, 'queue.db'), pollMs: 10 }),
);
