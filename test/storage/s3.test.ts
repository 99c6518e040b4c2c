import { openStorage } from '../../src/storage/open.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { storageConformance } from './conformance.ts';

storageConformance(
  's3',
  async () => {
    const { url } = await freshBucket('conformance');
    // A prefix inside the bucket, so the driver's rooting is exercised too.
    return openStorage(url('root/'), s3Options());
  },
  { walkOrderListing: true },
);
