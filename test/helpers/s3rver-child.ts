// Runs s3rver in its own process (started by test/helpers/s3rver.ts). Prints `LISTENING <port>`.
// s3rver needs the OpenSSL legacy provider for its continuation tokens: the parent sets
// NODE_OPTIONS=--openssl-legacy-provider before spawning this file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';

const directory = process.argv[2] ?? mkdtempSync(path.join(tmpdir(), 'sluice-s3rver-'));
const server = new S3rver({
  port: Number(process.env.S3RVER_PORT ?? 0),
  address: '127.0.0.1',
  silent: true,
  directory,
});
const address = (await server.run()) as { port: number };
process.stdout.write(`LISTENING ${address.port}\n`);
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
