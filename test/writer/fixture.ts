import { afterAll, beforeAll } from 'vitest';
import { Engine } from '../../src/engine/duckdb.ts';
import { DataWriter } from '../../src/writer/index.ts';
import { tempDir } from '../helpers/tmp.ts';

/** A DataWriter on a fresh temp task directory and a DuckDB engine to read its outputs back. */
export function writerFixture(label: string) {
  const fixture = {
    dir: tempDir(label),
    engine: undefined as unknown as Engine,
    writer: undefined as unknown as DataWriter,
  };
  beforeAll(async () => {
    fixture.engine = await Engine.create();
    fixture.writer = new DataWriter({ taskDir: fixture.dir });
  });
  afterAll(async () => {
    await fixture.writer.close();
    await fixture.engine.close();
  });
  return fixture;
}
