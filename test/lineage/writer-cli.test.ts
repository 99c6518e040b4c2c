/**
 * `sluice write` as a user runs it: each output file's record names the input file by the sha256
 * of its bytes, `sluice lineage` shows the chain, `sluice lineage verify` fails naming a file
 * whose bytes were edited, and SLUICE_LINEAGE=0 records nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { currentWrite, LINEAGE_PREFIX, lineageUrl, readLineage } from '../../src/lineage/index.ts';
import { createFsStorage } from '../../src/storage/drivers/fs/fs-storage.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

const sha = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('sluice write records lineage', { timeout: 120_000 }, () => {
  const dir = tempDir('writer-lineage-cli');
  const input = path.join(dir, 'sales.csv');
  const csv = `id,region,amount\n${Array.from({ length: 60 }, (_, i) => `${i},${['north', 'south'][i % 2]},${i * 1.5}`).join('\n')}\n`;
  writeFileSync(input, csv);

  it('names the input by its sha256; lineage shows the chain; verify fails naming an edited partition', async () => {
    const task = path.join(dir, 'task');
    const written = await runSluice(
      ['write', input, '--task-dir', task, '--name', 'sales', '--partition-by', 'region'],
      { cwd: dir },
    );
    expect(written.code, written.stderr).toBe(0);
    const files = (JSON.parse(written.stdout) as { files: { path: string; sha256: string }[] }).files;
    expect(files).toHaveLength(2);

    const index = await readLineage(createFsStorage({ root: task }));
    for (const f of files) {
      const write = currentWrite(index, lineageUrl(path.join(task, f.path)));
      expect(write?.intent.operation).toBe('writer.writeDataframe');
      expect(write?.intent.inputs).toEqual([
        { kind: 'file', url: lineageUrl(input), sha256: sha(csv), size: Buffer.byteLength(csv) },
      ]);
      expect(write?.commit).toMatchObject({ sha256: f.sha256, rows: 30 });
    }

    const partition = path.join(task, files[0]?.path as string);
    const tree = await runSluice(['lineage', partition], { cwd: dir });
    expect(tree.code, tree.stderr).toBe(0);
    const lines = tree.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      /region=\w+\/part-0\.parquet {2}writer\.writeDataframe {2}sha256 [0-9a-f]{12}… {2}30 rows/,
    );
    expect(lines[1]).toBe(
      `└─ ${lineageUrl(input)}  file  no lineage record  sha256 ${sha(csv).slice(0, 12)}…`,
    );

    const ok = await runSluice(['lineage', 'verify', task]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('2 outputs checked: 2 ok, 0 corrupt');

    const bytes = readFileSync(partition);
    bytes[10] = (bytes[10] as number) ^ 0xff;
    writeFileSync(partition, bytes);
    const bad = await runSluice(['lineage', 'verify', task]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`changed      ${lineageUrl(partition)}`);
    expect(bad.stderr).toContain('E080');
    expect(bad.stderr).toContain(lineageUrl(partition));
  });

  it('convert records its output beside it; SLUICE_LINEAGE=0 records nothing', async () => {
    const out = path.join(dir, 'converted');
    const converted = await runSluice(['convert', input, path.join(out, 'sales.jsonl')]);
    expect(converted.code, converted.stderr).toBe(0);
    const index = await readLineage(createFsStorage({ root: out }));
    const write = currentWrite(index, lineageUrl(path.join(out, 'sales.jsonl')));
    expect(write?.intent.inputs).toMatchObject([{ kind: 'file', sha256: sha(csv) }]);
    expect(write?.commit?.sha256).toBe(sha(readFileSync(path.join(out, 'sales.jsonl'))));

    const task = path.join(dir, 'off');
    const off = await runSluice(['write', input, '--task-dir', task, '--name', 'sales'], {
      env: { SLUICE_LINEAGE: '0' },
    });
    expect(off.code, off.stderr).toBe(0);
    expect(existsSync(path.join(task, 'output/sales.parquet'))).toBe(true);
    expect(existsSync(path.join(task, LINEAGE_PREFIX))).toBe(false);
  });
});
