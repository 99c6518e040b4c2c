import { createMemoryStorage } from '../../src/storage/drivers/memory.ts';
import { storageConformance } from './conformance.ts';

storageConformance('memory', async () => createMemoryStorage());
