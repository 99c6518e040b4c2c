import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { Engine } from '../../src/engine/duckdb.ts';
import { tempDir } from '../helpers/tmp.ts';

it('streams 5,000,000 rows to Parquet with peak RSS under 400 MB (child process)', {
  timeout: 600_000,
}, async () => {
  const dir = tempDir('writer-rss');
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [path.resolve('test/writer/rss-child.ts'), dir, '5000000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.on('data', (d) => {
      text += d;
    });
    child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`child exited with ${code}`))));
  });
  const report = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as {
    rows: number;
    peakRss: number;
    path: string;
  };
  expect(report.rows).toBe(5_000_000);
  expect(report.peakRss).toBeLessThan(400 * 1024 * 1024);
  const engine = await Engine.create();
  const [stats] = await engine.query<{ n: bigint; m: bigint }>(
    `SELECT count(*) AS n, max(id) AS m FROM '${report.path}'`,
  );
  expect(stats).toEqual({ n: 5_000_000n, m: 4_999_999n });
  await engine.close();
});
