/**
 * Promotion under transient read faults, with the real AWS SDK (one attempt per request) and
 * s3rver behind the fault proxy. The fault soak (docs/soak.md) saw promotions fail on a reset
 * or a cut body in any of their reads — the manifest, load records, the datasets validated in
 * DuckDB, the copies hashed — as E007, E099 ("aborted", "Unterminated string in JSON") or E005
 * ("not readable", "changed while it was being promoted"); with enough datasets no promotion got
 * through 12 attempts. Every read is now verified and retried: the promotion succeeds, and what
 * it publishes is the source's bytes.
 */
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Lake } from '../../src/pipeline/lake.ts';
import { Pipeline } from '../../src/pipeline/pipeline.ts';
import { DataPromoter } from '../../src/pipeline/promoter.ts';
import { closeS3Clients } from '../../src/storage/drivers/s3/s3-storage.ts';
import { openStorage } from '../../src/storage/open.ts';
import { type FaultProxy, type FaultRates, startFaultProxy } from '../helpers/fault-proxy.ts';
import { s3Endpoint, TEST_CREDENTIALS } from '../helpers/s3.ts';
import { project, seedProject } from './helpers.ts';

const proxies: FaultProxy[] = [];
afterAll(async () => {
  for (const p of proxies) await p.close();
  await closeS3Clients();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('promote under transient read faults', () => {
  it.each([
    ['reset', 'load records', '/_sluice/dev/datasets/'],
    ['short', 'load records', '/_sluice/dev/datasets/'],
    ['reset', 'datasets', '.parquet'],
    ['short', 'datasets', '.parquet'],
  ] as const)(
    'a %s body on the first reads of its %s is retried through; the promotion publishes the source bytes',
    async (fault, _what, pathIncludes) => {
      const { dir, config, lake } = await project('s3', `promote-faults-${fault}`);
      seedProject(dir);
      expect(await new Pipeline(config, { lake }).run('full')).toBe(true);
      const proxy = await startFaultProxy(s3Endpoint(), 5);
      proxies.push(proxy);
      const proxied = openStorage(config.lakeRoot, {
        s3: {
          endpoint: proxy.endpoint,
          region: 'us-east-1',
          forcePathStyle: true,
          credentials: TEST_CREDENTIALS,
          maxAttempts: 1,
        },
      });
      // Three reads in a row fail: the fourth attempt of the first one gets through.
      proxy.setRates({ [fault]: 1, maxFaults: 3, pathIncludes } satisfies FaultRates);
      const promoter = new DataPromoter(config, { lake: proxied });
      const result = await promoter.promote('dev', 'qa');
      expect(fault === 'reset' ? proxy.counters.resets : proxy.counters.shorts).toBe(3);
      expect(result.fileCount).toBeGreaterThan(0);

      const direct = new Lake(lake);
      const snap = await direct.snapshot('qa');
      expect(snap.version).toBe(result.version);
      for (const f of snap.files) {
        // Manifest keys are relative to the lake root (versions live in its _sluice/ folder).
        const published = await lake.get(f.key);
        const source = await direct.env('dev').get(f.path);
        expect(sha256(published), f.path).toBe(f.sha256);
        expect(sha256(source), f.path).toBe(f.sha256);
      }
      await proxied.close();
    },
    120_000,
  );
});
