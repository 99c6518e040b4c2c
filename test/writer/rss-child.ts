// Child process for the bounded-memory test: streams N rows to Parquet and prints peak RSS.
import { DataWriter } from '../../src/writer/index.ts';

const [dir = '', count = '5000000'] = process.argv.slice(2);
const n = Number(count);
let peak = process.memoryUsage.rss();
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage.rss());
}, 50);
async function* rows() {
  const base = Date.UTC(2026, 0, 1);
  for (let i = 0; i < n; i++) {
    yield {
      id: i,
      value: i * 0.25,
      label: `row-${i % 1000}`,
      flag: i % 2 === 0,
      at: new Date(base + i * 1000),
    };
  }
}
const writer = new DataWriter({ taskDir: dir });
const started = Date.now();
const result = await writer.writeDataframe(rows(), 'big', { format: 'parquet' });
await writer.close();
clearInterval(timer);
peak = Math.max(peak, process.memoryUsage.rss());
console.log(
  JSON.stringify({
    rows: result.rows,
    sizeBytes: result.sizeBytes,
    peakRss: peak,
    ms: Date.now() - started,
    path: result.location,
  }),
);
