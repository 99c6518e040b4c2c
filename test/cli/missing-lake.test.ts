/** Read-only pipeline and ingest commands on a lake or base folder that does not exist: E011 naming it, nothing created. */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('missing lake or ingestion base', () => {
  const dir = tempDir('missing-lake');
  const lake = path.join(dir, 'no-lake');
  const config = path.join(dir, 'sluice.config.yaml');
  writeFileSync(config, `lakeRoot: ${lake}\ndataDir: ${path.join(dir, 'data')}\n`);

  it.each([
    ['status', ['status', '-c', config]],
    ['catalog ls', ['catalog', 'ls', '-c', config]],
    ['prune', ['prune', 'qa', '-c', config, '--dry-run']],
  ])('%s is E011 naming the lake and creates nothing', async (_, args) => {
    const r = await runSluice(args, { cwd: dir });
    expect(r.stderr).toMatch(new RegExp(`^E011: lake .*${lake} does not exist`));
    expect(r.code).toBe(1);
    expect(existsSync(lake)).toBe(false);
  });

  it.each([
    ['ingest ls', ['ingest', 'ls']],
    ['ingest latest', ['ingest', 'latest', '--source', 's', '--dataset', 'd']],
  ])('%s with a missing --base is E011 naming it', async (_, args) => {
    const base = path.join(dir, 'no-base');
    const r = await runSluice([...args, '--base', base], { cwd: dir });
    expect(r.stderr).toBe(`E011: ingestion base folder ${base} does not exist\n`);
    expect(r.code).toBe(1);
    expect(existsSync(base)).toBe(false);
  });
});
