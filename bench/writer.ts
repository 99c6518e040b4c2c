// DataWriter benchmark, in one run, sluice against its peer on the same data:
//  (a) Parquet: writeDataframe from an async iterable vs the limit — the same rows pushed
//      straight into a DuckDB appender and `COPY … TO` Parquet (zstd). Goal ≥ 0.7×.
//  (b) CSV: writeDataframe vs csv-stringify piped straight to a file. Goal ≥ 0.9×.
//  (c) age encryption and decryption of a 200 MB file: sluice vs the age CLI. Goal ≥ 0.5×.
// Usage: node bench/writer.ts [--quick]   (--quick: 200,000 rows, 50 MB)
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuckDBTimestampValue } from '@duckdb/node-api';
import { stringify } from 'csv-stringify';
import { decryptFile, encryptFile, readIdentityFile } from '../src/crypto/index.ts';
import { Engine, quoteLiteral } from '../src/engine/duckdb.ts';
import { DataWriter } from '../src/writer/index.ts';

const quick = process.argv.includes('--quick');
const ROWS = quick ? 200_000 : 2_000_000;
const MB = quick ? 50 : 200;
const BASE = Date.UTC(2026, 0, 1);
const COLUMNS = ['id', 'value', 'label', 'flag', 'at'];

async function* rows() {
  for (let i = 0; i < ROWS; i++) {
    yield {
      id: i,
      value: i * 0.25,
      label: `label-${i % 997}`,
      flag: i % 3 === 0,
      at: new Date(BASE + i * 1000),
    };
  }
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

function line(
  label: string,
  sluice: number,
  peer: number,
  peerName: string,
  unit: 'rows/s' | 'MB/s',
  amount: number,
) {
  const s = amount / sluice;
  const p = amount / peer;
  const fmt = (v: number) =>
    unit === 'rows/s' ? `${Math.round(v).toLocaleString('en-US')} rows/s` : `${v.toFixed(0)} MB/s`;
  console.log(
    `${label.padEnd(22)} sluice ${fmt(s).padStart(16)} (${sluice.toFixed(2)} s)   ${peerName} ${fmt(p).padStart(16)} (${peer.toFixed(2)} s)   ratio ${(s / p).toFixed(2)}×`,
  );
}

const work = mkdtempSync(path.join(tmpdir(), 'sluice-bench-writer-'));
try {
  console.log(
    `rows: ${ROWS.toLocaleString('en-US')} × 5 columns; file: ${MB} MB${quick ? ' (--quick)' : ''}`,
  );

  // Two rounds with the order swapped, best time of each side: the first run of a round pays
  // JIT warm-up, and on a shared machine a slow moment should not decide the ratio.
  const writer = new DataWriter({ taskDir: path.join(work, 'task') });
  const engine = await Engine.create();
  const peerFile = path.join(work, 'peer.parquet');
  const sluiceParquetRun = () => time(() => writer.writeDataframe(rows(), 'bench', { format: 'parquet' }));
  const peerParquetRun = () =>
    time(() =>
      engine.withConnection(async (conn) => {
        await conn.run('DROP TABLE IF EXISTS t');
        await conn.run(
          'CREATE TABLE t (id BIGINT, value DOUBLE, label VARCHAR, flag BOOLEAN, "at" TIMESTAMP)',
        );
        const app = await conn.createAppender('t');
        for await (const r of rows()) {
          app.appendInteger(r.id);
          app.appendDouble(r.value);
          app.appendVarchar(r.label);
          app.appendBoolean(r.flag);
          app.appendTimestamp(new DuckDBTimestampValue(BigInt(r.at.getTime()) * 1000n));
          app.endRow();
        }
        app.flushSync();
        app.closeSync();
        await conn.run(`COPY t TO ${quoteLiteral(peerFile)} (FORMAT parquet, COMPRESSION zstd)`);
      }),
    );
  const sluiceCsvRun = () =>
    time(() => writer.writeDataframe(rows(), 'bench', { format: 'csv', columns: COLUMNS }));
  const peerCsvRun = () =>
    time(() =>
      pipeline(
        Readable.from(rows()),
        stringify({
          header: true,
          columns: COLUMNS,
          cast: { date: (d) => d.toISOString(), boolean: (b) => String(b) },
        }),
        createWriteStream(path.join(work, 'peer.csv')),
      ),
    );
  const best = { sp: Infinity, pp: Infinity, sc: Infinity, pc: Infinity };
  for (let round = 0; round < 2; round++) {
    const swap = round === 1;
    const [a, b] = swap ? [peerParquetRun, sluiceParquetRun] : [sluiceParquetRun, peerParquetRun];
    const [ta, tb] = [await a(), await b()];
    best.sp = Math.min(best.sp, swap ? tb : ta);
    best.pp = Math.min(best.pp, swap ? ta : tb);
    const [c, d] = swap ? [peerCsvRun, sluiceCsvRun] : [sluiceCsvRun, peerCsvRun];
    const [tc, td] = [await c(), await d()];
    best.sc = Math.min(best.sc, swap ? td : tc);
    best.pc = Math.min(best.pc, swap ? tc : td);
  }
  await engine.close();
  await writer.close();
  line('(a) parquet', best.sp, best.pp, 'appender+COPY', 'rows/s', ROWS);
  line('(b) csv', best.sc, best.pc, 'csv-stringify', 'rows/s', ROWS);

  // (c) age
  const plain = path.join(work, 'plain.bin');
  writeFileSync(plain, randomBytes(MB * 1024 * 1024));
  const keyFile = path.join(work, 'key.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', keyFile]).toString().trim();
  const identities = await readIdentityFile(keyFile);
  // The age CLI does not fsync its output; neither does sluice here, to compare like with like.
  // Three alternating rounds, median of each side.
  const rounds = {
    sluiceEnc: [] as number[],
    cliEnc: [] as number[],
    sluiceDec: [] as number[],
    cliDec: [] as number[],
  };
  for (let round = 0; round < 3; round++) {
    rounds.sluiceEnc.push(
      await time(() =>
        encryptFile(plain, path.join(work, 's.age'), { recipients: [recipient], fsync: false }),
      ),
    );
    rounds.cliEnc.push(
      await time(async () => {
        const r = spawnSync('age', ['-r', recipient, '-o', path.join(work, 'c.age'), plain]);
        if (r.status !== 0) throw new Error(`age failed: ${r.stderr}`);
      }),
    );
    rounds.sluiceDec.push(
      await time(() =>
        decryptFile(path.join(work, 'c.age'), path.join(work, 's.out'), { identities, fsync: false }),
      ),
    );
    rounds.cliDec.push(
      await time(async () => {
        const r = spawnSync('age', [
          '-d',
          '-i',
          keyFile,
          '-o',
          path.join(work, 'c.out'),
          path.join(work, 's.age'),
        ]);
        if (r.status !== 0) throw new Error(`age -d failed: ${r.stderr}`);
      }),
    );
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1] ?? Number.NaN;
  line('(c) age encrypt', median(rounds.sluiceEnc), median(rounds.cliEnc), 'age CLI', 'MB/s', MB);
  line('(c) age decrypt', median(rounds.sluiceDec), median(rounds.cliDec), 'age CLI', 'MB/s', MB);
  if (statSync(path.join(work, 's.out')).size !== statSync(plain).size)
    throw new Error('decrypted size differs');
} finally {
  rmSync(work, { recursive: true, force: true });
}
