/** `sluice lineage` and `sluice lineage verify` as a user runs them. */
import { createHash } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineageLog, lineageUrl, outputUrl } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const sha = (b: string) => createHash('sha256').update(b).digest('hex');

describe('sluice lineage', { timeout: 60_000 }, () => {
  const dir = tempDir('lineage-cli');
  const raw = path.join(dir, 'raw.csv');
  const lakeDir = path.join(dir, 'lake');
  writeFileSync(raw, 'a\n1\n');
  const lake = createFsStorage({ root: lakeDir });

  it('prints the chain up to the raw CSV and the model, and downstream; --json is the same tree', async () => {
    const log = new LineageLog(lake);
    const put = (key: string, body: string, operation: string, inputs: never[]) =>
      log.record({ output: outputUrl(lake, key), operation, inputs }, async () => {
        await lake.put(key, body);
        return { sha256: sha(body), size: body.length, rows: 1 };
      });
    await put('landing/a.parquet', 'L', 'pipeline.ingest', [
      { kind: 'file', url: lineageUrl(raw), sha256: sha('a\n1\n') },
    ] as never[]);
    await put('staging/a.parquet', 'S', 'pipeline.transform', [
      { kind: 'file', url: outputUrl(lake, 'landing/a.parquet'), sha256: sha('L') },
      { kind: 'model', name: 'a_model', sha256: sha('select 1') },
    ] as never[]);
    await log.flush();

    const up = await runSluice(['lineage', path.join(lakeDir, 'staging/a.parquet')]);
    expect(up.code, up.stderr).toBe(0);
    const lines = up.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/staging\/a\.parquet {2}pipeline\.transform {2}sha256 [0-9a-f]{12}… {2}1 row /);
    expect(lines[1]).toMatch(/^├─ file:\/\/.*landing\/a\.parquet {2}pipeline\.ingest/);
    expect(lines[2]).toMatch(/^│ {2}└─ file:\/\/.*raw\.csv {2}file {2}no lineage record {2}sha256 /);
    expect(lines[3]).toMatch(/^└─ a_model {2}model {2}sha256 /);
    const json = await runSluice(['lineage', path.join(lakeDir, 'staging/a.parquet'), '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      operation: 'pipeline.transform',
      inputs: [
        { operation: 'pipeline.ingest', inputs: [{ kind: 'file', status: 'unrecorded' }] },
        { kind: 'model' },
      ],
    });
    const shallow = await runSluice(['lineage', path.join(lakeDir, 'staging/a.parquet'), '--depth', '1']);
    expect(shallow.stdout).toContain('(deeper: raise --depth)');
    expect(shallow.stdout).not.toContain('raw.csv');
    const deeper = await runSluice(['lineage', path.join(lakeDir, 'staging/a.parquet'), '--depth', '2']);
    expect(deeper.stdout).not.toContain('(deeper: raise --depth)');
    expect(deeper.stdout).toContain('raw.csv');
    const down = await runSluice(['lineage', path.join(lakeDir, 'landing/a.parquet'), '--downstream']);
    expect(down.stdout).toMatch(
      /^file:\/\/.*landing\/a\.parquet.*\n└─ file:\/\/.*staging\/a\.parquet {2}pipeline\.transform/,
    );
  });

  it('an object input whose S3 is out of reach is a leaf line saying why; the trace exits 0', async () => {
    const other = createFsStorage({ root: path.join(dir, 'polled') });
    const log = new LineageLog(other);
    const body = '{"name":"t","value":1}';
    await log.record(
      {
        output: outputUrl(other, 'archive/x.json'),
        operation: 'poller.archive',
        inputs: [{ kind: 'object', url: 's3://lfin-cli-closed/in/x.json', etag: '"e9"' }],
      },
      async () => {
        await other.put('archive/x.json', body);
        return { sha256: sha(body), size: body.length };
      },
    );
    await log.flush();
    const env = {
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1', // nothing listens there
      AWS_ACCESS_KEY_ID: 'AKIDLFINCLI',
      AWS_SECRET_ACCESS_KEY: 'lfin-cli-secret',
    };
    const run = await runSluice(['lineage', path.join(dir, 'polled/archive/x.json')], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /\n└─ s3:\/\/lfin-cli-closed\/in\/x\.json {2}object {2}unreachable \(E007: Cannot reach S3 endpoint .*ECONNREFUSED\) {2}etag "e9"\n$/,
    );
    expect(run.stdout + run.stderr).not.toContain('lfin-cli-secret');
  });

  it('verify: exit 0 when every file matches; an edited byte is E080 naming the file, and nothing is changed', async () => {
    const ok = await runSluice(['lineage', 'verify', lakeDir]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('2 outputs checked: 2 ok, 0 corrupt');
    const file = path.join(lakeDir, 'landing/a.parquet');
    appendFileSync(file, 'X');
    const before = readFileSync(file);
    const bad = await runSluice(['lineage', 'verify', lakeDir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(
      /^changed {6}file:\/\/.*landing\/a\.parquet {2}expected [0-9a-f]{12}…, found [0-9a-f]{12}…\n$/,
    );
    expect(bad.stderr).toMatch(
      /E080: 1 of 2 outputs no longer match their lineage records, first: file:\/\/.*landing\/a\.parquet \(changed\)/,
    );
    expect(readFileSync(file)).toEqual(before);
    const json = await runSluice(['lineage', 'verify', lakeDir, '--json']);
    expect(JSON.parse(json.stdout).map((o: { status: string }) => o.status)).toEqual(['changed', 'ok']);
  });

  it('verify of a project folder also checks the lake below it: per-folder counts, the edited file named, exit 1', async () => {
    const nested = await runSluice(['lineage', 'verify', dir]);
    expect(nested.code).toBe(1);
    expect(nested.stderr).toContain('lake: 2 outputs checked: 1 ok, 1 corrupt');
    expect(nested.stdout).toMatch(/^changed {6}file:\/\/.*lake\/landing\/a\.parquet/);
    // An earlier test left a log in polled/ too: every folder below counts.
    expect(nested.stderr).toContain('polled: 1 outputs checked: 1 ok, 0 corrupt');
    expect(nested.stderr).toMatch(
      /\n3 outputs checked: 2 ok, 1 corrupt\nE080: 1 of 3 outputs no longer match/,
    );
    const json = await runSluice(['lineage', 'verify', dir, '--json']);
    expect(JSON.parse(json.stdout)).toHaveLength(3);
  });

  it('verify of a folder without records says so; a missing folder or file is E011; a file without records is one line', async () => {
    const empty = await runSluice(['lineage', 'verify', tempDir('lineage-cli-empty')]);
    expect(empty.code).toBe(0);
    expect(empty.stderr).toContain('no lineage records under');
    expect(empty.stderr).toContain('here and in the folders below');
    // The project folder's own log is empty; --no-nested does not look into lake/.
    const alone = await runSluice(['lineage', 'verify', dir, '--no-nested']);
    expect(alone.code, alone.stderr).toBe(0);
    expect(alone.stderr).toContain('no lineage records under');
    const typo = await runSluice(['lineage', path.join(dir, 'nope.csv')]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/^E011: .*nope\.csv does not exist and no lineage log names it/);
    const unrecorded = await runSluice(['lineage', raw]);
    expect(unrecorded.stdout).toMatch(/raw\.csv {2}output {2}no lineage record\n$/);
    const missing = await runSluice(['lineage', 'verify', path.join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^E011: lineage root .*nope does not exist/);
  });
});
