// DataWriter benchmark, in one run, sluice against its peer on the same data:
//  (a) Parquet: writeDataframe from an async iterable vs the limit — the same rows pushed
//      straight into a DuckDB appender and `COPY … TO` Parquet (zstd). Goal ≥ 0.7×.
//  (b) CSV: writeDataframe vs csv-stringify piped straight to a file. Goal ≥ 0.9×.
//  (c) age encryption and decryption of a 200 MB file: sluice vs the age CLI. Goal ≥ 0.5×.
//  (d) lineage on against lineage off, the same writes (bench/writer-lineage.ts). Goal ≤ 5%.
// Statistic: every figure is the median of N rounds (default 3; `--rounds N` or BENCH_ROUNDS),
// sluice and its peer alternating which runs first; ratios are the medians of the per-round ratios.
// Usage: node bench/writer.ts [--quick] [--rounds N] [--progress] [--lineage]   (--quick: 200,000
// rows, 50 MB; --progress: sluice's writes have a progress listener, as the CLI's do; --lineage:
// part (d) only)
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DuckDBTimestampValue } from '@duckdb/node-api';
import { stringify } from 'csv-stringify';
import { decryptFile, encryptFile, readIdentityFile } from '../src/crypto/index.ts';
import { Engine, quoteLiteral } from '../src/engine/duckdb.ts';
import { DataWriter } from '../src/writer/index.ts';
import { benchRounds, median, medianRatio } from './peers.ts';
import { lineageOverhead } from './writer-lineage.ts';

const quick = process.argv.includes('--quick');
const withProgress = process.argv.includes('--progress');
const lineageOnly = process.argv.includes('--lineage');
const ROWS = quick ? 200_000 : 2_000_000;
const MB = quick ? 50 : 200;
const BASE = Date.UTC(2026, 0, 1);
const COLUMNS = ['id', 'value', 'label', 'flag', 'at'];
const ROUNDS = benchRounds(3);

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

/** Prints the medians of both sides' times over the rounds and the median of the per-round ratios. */
function line(
  label: string,
  sluiceTimes: number[],
  peerTimes: number[],
  peerName: string,
  unit: 'rows/s' | 'MB/s',
  amount: number,
) {
  const [sluice, peer] = [median(sluiceTimes), median(peerTimes)];
  const fmt = (v: number) =>
    unit === 'rows/s' ? `${Math.round(v).toLocaleString('en-US')} rows/s` : `${v.toFixed(0)} MB/s`;
  const ratio = medianRatio(peerTimes, sluiceTimes);
  const perRound = peerTimes.map((p, i) => (p / (sluiceTimes[i] as number)).toFixed(2)).join(' ');
  console.log(
    `${label.padEnd(22)} sluice ${fmt(amount / sluice).padStart(16)} (${sluice.toFixed(2)} s)   ${peerName} ${fmt(amount / peer).padStart(16)} (${peer.toFixed(2)} s)   ratio ${ratio.toFixed(2)}× (rounds: ${perRound})`,
  );
}

/**
 * Flushes a peer's output file and its directory to disk, as sluice's local storage does on every
 * put (temp file fsynced, renamed, directory fsynced). Before issue #21 the peers of (a) and (b)
 * were timed without this and sluice with it, an unequal comparison; where the peer already
 * synced its file, the second fsync finds nothing to write.
 */
