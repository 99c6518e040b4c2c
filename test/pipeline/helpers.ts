import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Config } from '../../src/config/config.ts';
import { openStorage } from '../../src/storage/open.ts';
import type { Storage } from '../../src/storage/types.ts';
import { freshBucket, s3Options } from '../helpers/s3.ts';
import { tempDir } from '../helpers/tmp.ts';

export const SEED_SCHEMA = { indicator_id: 'String', country_id: 'String', year: 'Int', value: 'Decimal' };

/** A project folder (data/raw, models) and a config pointing at it, with a lake on disk or s3rver. */
export async function project(
  kind: 'fs' | 's3',
  label: string,
): Promise<{ dir: string; config: Config; lake: Storage }> {
  const dir = tempDir(`pl-${label}`);
  mkdirSync(path.join(dir, 'data', 'raw'), { recursive: true });
  mkdirSync(path.join(dir, 'models'), { recursive: true });
  let lake: Storage;
  let lakeRoot: string;
  if (kind === 's3') {
    const b = await freshBucket(label);
    lakeRoot = b.url('lake/');
    lake = openStorage(lakeRoot, s3Options());
  } else {
    lakeRoot = path.join(dir, 'lake');
    lake = openStorage(lakeRoot);
  }
  const config = Config.load({
    env: {},
    overrides: {
      env: 'dev',
      dataDir: path.join(dir, 'data'),
      modelsDir: path.join(dir, 'models'),
      lakeRoot,
    },
  });
  return { dir, config, lake };
}

export function writeFile(file: string, content: string | Buffer): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, content);
  return file;
}

export function seedCsv(rows = 50): string {
  const lines = ['indicator_id,country_id,year,value'];
  for (let i = 0; i < rows; i++)
    lines.push(`SDG_${i % 5},C${i % 7},${2000 + (i % 20)},${(i * 1.25).toFixed(2)}`);
  return `${lines.join('\n')}\n`;
}

/** Raw CSVs for two sources and three models (one depending on the other two). */
export function seedProject(dir: string, rows = 40): void {
  writeFile(path.join(dir, 'data/raw/sdg/SDG_DATA.csv'), seedCsv(rows));
  writeFile(path.join(dir, 'data/raw/wdi/WDI_DATA.csv'), seedCsv(rows + 3));
  const schema = 'indicator_id: String\ncountry_id: String\nyear: Int\nvalue: Decimal(18,4)\n';
  writeFile(path.join(dir, 'data/raw/sdg/schema.yaml'), schema);
  writeFile(path.join(dir, 'data/raw/wdi/schema.yaml'), schema);
  writeFile(
    path.join(dir, 'models/sdg_clean.sql'),
    '-- description: SDG rows with values\nSELECT * FROM landing.sdg WHERE value IS NOT NULL\n',
  );
  writeFile(path.join(dir, 'models/wdi_clean.sql'), 'SELECT * FROM landing.wdi\n');
  writeFile(
    path.join(dir, 'models/combined.sql'),
    "-- name: combined\n-- description: Both sources\nSELECT 'sdg' AS source, * FROM staging.sdg_clean UNION ALL SELECT 'wdi', * FROM staging.wdi_clean\n",
  );
}
