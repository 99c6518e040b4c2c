/**
 * Conditional reads, copies, deletes and moves (`ifMatch`), as every driver must do them where
 * the backend decides conditions: memory, fs, and S3 behind a server that honours them (the
 * conditional proxy). Each refusal is E015 naming the key and the ETag asked for, and changes
 * nothing stored. An S3 server that ignores conditions is tested apart (conditional-ops.test.ts).
 */
import type { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.ts';
import { keysNotDeleted } from '../../src/storage/conditions.ts';
import type { Storage } from '../../src/storage/types.ts';

export async function failure(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

export async function text(stream: Readable): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts).toString();
}

/** An ETag no object has (a valid MD5 shape, so S3 servers take it). */
export const NO_SUCH_ETAG = '0123456789abcdef0123456789abcdef';

function expectRefused(error: SluiceError, key: string, etag: string): void {
  expect(error.code).toBe('E015');
  expect(error.name).toBe('PreconditionFailedError');
  expect(error.message).toContain(key);
  expect(error.message).toContain(etag);
}

export function conditionalOpsConformance(storage: () => Storage): void {
  it('get, getWithEtag and getStream with ifMatch read only that version (E015 otherwise, E011 when gone)', async () => {
    const s = storage();
    const k = 'ops/read.json';
    const v1 = await s.put(k, '{"v":1}');
    expect((await s.get(k, { ifMatch: v1.etag })).toString()).toBe('{"v":1}');
    expect(await s.getWithEtag(k, { ifMatch: v1.etag })).toEqual({
      body: Buffer.from('{"v":1}'),
      etag: v1.etag,
    });
    expect(await text(await s.getStream(k, { ifMatch: v1.etag }))).toBe('{"v":1}');
    const v2 = await s.put(k, '{"v":2,"longer":true}');
    expectRefused(await failure(s.get(k, { ifMatch: v1.etag })), k, v1.etag);
    expectRefused(await failure(s.getWithEtag(k, { ifMatch: v1.etag })), k, v1.etag);
    expectRefused(await failure(s.getStream(k, { ifMatch: v1.etag })), k, v1.etag);
    expect((await s.get(k, { ifMatch: v2.etag })).toString()).toBe('{"v":2,"longer":true}');
    await s.delete(k);
    expect((await failure(s.get(k, { ifMatch: v2.etag }))).code).toBe('E011');
    expect((await failure(s.getStream(k, { ifMatch: v2.etag }))).code).toBe('E011');
    expect((await failure(s.get(k, { ifMatch: '' }))).code).toBe('E020');
  });

  it('copy with ifMatch copies that version with its metadata; another is E015 and nothing is written', async () => {
    const s = storage();
    const v1 = await s.put('ops/src.json', '{"v":1}', { metadata: { origin: 'one' } });
    await s.copy('ops/src.json', 'ops/dst.json', { ifMatch: v1.etag });
    expect((await s.get('ops/dst.json')).toString()).toBe('{"v":1}');
    expect((await s.stat('ops/dst.json')).metadata).toEqual({ origin: 'one' });
    const v2 = await s.put('ops/src.json', '{"v":2,"longer":true}');
    expectRefused(
      await failure(s.copy('ops/src.json', 'ops/other.json', { ifMatch: v1.etag })),
      'ops/src.json',
      v1.etag,
    );
    expect(await s.exists('ops/other.json')).toBe(false);
    expect(await s.getWithEtag('ops/src.json')).toEqual({
      body: Buffer.from('{"v":2,"longer":true}'),
      etag: v2.etag,
    });
    // The copy made earlier is untouched by the refused one.
    expect((await s.get('ops/dst.json')).toString()).toBe('{"v":1}');
    expect((await failure(s.copy('ops/none.json', 'ops/x.json', { ifMatch: v2.etag }))).code).toBe('E011');
  });

  it('delete with ifMatch removes only that version; another is E015 and stays; a missing key is success', async () => {
    const s = storage();
    const v1 = await s.put('ops/del.json', '{"v":1}');
    const v2 = await s.put('ops/del.json', '{"v":2,"longer":true}');
    expectRefused(await failure(s.delete('ops/del.json', { ifMatch: v1.etag })), 'ops/del.json', v1.etag);
    expect(await s.getWithEtag('ops/del.json')).toEqual({
      body: Buffer.from('{"v":2,"longer":true}'),
      etag: v2.etag,
    });
    await s.delete('ops/del.json', { ifMatch: v2.etag });
    expect(await s.exists('ops/del.json')).toBe(false);
    await s.delete('ops/del.json', { ifMatch: v2.etag });
    await s.delete('ops/never.json', { ifMatch: NO_SUCH_ETAG });
    expect(await s.exists('ops/never.json')).toBe(false);
  });

  it('deleteMany with per-key ETags deletes the matching keys and names the refused ones (E015), which stay', async () => {
    const s = storage();
    const a = await s.put('many/a.json', '{"a":1}');
    const b1 = await s.put('many/b.json', '{"b":1}');
    const b2 = await s.put('many/b.json', '{"b":2,"longer":true}');
    await s.put('many/c.json', '{"c":1}');
    const error = await failure(
      s.deleteMany([
        { key: 'many/a.json', ifMatch: a.etag },
        { key: 'many/b.json', ifMatch: b1.etag },
        'many/c.json',
        { key: 'many/gone.json', ifMatch: NO_SUCH_ETAG },
      ]),
    );
    expect(error.code).toBe('E015');
    expect(error.message).toContain('many/b.json');
    expect(keysNotDeleted(error)).toEqual({ failed: ['many/b.json'], refused: ['many/b.json'] });
    expect(await s.exists('many/a.json')).toBe(false);
    expect(await s.exists('many/c.json')).toBe(false);
    expect(await s.getWithEtag('many/b.json')).toEqual({
      body: Buffer.from('{"b":2,"longer":true}'),
      etag: b2.etag,
    });
    await s.deleteMany([{ key: 'many/b.json', ifMatch: b2.etag }]);
    expect(await s.exists('many/b.json')).toBe(false);
  });

  it('a scoped view names the keys its deleteMany left as its caller did', async () => {
    const view = storage().scope('view/');
    const x1 = await view.put('x.json', '{"x":1}');
    await view.put('x.json', '{"x":2,"longer":true}');
    const y = await view.put('y.json', '{"y":1}');
    const error = await failure(
      view.deleteMany([
        { key: 'x.json', ifMatch: x1.etag },
        { key: 'y.json', ifMatch: y.etag },
      ]),
    );
    expect(keysNotDeleted(error)).toEqual({ failed: ['x.json'], refused: ['x.json'] });
    expect(await view.exists('x.json')).toBe(true);
    expect(await view.exists('y.json')).toBe(false);
  });

  it('move with ifMatch moves that version; another is E015 and nothing moves', async () => {
    const s = storage();
    const v1 = await s.put('mv/a.json', '{"v":1}', { metadata: { origin: 'one' } });
    await s.move('mv/a.json', 'done/a.json', { ifMatch: v1.etag });
    expect(await s.exists('mv/a.json')).toBe(false);
    expect((await s.get('done/a.json')).toString()).toBe('{"v":1}');
    expect((await s.stat('done/a.json')).metadata).toEqual({ origin: 'one' });
    const w1 = await s.put('mv/b.json', '{"w":1}');
    const w2 = await s.put('mv/b.json', '{"w":2,"longer":true}');
    expectRefused(
      await failure(s.move('mv/b.json', 'done/b.json', { ifMatch: w1.etag })),
      'mv/b.json',
      w1.etag,
    );
    expect(await s.exists('done/b.json')).toBe(false);
    expect(await s.getWithEtag('mv/b.json')).toEqual({
      body: Buffer.from('{"w":2,"longer":true}'),
      etag: w2.etag,
    });
    expect((await failure(s.move('mv/none.json', 'done/none.json', { ifMatch: w2.etag }))).code).toBe('E011');
  });
}