async function fsyncFileAndDir(file: string): Promise<void> {
  for (const target of [file, path.dirname(file)]) {
    const handle = await open(target, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
}

const work = mkdtempSync(path.join(tmpdir(), 'sluice-bench-writer-'));
try {
  console.log(
    `rows: ${ROWS.toLocaleString('en-US')} × 5 columns; file: ${MB} MB${quick ? ' (--quick)' : ''}; medians of ${ROUNDS} rounds, the side that runs first alternating; ratio: median of the per-round ratios`,
  );

  if (lineageOnly) {
    await lineageOverhead(work, rows, ROWS, ROUNDS);
    rmSync(work, { recursive: true, force: true });
    process.exit(0);
  }
  // Rounds alternate which side runs first (the first run pays JIT warm-up) and medians are
  // reported: on a shared machine a slow or a lucky moment should not decide the ratio.
  let progressEvents = 0;
  const writer = new DataWriter({
    taskDir: path.join(work, 'task'),
    ...(withProgress ? { progress: () => void progressEvents++ } : {}),
  });
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
        await fsyncFileAndDir(peerFile);
      }),
    );
  const sluiceCsvRun = () =>
    time(() => writer.writeDataframe(rows(), 'bench', { format: 'csv', columns: COLUMNS }));
  const peerCsv = path.join(work, 'peer.csv');
  const peerCsvRun = () =>
    time(async () => {
      await pipeline(
        Readable.from(rows()),
        stringify({
          header: true,
          columns: COLUMNS,
          cast: { date: (d) => d.toISOString(), boolean: (b) => String(b) },
        }),
        createWriteStream(peerCsv),
      );
      await fsyncFileAndDir(peerCsv);
    });
  const t = { sp: [] as number[], pp: [] as number[], sc: [] as number[], pc: [] as number[] };
  /** Times sluice and its peer once each, the peer first on odd rounds. */
  const pair = async (round: number, sluiceRun: () => Promise<number>, peerRun: () => Promise<number>) => {
    if (round % 2 === 0) {
      const s = await sluiceRun();
      return [s, await peerRun()] as const;
    }
    const p = await peerRun();
    return [await sluiceRun(), p] as const;
  };
  for (let round = 0; round < ROUNDS; round++) {
    const [sp, pp] = await pair(round, sluiceParquetRun, peerParquetRun);
    const [sc, pc] = await pair(round, sluiceCsvRun, peerCsvRun);
    t.sp.push(sp);
    t.pp.push(pp);
    t.sc.push(sc);
    t.pc.push(pc);
  }
  await engine.close();
  await writer.close();
  line('(a) parquet', t.sp, t.pp, 'appender+COPY', 'rows/s', ROWS);
  line('(b) csv', t.sc, t.pc, 'csv-stringify', 'rows/s', ROWS);
  if (withProgress) console.log(`with a progress listener: ${progressEvents} events over (a) and (b)`);

  // (c) age
  const plain = path.join(work, 'plain.bin');
  writeFileSync(plain, randomBytes(MB * 1024 * 1024));
  const keyFile = path.join(work, 'key.txt');
  execFileSync('age-keygen', ['-o', keyFile], { stdio: 'ignore' });
  const recipient = execFileSync('age-keygen', ['-y', keyFile]).toString().trim();
  const identities = await readIdentityFile(keyFile);
  // The age CLI does not fsync its output; neither does sluice here, to compare like with like.
  // Each round encrypts with both (sluice first on even rounds), then decrypts the other's output.
  const rounds = {
    sluiceEnc: [] as number[],
    cliEnc: [] as number[],
    sluiceDec: [] as number[],
    cliDec: [] as number[],
  };
  const sluiceEncrypt = () =>
    time(() => encryptFile(plain, path.join(work, 's.age'), { recipients: [recipient], fsync: false }));
  const cliEncrypt = () =>
    time(async () => {
      const r = spawnSync('age', ['-r', recipient, '-o', path.join(work, 'c.age'), plain]);
      if (r.status !== 0) throw new Error(`age failed: ${r.stderr}`);
    });
  const sluiceDecrypt = () =>
    time(() => decryptFile(path.join(work, 'c.age'), path.join(work, 's.out'), { identities, fsync: false }));
  const cliDecrypt = () =>
    time(async () => {
      const r = spawnSync('age', [
        '-d',
        '-i',
        keyFile,
        '-o',
        path.join(work, 'c.out'),
        path.join(work, 's.age'),
      ]);
      if (r.status !== 0) throw new Error(`age -d failed: ${r.stderr}`);
    });
  for (let round = 0; round < ROUNDS; round++) {
    const [se, ce] = await pair(round, sluiceEncrypt, cliEncrypt);
    const [sd, cd] = await pair(round, sluiceDecrypt, cliDecrypt);
    rounds.sluiceEnc.push(se);
    rounds.cliEnc.push(ce);
    rounds.sluiceDec.push(sd);
    rounds.cliDec.push(cd);
  }
  line('(c) age encrypt', rounds.sluiceEnc, rounds.cliEnc, 'age CLI', 'MB/s', MB);
  line('(c) age decrypt', rounds.sluiceDec, rounds.cliDec, 'age CLI', 'MB/s', MB);
  if (statSync(path.join(work, 's.out')).size !== statSync(plain).size)
    throw new Error('decrypted size differs');

  await lineageOverhead(work, rows, ROWS, ROUNDS);
} finally {
  rmSync(work, { recursive: true, force: true });
}
