import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TimeSeriesStore } from '../../src/timeseries/index.ts';
import { legacyStoreDigest, storeDigest } from '../../src/timeseries/store-url.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

const home = process.env.HOME;
afterEach(() => {
  process.env.HOME = home;
});

describe('an S3 store log from before canonical identities', () => {
  it('is moved into place when a writer opens the store, and its acknowledged points are kept', async () => {
    const b = await freshBucket('ts-legacy');
    const url = b.url('legacy/'); // the trailing slash: its old folder differs from the canonical one
    expect(legacyStoreDigest(url)).not.toBe(storeDigest(url));
    process.env.HOME = tempDir('ts-legacy-home');
    const tsWal = path.join(os.homedir(), '.cache', 'sluice', 'ts-wal');
    const legacyDir = path.join(tsWal, legacyStoreDigest(url));
    const options = { storage: s3Options(), compactIntervalMs: 0, compactPoints: 0 };
    // As the previous version left it: acknowledged points in the log under the typed URL's digest.
    const old = await TimeSeriesStore.open(url, { ...options, walDir: legacyDir });
    const t0 = Date.UTC(2024, 0, 1);
    await old.storeDataPoints(
      Array.from({ length: 100 }, (_, i) => ({ variable: 'x', timestamp: t0 + i * 1000, value: i })),
    );
    await old.close();
    expect(existsSync(legacyDir)).toBe(true);

    const store = await TimeSeriesStore.open(url, options);
    try {
      expect(existsSync(legacyDir)).toBe(false);
      expect(existsSync(path.join(tsWal, storeDigest(url)))).toBe(true);
      expect((await store.queryAll('x')).map((p) => p.value)).toEqual(
        Array.from({ length: 100 }, (_, i) => i),
      );
      await store.compact();
    } finally {
      await store.close();
    }
    const reader = await TimeSeriesStore.open(b.url('legacy'), {
      ...options,
      readOnly: true,
      walDir: path.join(tempDir('ts-legacy-reader'), 'wal'),
    });
    try {
      expect((await reader.queryAll('x')).length).toBe(100);
    } finally {
      await reader.close();
    }
  });
});
