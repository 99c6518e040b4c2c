/** `sluice decrypt`: an age file (from sluice or the age CLI) to plaintext, loaded when it runs. */
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decryptFile, decryptStream } from '../../crypto/index.ts';
import { readIdentityFile } from '../../crypto/keys.ts';
import { UsageError } from '../../errors.ts';
import { openObjectUrl, parseStorageUrl } from '../../storage/open.ts';
import { createProgressReporter } from '../progress.ts';
import { passphraseFrom } from './writer-flags.ts';

export interface DecryptOptions {
  output: string;
  identity: string[];
  passphraseFile?: string;
  passphraseEnv?: string;
}

export async function decrypt(input: string, opts: DecryptOptions): Promise<void> {
  const passphrase = await passphraseFrom(opts);
  const identities: string[] = [];
  for (const file of opts.identity) identities.push(...(await readIdentityFile(file)));
  if (identities.length === 0 && passphrase === undefined) {
    throw new UsageError('give --identity <file> or --passphrase-file/--passphrase-env');
  }
  const options = { identities, label: input, ...(passphrase === undefined ? {} : { passphrase }) };
  const parsed = parseStorageUrl(input);
  if (parsed.kind === 'fs' && opts.output !== '-') {
    const progress = createProgressReporter();
    await decryptFile(parsed.root, opts.output, { ...options, onProgress: (e) => progress.update(e) });
    progress.stop();
    return;
  }
  const { storage, key } = openObjectUrl(input);
  const source = (await storage.getStream(key)) as AsyncIterable<Uint8Array>;
  const plain = Readable.from(decryptStream(source, options), { objectMode: false });
  if (opts.output === '-') {
    await pipeline(plain, process.stdout, { end: false });
    return;
  }
  // Bytes are released only once authenticated, but a failure midway must not leave a partial file.
  const temp = path.join(path.dirname(opts.output), `.${path.basename(opts.output)}.${process.pid}.tmp`);
  try {
    await pipeline(plain, createWriteStream(temp));
    await rename(temp, opts.output);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  } finally {
    await storage.close();
  }
}
