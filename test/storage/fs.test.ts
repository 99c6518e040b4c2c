import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { tempDir } from '../helpers/tmp.ts';
import { storageConformance } from './conformance.ts';

const dir = tempDir('sluice-fs');
storageConformance('fs', async () => createFsStorage({ root: dir }));
