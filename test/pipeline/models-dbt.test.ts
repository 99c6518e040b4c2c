/**
 * Models as dbt users write them (issue #20): in subfolders, ending in a comment or a `;`, and
 * checked by DuckDB's parser at `validate`, so a model `run` would reject fails `validate` first.
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDemoProject } from '../../src/pipeline/demo.ts';
import { statementBody } from '../../src/pipeline/models.ts';
import { runSluice } from '../helpers/cli.ts';
import { tempDir } from '../helpers/tmp.ts';

async function demoProject(label: string): Promise<string> {
  const dir = path.join(tempDir(label), 'project');
  mkdirSync(dir);
  await writeDemoProject(dir);
  return dir;
}

describe('dbt-style models', { timeout: 180_000 }, () => {
  it('finds models in subfolders; trailing comments and semicolons run', async () => {
    const dir = await demoProject('models-sub');
    const models = path.join(dir, 'models');
    mkdirSync(path.join(models, 'staging'));
    mkdirSync(path.join(models, 'marts'));
    renameSync(path.join(models, 'sdg_indicators.sql'), path.join(models, 'staging', 'sdg_indicators.sql'));
    renameSync(path.join(models, 'all_indicators.sql'), path.join(models, 'marts', 'all_indicators.sql'));
    appendFileSync(path.join(models, 'marts', 'all_indicators.sql'), '\n-- the last line is a comment\n');
    appendFileSync(path.join(models, 'staging', 'sdg_indicators.sql'), ';\n/* done */ -- really\n');
    const validate = await runSluice(['validate'], { cwd: dir });
    expect(validate.code, validate.stdout + validate.stderr).toBe(0);
    const run = await runSluice(['run', '--json'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    const status = await runSluice(['catalog', 'ls', '--json'], { cwd: dir });
    expect(status.stdout).toContain('all_indicators');
    expect(status.stdout).toContain('sdg_indicators');
  });

  it('two models of one name in different folders: an error naming both files', async () => {
    const dir = await demoProject('models-clash');
    const models = path.join(dir, 'models');
    mkdirSync(path.join(models, 'copy'));
    writeFileSync(path.join(models, 'copy', 'wdi_indicators.sql'), 'SELECT 1 AS x\n');
    const validate = await runSluice(['validate'], { cwd: dir });
    expect(validate.code).toBe(1);
    expect(validate.stdout + validate.stderr).toContain(
      'Model name wdi_indicators is defined twice: models/copy/wdi_indicators.sql and models/wdi_indicators.sql',
    );
  });

  it('validate refuses a model DuckDB cannot parse, naming it; nothing runs', async () => {
    const dir = await demoProject('models-syntax');
    const file = path.join(dir, 'models', 'country_year_summary.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replace(/SELECT/i, 'SELEC'));
    const validate = await runSluice(['validate'], { cwd: dir });
    expect(validate.code).toBe(1);
    expect(validate.stdout + validate.stderr).toContain(
      'model country_year_summary (models/country_year_summary.sql): syntax error at or near',
    );
  });

  it('statementBody keeps string literals and strips only trailing comments and semicolons', () => {
    expect(statementBody("SELECT '--not a comment;' AS a -- trailing\n")).toBe(
      "SELECT '--not a comment;' AS a",
    );
    expect(statementBody('SELECT 1;;  \n-- x\n/* y */\n')).toBe('SELECT 1');
    expect(statementBody('SELECT 1 /* inside */ + 2')).toBe('SELECT 1 /* inside */ + 2');
  });
});
