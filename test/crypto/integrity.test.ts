import { randomBytes } from 'node:crypto';
import { Decrypter, Encrypter, generateX25519Identity, identityToRecipient } from 'age-encryption';
import { beforeAll, describe, expect, it } from 'vitest';
import { decryptBuffer, decryptStream, encryptBuffer, encryptStream } from '../../src/crypto/index.ts';
import fc from '../helpers/fc.ts';

const CHUNK = 65_536 + 16;

async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p);
  return Buffer.concat(parts);
}

async function* pieces(data: Uint8Array, sizes: number[]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  let i = 0;
  while (offset < data.length) {
    const n = Math.max(1, sizes[i++ % Math.max(1, sizes.length)] ?? data.length);
    yield data.subarray(offset, offset + n);
    offset += n;
  }
}

function headerLength(file: Buffer): number {
  const mac = file.indexOf('\n--- ');
  return file.indexOf(0x0a, mac + 1) + 1;
}

describe('age integrity', () => {
  let identity: string;
  let recipient: string;
  let other: string;
  beforeAll(async () => {
    identity = await generateX25519Identity();
    recipient = await identityToRecipient(identity);
    other = await generateX25519Identity();
  });

  const expectE041 = async (file: Uint8Array, identities = [identity]) => {
    const error = await decryptBuffer(file, { identities }).catch((e) => e);
    expect(error).toMatchObject({ code: 'E041' });
    expect(String(error.message)).not.toMatch(/AGE-SECRET-KEY/);
    return error;
  };

  it('round-trips any data under any input chunking (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * 65_536 + 10 }),
        fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 5 }),
        async (size, inSizes, outSizes) => {
          const data = randomBytes(size);
          const sealed = await collect(encryptStream(pieces(data, inSizes), { recipients: [recipient] }));
          const opened = await collect(decryptStream(pieces(sealed, outSizes), { identities: [identity] }));
          expect(opened.equals(data)).toBe(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('any single flipped byte makes decryption fail with E041 (property)', async () => {
    const data = randomBytes(2 * 65_536 + 500);
    const sealed = await encryptBuffer(data, { recipients: [recipient] });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: sealed.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        async (at, x) => {
          const bad = Buffer.from(sealed);
          bad[at] = (bad[at] ?? 0) ^ x;
          await expectE041(bad);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('truncation anywhere fails: in the header, the nonce, mid-chunk, and exactly at a chunk boundary', async () => {
    const sealed = await encryptBuffer(randomBytes(3 * 65_536 + 100), { recipients: [recipient] });
    const h = headerLength(sealed);
    const payload = h + 16;
    const cuts = [
      0,
      10,
      h - 5,
      h,
      h + 8,
      payload,
      payload + 1000,
      payload + CHUNK,
      payload + 2 * CHUNK,
      payload + 3 * CHUNK,
      sealed.length - 1,
    ];
    for (const cut of cuts) await expectE041(sealed.subarray(0, cut));
    // A file whose payload is an exact multiple of 64 KiB ends on a full final chunk; dropping it must fail too.
    const exact = await encryptBuffer(randomBytes(2 * 65_536), { recipients: [recipient] });
    const error = await expectE041(exact.subarray(0, exact.length - CHUNK));
    expect(error.message).toMatch(/chunk 1|truncated/);
  });

  it('reordered or duplicated chunks and trailing data fail', async () => {
    const sealed = await encryptBuffer(randomBytes(3 * 65_536 + 100), { recipients: [recipient] });
    const start = headerLength(sealed) + 16;
    const head = sealed.subarray(0, start);
    const chunk = (i: number) =>
      sealed.subarray(start + i * CHUNK, Math.min(sealed.length, start + (i + 1) * CHUNK));
    await expectE041(Buffer.concat([head, chunk(1), chunk(0), chunk(2), chunk(3)]));
    await expectE041(Buffer.concat([head, chunk(0), chunk(0), chunk(1), chunk(2), chunk(3)]));
    await expectE041(Buffer.concat([head, chunk(0), chunk(1), chunk(3)]));
    await expectE041(Buffer.concat([sealed, Buffer.from('x')]));
    await expectE041(Buffer.concat([sealed, chunk(3)]));
  });

  it('a tampered header fails on its MAC; a wrong key or passphrase fails cleanly', async () => {
    const sealed = await encryptBuffer('hello', {
      recipients: [recipient, await identityToRecipient(other)],
    });
    const text = sealed.toString('latin1');
    const swapped = Buffer.from(
      text.replace(/-> X25519 (\S)/, (_m, c) => `-> X25519 ${c === 'A' ? 'B' : 'A'}`),
      'latin1',
    );
    await expectE041(swapped);
    const noMac = Buffer.from(
      text.replace(/\n--- (\S)/, (_m, c) => `\n--- ${c === 'A' ? 'B' : 'A'}`),
      'latin1',
    );
    expect((await expectE041(noMac)).message).toMatch(/MAC|header/);
    const stranger = await generateX25519Identity();
    expect((await expectE041(sealed, [stranger])).message).toMatch(/wrong key or passphrase/);
    const locked = await encryptBuffer('hello', { passphrase: 'right', scryptWorkFactor: 10 });
    const error = await decryptBuffer(locked, { passphrase: 'wrong' }).catch((e) => e);
    expect(error).toMatchObject({ code: 'E041' });
    expect(error.message).not.toContain('wrong"');
    await expectE041(Buffer.from('not an age file at all'));
  });

  it('interoperates with age-encryption (typage) both ways, recipients and passphrase', async () => {
    const data = randomBytes(150_000);
    const ours = await encryptBuffer(data, { recipients: [recipient] });
    const d = new Decrypter();
    d.addIdentity(identity);
    expect(Buffer.from(await d.decrypt(ours)).equals(data)).toBe(true);

    const e = new Encrypter();
    e.addRecipient(recipient);
    expect((await decryptBuffer(await e.encrypt(data), { identities: [identity] })).equals(data)).toBe(true);

    const byPass = await encryptBuffer(data, { passphrase: 'pw', scryptWorkFactor: 12 });
    const dp = new Decrypter();
    dp.addPassphrase('pw');
    expect(Buffer.from(await dp.decrypt(byPass)).equals(data)).toBe(true);
    const ep = new Encrypter();
    ep.setPassphrase('pw');
    ep.setScryptWorkFactor(12);
    expect((await decryptBuffer(await ep.encrypt(data), { passphrase: 'pw' })).equals(data)).toBe(true);
  });

  it('streams 256 MB through encrypt and decrypt with bounded memory', async () => {
    const piece = Buffer.alloc(1024 * 1024, 0x5a);
    async function* source() {
      for (let i = 0; i < 256; i++) yield piece;
    }
    const before = process.memoryUsage.rss();
    let peak = before;
    let total = 0;
    for await (const plain of decryptStream(encryptStream(source(), { recipients: [recipient] }), {
      identities: [identity],
    })) {
      total += plain.length;
      if (total % (16 * 1024 * 1024) < plain.length) peak = Math.max(peak, process.memoryUsage.rss());
    }
    expect(total).toBe(256 * 1024 * 1024);
    // RSS also holds chunks the GC has not collected yet (it lets tens of MB of external memory
    // pile up first: 111 MB was seen once under load); anything that buffered the stream would
    // pass 256 MB, so 160 MB still tells bounded from buffered.
    expect(peak - before).toBeLessThan(160 * 1024 * 1024);
  });

  it('rejects bad options with E020 naming the option and never the secret', async () => {
    await expect(encryptBuffer('x', {})).rejects.toMatchObject({ code: 'E020' });
    await expect(encryptBuffer('x', { recipients: [recipient], passphrase: 'p' })).rejects.toMatchObject({
      code: 'E020',
    });
    await expect(encryptBuffer('x', { recipients: ['age1qqqqqqqqqqqq'] })).rejects.toMatchObject({
      code: 'E020',
    });
    await expect(encryptBuffer('x', { recipients: ['bob'] })).rejects.toThrow(/recipients\[0\]/);
    await expect(encryptBuffer('x', { passphrase: 'p', scryptWorkFactor: 40 })).rejects.toThrow(
      /scryptWorkFactor/,
    );
    const error = await decryptBuffer(Buffer.from('x'), {
      identities: ['AGE-SECRET-KEY-1SECRETSTUFF'],
    }).catch((e) => e);
    expect(error).toMatchObject({ code: 'E020' });
    expect(error.message).not.toContain('SECRETSTUFF');
  });
});
