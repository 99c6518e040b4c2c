/**
 * Masking by meaning (issue #15): names are sensitive by their words, not by a list, and values
 * are masked by their shape whatever their name. Users can add names, never remove built-in ones.
 */
import { describe, expect, it } from 'vitest';
import {
  addSensitiveNames,
  isSensitiveName,
  LOG_SENSITIVE_PARAMS,
  maskSecretsInString,
  maskSensitiveData,
} from '../../src/secrets/mask.ts';

const S = 'PLANTED-7f3a9c';

describe('names by meaning', () => {
  it('catches compound names nobody listed (the issue’s headers among them)', () => {
    for (const name of [
      'X-Vault-Token',
      'Private-Token',
      'X-Custom-Token',
      'gitlab_token',
      'SLACK_WEBHOOK_SECRET',
      'db.password',
      'pg_password',
      'x-amz-security-token',
      'clientSecret',
      'X-Api-Key',
      'accessKey',
      'private_key_pem',
      'ssh-key',
      'sessionId',
      'X-CSRF-Token',
      'otp',
      'jwt',
      'bearer',
      'Proxy-Authorization',
      'refreshToken',
      'mfa_otp_code',
      'user_credentials',
      'AGE_IDENTITY',
      'webhook_sig',
    ]) {
      expect(isSensitiveName(name), name).toBe(true);
      expect(isSensitiveName(name, LOG_SENSITIVE_PARAMS), `${name} (logs)`).toBe(true);
    }
  });

  it('keeps ordinary names readable: storage keys, paging tokens, look-alike words', () => {
    for (const name of [
      'key',
      'keys',
      'sort_key',
      'partition_key',
      'next_page_token',
      'continuation_token',
      'author',
      'monkey',
      'keyboard',
      'passenger',
      'compass',
      'signal',
      'page',
      'unit',
    ]) {
      expect(isSensitiveName(name, LOG_SENSITIVE_PARAMS), name).toBe(false);
    }
  });

  it('adds user names (whole or as words of a longer name); the built-in ones stay', () => {
    expect(isSensitiveName('customer_ref')).toBe(false);
    addSensitiveNames(['customer_ref', 'token']);
    expect(isSensitiveName('customer_ref')).toBe(true);
    expect(isSensitiveName('X-Customer-Ref')).toBe(true);
    expect(maskSensitiveData({ customerRef: S, api_key: S, page: 1 })).toEqual({
      customerRef: '********',
      api_key: '********',
      page: 1,
    });
  });
});

describe('values by shape, whatever the name', () => {
  const jwt = `eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIke1N9In0.${S}abc`;
  const cases: [string, string][] = [
    ['a JWT in a message', `request failed with token ${jwt} attached`],
    ['Bearer credentials', `Authorization was Bearer ${S}xyz`],
    ['Basic credentials', `sent Basic ${Buffer.from(`bob:${S}`).toString('base64')}`],
    [
      'an AWS key id and its secret',
      `creds AKIAIOSFODNN7EXAMPLE / wJalrXUtnFEMI/K7MDENG/bPxRfiCY${S.slice(0, 4)}KEY1`,
    ],
    ['a temporary AWS key id', 'ASIAY34FZKBOKMUTVV7A used'],
    [
      'a PEM private key',
      `-----BEGIN RSA PRIVATE KEY-----\nMIIEow${S}IBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nafter`,
    ],
    ['a cut-off PEM private key', `-----BEGIN PRIVATE KEY-----\nMIIE${S}`],
    ['an age identity', `identity AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGP`],
    ['URL userinfo', `GET https://bob:${S}@api.example.com/v1`],
    ['a sensitive query parameter', `GET https://api.example.com/v1?page=1&x-vault-token=${S}`],
  ];
  for (const [label, text] of cases) {
    it(label, () => {
      const masked = maskSecretsInString(text);
      expect(masked).not.toContain(S);
      expect(masked).not.toMatch(/AKIA|ASIA[A-Z0-9]{16}|AGE-SECRET-KEY-1Q/);
      expect(masked).toContain('********');
    });
  }

  it('keeps the text around a secret, and non-secret values beside it', () => {
    expect(maskSecretsInString(`GET https://h/v1?page=1&token=${S}`)).toBe(
      'GET https://h/v1?page=1&token=********',
    );
    expect(maskSecretsInString(`-----BEGIN EC PRIVATE KEY-----\nAAA\n-----END EC PRIVATE KEY-----\nok`)).toBe(
      '-----BEGIN EC PRIVATE KEY----- ********\nok',
    );
    // Hex digests and ordinary base64 stay (no key id beside them).
    const sha1 = 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3';
    expect(maskSecretsInString(`etag ${sha1}`)).toBe(`etag ${sha1}`);
  });
});
