/**
 * A config file's relative paths belong to its folder (issue #20): `sluice run -c
 * /proj/sluice.config.yaml` from another folder acts on /proj and leaves nothing where it ran;
 * `catalog ls -c …` from there lists what run made (it printed `[]` with exit 0).
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Config } from '../../src/config/config.ts';
import { writeDemoProject } from '../../src/pipeline/demo.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('config paths are relative to the config file', { timeout: 180_000 }, () => {
  it('resolves file values and defaults against the file’s folder; env values and URLs stay', () => {
    const dir = tempDir('cfg-rel');
    const file = path.join(dir, 'proj', 'sluice.config.yaml');
    mkdirSync(path.dirname(file));
    writeFileSync(file, 'dataDir: ./data\nlakeRoot: lake\nmodelsDir: /abs/models\n');
    const config = Config.load({ file, env: { SLUICE_INGEST_BASE_DIR: 'rel/ingest' } });
    expect(config.dataDir).toBe(path.join(dir, 'proj', 'data'));
    expect(config.lakeRoot).toBe(path.join(dir, 'proj', 'lake'));
    expect(config.modelsDir).toBe('/abs/models');
    expect(config.data.ingestBaseDir).toBe('rel/ingest'); // from the environment: the shell's folder
    writeFileSync(file, 'lakeRoot: s3://bucket/lake\n');
    const s3 = Config.load({ file, env: {} });
    expect(s3.lakeRoot).toBe('s3://bucket/lake');
    expect(s3.modelsDir).toBe(path.join(dir, 'proj', 'models')); // a default, beside the file
  });

  it('sluice run -c and catalog ls -c from another folder act on the project', async () => {
    const dir = tempDir('cfg-rel-cli');
    const project = path.join(dir, 'project');
    const elsewhere = path.join(dir, 'elsewhere');
    mkdirSync(project);
    mkdirSync(elsewhere);
    await writeDemoProject(project);
    const config = path.join(project, 'sluice.config.yaml');
    const run = await runSluice(['run', '-c', config, '--json'], { cwd: elsewhere });
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(elsewhere)).toEqual([]); // no stray ./lake
    expect(existsSync(path.join(project, 'lake', 'dev'))).toBe(true);
    const ls = await runSluice(['catalog', 'ls', '-c', config, '--json'], { cwd: elsewhere });
    expect(ls.code, ls.stderr).toBe(0);
    expect(JSON.parse(ls.stdout)).not.toEqual([]);
  });
});
