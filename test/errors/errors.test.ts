import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  ERROR_CODES,
  isRetryable,
  NetworkError,
  PromotionError,
  SluiceError,
  StorageError,
  toSluiceError,
} from '../../src/errors.ts';

describe('errors', () => {
  it('keeps the seed codes and classes', () => {
    expect(new ConfigurationError('x').code).toBe('E001');
    expect(new PromotionError('x').code).toBe('E005');
    const e = new PromotionError('dev to prod is not allowed', { context: { from: 'dev', to: 'prod' } });
    expect(e).toBeInstanceOf(SluiceError);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('PromotionError');
    expect(String(e)).toBe('E005: dev to prod is not allowed');
    expect(e.context).toEqual({ from: 'dev', to: 'prod' });
  });

  it('masks secrets in contexts and messages', () => {
    const e = new StorageError('failed https://h/x?api_key=abc123secret', {
      context: { password: 'hunter22', key: 'a/b.csv' },
    });
    expect(e.message).not.toContain('abc123secret');
    expect(e.context).toEqual({ password: '********', key: 'a/b.csv' });
  });

  it('classifies retryable errors', () => {
    expect(isRetryable(new NetworkError('x'))).toBe(true);
    expect(isRetryable(new StorageError('x', { context: { retryable: true } }))).toBe(true);
    expect(isRetryable(new StorageError('x'))).toBe(false);
    expect(isRetryable(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(toSluiceError(new Error('boom')).code).toBe('E099');
  });

  it('documents every code in the README table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(readme, code).toMatch(new RegExp(`\\|\\s*${code}\\s*\\|\\s*${info.name}\\s*\\|`));
    }
  });
});
