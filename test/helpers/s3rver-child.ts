// Runs s3rver in its own process (started by test/helpers/s3rver.ts). Prints `LISTENING <port>`.
// s3rver needs the OpenSSL legacy provider for its continuation tokens: the parent sets
// NODE_OPTIONS=--openssl-legacy-provider before spawning this file.
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import S3rver from 's3rver';

interface StoredObject {
  bucket: string;
  key: string;
  content: Buffer | Readable;
  metadata: Record<string, string>;
}
interface FilesystemStore {
  getResourcePath(bucket: string, key: string, kind: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<{ size: number; md5: string }>;
}

/**
 * s3rver 3.7.1 makes an object's folder, then opens its file on a write stream with no error
 * handler: a delete of the folder's last object in between removes the folder (s3rver drops empty
 * folders), the open fails with ENOENT and the whole process exits — every later test of the run
 * then failed (CI, 2026-12-06: 63 tests). Here a put reads the body first, then makes the folder
 * and writes the file and its metadata, again if the folder vanished meanwhile; a body that fails
 * mid-way is an error answer as before, and the old object stays whole (as on S3).
 */
const Store = createRequire(import.meta.url)('s3rver/lib/stores/filesystem.js') as {
  prototype: FilesystemStore;
};
Store.prototype.putObject = async function putObject(this: FilesystemStore, object: StoredObject) {
  const content = Buffer.isBuffer(object.content) ? object.content : await readAll(object.content);
  const md5 = createHash('md5').update(content).digest('hex');
  const file = this.getResourcePath(object.bucket, object.key, 'object');
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, content);
      await this.putMetadata(object.bucket, object.key, object.metadata, md5);
      return { size: content.length, md5 };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw error;
    }
  }
};

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

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
