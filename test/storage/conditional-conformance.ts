/**
 * Conditional puts, as every driver must do them (part of the conformance suite): `ifMatch` with
 * the ETag a read or a put returned, a stale one, a gone object, and `getWithEtag`'s ETag.
 * Sequential only: whether two racing writers can both succeed is each backend's
 * `conditionalWrites()`, tested per driver.
 */
import { expect, it } from 'vitest';
import { SluiceError } from '../../src/errors.ts';
import type { Storage } from '../../src/storage/types.ts';

async function failure(promise: Promise<unknown>): Promise<SluiceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SluiceError);
  return error as SluiceError;
}

export function conditionalPutConformance(storage: () => Storage): void {
  it('getWithEtag returns the bytes and the ETag stat and put report', async () => {
    const s = storage();
    const put = await s.put('cas/read.txt', 'one');
    const got = await s.getWithEtag('cas/read.txt');
    expect(got.body.toString()).toBe('one');
    expect(got.etag).toBe(put.etag);
    expect(got.etag).toBe((await s.stat('cas/read.txt')).etag);
    expect((await failure(s.getWithEtag('cas/missing.txt'))).code).toBe('E011');
  });

  it('puts with ifMatch only while the object is at that ETag (E015 otherwise, object unchanged)', async () => {
    const s = storage();
    const v1 = await s.put('cas/obj.txt', 'v1');
    const v2 = await s.put('cas/obj.txt', 'v2 longer', { ifMatch: v1.etag });
    expect((await s.get('cas/obj.txt')).toString()).toBe('v2 longer');
    const stale = await failure(s.put('cas/obj.txt', 'v3', { ifMatch: v1.etag }));
    expect(stale.code).toBe('E015');
    expect(stale.name).toBe('PreconditionFailedError');
    expect(stale.message).toContain('cas/obj.txt');
    expect(stale.message).toContain(v1.etag);
    expect((await s.get('cas/obj.txt')).toString()).toBe('v2 longer');
    expect((await s.stat('cas/obj.txt')).etag).toBe(v2.etag);
    await s.delete('cas/obj.txt');
    expect((await failure(s.put('cas/obj.txt', 'v4', { ifMatch: v2.etag }))).code).toBe('E015');
    expect(await s.exists('cas/obj.txt')).toBe(false);
  });

  it('refuses ifMatch together with ifNotExists (E020) before writing', async () => {
    const s = storage();
    const error = await failure(s.put('cas/both.txt', 'x', { ifMatch: 'abc', ifNotExists: true }));
    expect(error.code).toBe('E020');
    expect(await s.exists('cas/both.txt')).toBe(false);
  });

  it('creates only if absent with ifNotExists (E013 when present)', async () => {
    const s = storage();
    await s.put('cas/once.txt', 'first', { ifNotExists: true });
    expect((await failure(s.put('cas/once.txt', 'second', { ifNotExists: true }))).code).toBe('E013');
    expect((await s.get('cas/once.txt')).toString()).toBe('first');
  });
}
