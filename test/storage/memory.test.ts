import { createMemoryStorage } from '../../src/storage/drivers/memory/memory-storage.ts';
import { storageConformance } from './conformance.ts';

storageConformance('memory', async () => createMemoryStorage());
