import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SENSITIVE_PARAMS,
  isSensitiveName,
  maskSecretsInString,
  maskSensitiveData,
  SensitiveNameMatcher,
} from '../../src/secrets/mask.ts';
import fc from '../helpers/fc.ts';

const SECRET = 'S3cr3tValue_9f8e7d';

describe('maskSensitiveData', () => {
  it('masks the seed example and keeps other values', () => {
    expect(maskSensitiveData({ api_key: 'secret', param1: 'value1' })).toEqual({
      api_key: '********',
      param1: 'value1',
    });
  });

  it('matches names case-insensitively and by word, including header spellings', () => {
    for (const name of [
      'API_KEY',
      'apiKey',
      'X-Api-Key',
      'Authorization',
      'client_secret_v2',
      'aws_secret_access_key',
      'Set-Cookie',
      'accessToken',
      'PASSWORD',
    ]) {
      expect(isSensitiveName(name), name).toBe(true);
    }
    for (const name of ['param1', 'author', 'next_page_token', 'sort_key', 'monkey', 'keyboard']) {
      expect(isSensitiveName(name), name).toBe(false);
    }
  });

  it('walks nested objects, arrays, Headers and Maps without mutating the input', () => {
    const input = {
      outer: { inner: [{ token: SECRET }, { password: SECRET }] },
      headers: new Headers({ Authorization: `Bearer ${SECRET}`, Accept: 'json' }),
      map: new Map([['client_secret', SECRET]]),
    };
    const out = JSON.stringify(maskSensitiveData(input));
    expect(out).not.toContain(SECRET);
    expect(out).toContain('"accept":"json"');
    expect(input.outer.inner[0]?.token).toBe(SECRET);
  });

  it('masks query parameters and passwords inside URLs anywhere in strings', () => {
    const text = `GET https://api.example.com/v1?x=1&api_key=${SECRET}&Token=${SECRET} via https://bob:${SECRET}@proxy:8080/`;
    const masked = maskSecretsInString(text);
    expect(masked).not.toContain(SECRET);
    expect(masked).toContain('x=1');
    expect(masked).toContain('https://bob:********@proxy');
  });

  it('honours a custom list and mask character; a list adds names, never removes built-in ones', () => {
    expect(maskSensitiveData({ custom: 'abc', api_key: 'k', unit: 'C' }, ['custom'], '#')).toEqual({
      custom: '########',
      api_key: '########',
      unit: 'C',
    });
  });

  it('cuts cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(maskSensitiveData(a)).toEqual({ name: 'a', self: '[Circular]' });
  });

  it('property: a planted secret never survives in any nested position or URL', () => {
    const secretName = fc.constantFrom(
      ...DEFAULT_SENSITIVE_PARAMS.filter((n) => n !== 'key'),
      'Authorization',
      'X-API-KEY',
      'ApiKey',
      'access-token',
      'AWS_SECRET_ACCESS_KEY',
    );
    const secret = fc.stringMatching(/^[A-Za-z0-9]{12,24}$/);
    const plainKey = fc.constantFrom('data', 'items', 'params', 'headers', 'x', 'nested');
    // Builds a random tree and plants the secret either under a sensitive name or as a URL query value.
    const tree = (s: string, n: string): fc.Arbitrary<unknown> =>
      fc.letrec<{ node: unknown }>((tie) => ({
        node: fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          fc.constant({ [n]: s }),
          fc.constant(`https://h.example/p?a=1&${encodeURIComponent(n)}=${s}&b=2`),
          fc.constant({ url: `http://u:${s}@host/x` }),
          fc.tuple(plainKey, tie('node')).map(([k, v]) => ({ [k]: v, other: 'fine' })),
          tie('node').map((v) => [1, v, 'z']),
        ),
      })).node;
    fc.assert(
      fc.property(
        secret.chain((s) => secretName.chain((n) => tree(s, n).map((t) => [s, t] as const))),
        ([s, t]) => {
          expect(JSON.stringify(maskSensitiveData(t))).not.toContain(s);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('masking gaps found in review', () => {
  const S = 'SECRETvalue123456';
  it('masks fragments, nested URLs, token userinfo, passwords with / or @, and auth schemes in text', () => {
    const cases = [
      `https://app/cb#access_token=${S}&token_type=bearer`,
      `https://h/?next=/x?access_token=${S}`,
      `https://ghp_${S}@github.com/o/r.git`,
      `redis://:ab/${S}@host:6379/0`,
      `postgres://u:p@ss${S}@host/db`,
      `https://s3/x?X-Amz-Security-Token=${S}&X-Amz-Signature=${S}&X-Amz-Date=20250101`,
      `Authorization: Bearer ${S}`,
    ];
    for (const c of cases) expect(maskSecretsInString(c), c).not.toContain(S);
    expect(maskSecretsInString('git@github.com:o/r.git')).toBe('git@github.com:o/r.git');
    expect(maskSecretsInString('mail me at a@b.com about x=1')).toBe('mail me at a@b.com about x=1');
  });

  it('masks name=value secrets in free text (DSNs, log lines), keeps storage keys and plain words', () => {
    const cases = [
      `host=db password=${S} dbname=x`,
      `password='${S} and more' user=u`,
      `connect failed (token=${S})`,
      `api_key="${S}"`,
      `retry, client_secret=${S}, giving up`,
    ];
    for (const c of cases) expect(maskSecretsInString(c), c).not.toContain(S);
    expect(maskSecretsInString(`host=db password=${S} dbname=x`)).toBe(
      'host=db password=******** dbname=x'.replace(
        '********',
        maskSecretsInString('?password=x').split('=')[1] as string,
      ),
    );
    for (const kept of [
      '--meta expects key=value, got "a"',
      'key=dev/landing/a.csv rows=3',
      'x=1 y=2',
      'rows=3 passwordless',
    ]) {
      expect(maskSecretsInString(kept), kept).toBe(kept);
    }
  });

  it('masks sensitive fields in JSON text that was not parsed (torn payloads, parser messages), keeps the rest', () => {
    const cases = [
      `{"token":"${S}","rows":3}`,
      `{"password": "${S}`, // torn at the end
      `{"client_secret" : "${S} with \\"quotes\\" inside"}`,
      `{"pin_password": 123456789}`.replace('123456789', S),
      `Unexpected token in JSON at position 40: {"api_key":"${S}", "x": `,
      `{"token=${S}", "x": `,
    ];
    for (const c of cases) expect(maskSecretsInString(c), c).not.toContain(S);
    for (const kept of [
      '{"key":"dev/landing/a.csv","rows":3}',
      '{"note":"a token here","n":1}',
      '{"page_size": 7, "next": null}',
    ]) {
      expect(maskSecretsInString(kept), kept).toBe(kept);
    }
  });

  it('masks session and security tokens and header tuples, keeps pagination tokens', () => {
    const masked = maskSensitiveData({
      headers: [['Authorization', `Bearer ${S}`]],
      raw: ['Accept', 'json', 'X-Api-Key', S],
      AWS_SESSION_TOKEN: S,
      sessionToken: S,
      oauth_token: S,
      'x-amz-security-token': S,
      next_page_token: 'keep',
    });
    expect(JSON.stringify(masked)).not.toContain(S);
    expect(masked).toMatchObject({
      next_page_token: 'keep',
      raw: ['Accept', 'json', 'X-Api-Key', '********'],
    });
  });
});

describe('masking keeps data intact', () => {
  it('keeps an own __proto__ key as data (JSON.parse creates those) and masks inside it', () => {
    const parsed = JSON.parse('{"__proto__":{"api_key":"PLANTED","unit":"C"},"a":1}') as object;
    const masked = maskSensitiveData(parsed) as Record<string, unknown>;
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    expect(JSON.stringify(masked)).toBe('{"__proto__":{"api_key":"********","unit":"C"},"a":1}');
  });

  it('the shared, memoised name check answers as a fresh matcher does, on every call', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 24 }), fc.constantFrom('apiKey', 'X-Api-Key', 'sort_key', 'token')),
        (name) => {
          const fresh = new SensitiveNameMatcher().isSensitive(name);
          expect(isSensitiveName(name)).toBe(fresh);
          expect(isSensitiveName(name)).toBe(fresh);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
