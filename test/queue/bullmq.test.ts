import { randomBytes } from 'node:crypto';
import { createBullmqQueue } from '../../src/queue/drivers/bullmq.ts';
import { queueConformance } from './conformance.ts';

// Real redis-server; a unique prefix per file keeps runs apart (never flushed).
const prefix = `sluice-test-${randomBytes(4).toString('hex')}`;
queueConformance('bullmq', (opts) => createBullmqQueue({ ...opts, url: 'redis://127.0.0.1:6379/0', prefix }));
