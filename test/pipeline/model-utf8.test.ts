/** A model file that is not UTF-8 is refused naming it, before any SQL runs (never read with U+FFFD). */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadModels } from '../../src/pipeline/models.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('loadModels', () => {
  it('refuses a model file with bytes that are not UTF-8 with E004 naming the file', async () => {
    const dir = tempDir('model-utf8');
    writeFileSync(path.join(dir, 'good.sql'), 'select 1 as x');
    writeFileSync(
      path.join(dir, 'bad.sql'),
      Buffer.concat([Buffer.from("select 'caf"), Buffer.from([0xe9]), Buffer.from("' as x")]),
    );
    await expect(loadModels(dir)).rejects.toMatchObject({
      code: 'E004',
      message: `Model ${path.join(dir, 'bad.sql')} is not valid UTF-8; save it as UTF-8`,
    });
  });
});
