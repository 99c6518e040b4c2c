import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { presentedToken } from '../../src/server/auth/require-scope.ts';
import { allows, parseTokenSpecs, TokenSet } from '../../src/server/auth/tokens.ts';
import { maskedTarget } from '../../src/server/http/observe.ts';
import { resolveServeSettings, serveSectionSchema } from '../../src/server/settings.ts';

const W = 'w'.repeat(20);
const R = 'r'.repeat(20);
const A = 'a'.repeat(20);

describe('tokens', () => {
  it('reads scope:token lists from the environment and the config, together', () => {
    const set = TokenSet.from({ env: `write:${W}, read:${R}`, config: [`admin:${A}`] });
    expect(set.size).toBe(3);
    expect(set.countByScope()).toEqual({ read: 1, write: 1, admin: 1 });
    expect(set.verify(W)).toMatchObject({ label: 'write#1' });
    expect(set.verify(A)).toMatchObject({ label: 'admin#1' });
    expect(set.verify(`${W}x`)).toBeUndefined();
    expect(set.verify('')).toBeUndefined();
  });

  it('admin covers every scope; write does not read, read does not write', () => {
    const set = new TokenSet([
      { scope: 'write', token: W },
      { scope: 'read', token: R },
      { scope: 'admin', token: A },
    ]);
    const grant = (t: string) => set.verify(t) ?? { label: '', scopes: new Set() };
    expect(allows(grant(W), 'write')).toBe(true);
    expect(allows(grant(W), 'read')).toBe(false);
    expect(allows(grant(R), 'write')).toBe(false);
    for (const scope of ['read', 'write', 'admin'] as const) expect(allows(grant(A), scope)).toBe(true);
  });

  it('one token listed under two scopes carries both', () => {
    const set = new TokenSet([
      { scope: 'read', token: W },
      { scope: 'write', token: W },
    ]);
    expect([...(set.verify(W)?.scopes ?? [])].sort()).toEqual(['read', 'write']);
  });

  it('refuses unknown scopes and weak tokens, naming the entry but never the value', () => {
    expect(() => parseTokenSpecs(`super:${W}`, 'SLUICE_API_TOKENS')).toThrow(
      /entry 1 of SLUICE_API_TOKENS must be scope:token/,
    );
    expect(() => parseTokenSpecs(W, 'serve.tokens')).toThrow(/must be scope:token/);
    for (const bad of ['write:sekrit', `write:${'x'.repeat(10)} ${'y'.repeat(10)}`]) {
      try {
        parseTokenSpecs(`read:${R},${bad}`, 'SLUICE_API_TOKENS');
        expect.unreachable();
      } catch (error) {
        expect((error as Error).message).toMatch(/entry 2 of SLUICE_API_TOKENS \(write\)/);
        expect((error as Error).message).not.toContain('sekrit');
        expect((error as Error).message).not.toContain('xxxxxxxxxx');
      }
    }
    expect(parseTokenSpecs(' , ', 'x')).toEqual([]);
  });

  it('takes the token from Token, Bearer, Basic and (where allowed) the p parameter', () => {
    const req = (headers: Record<string, string>, url = 'http://h/write') => new Request(url, { headers });
    expect(presentedToken(req({ Authorization: `Token ${W}` }), false)).toBe(W);
    expect(presentedToken(req({ Authorization: `bearer ${W}` }), false)).toBe(W);
    expect(
      presentedToken(req({ Authorization: `Basic ${Buffer.from(`u:${W}`).toString('base64')}` }), false),
    ).toBe(W);
    expect(
      presentedToken(req({ Authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` }), false),
    ).toBeUndefined();
    expect(presentedToken(req({ Authorization: 'Token' }), false)).toBeUndefined();
    expect(presentedToken(req({}, `http://h/write?p=${W}`), true)).toBe(W);
    expect(presentedToken(req({}, `http://h/write?p=${W}`), false)).toBeUndefined();
  });

  it('masks secrets in logged request targets', () => {
    expect(maskedTarget(`http://h/write?db=x&u=me&p=${W}`)).toBe('/write?db=x&u=me&p=********');
    expect(maskedTarget('http://h/q?token=abc&api_key=def&variable=cpu')).toBe(
      '/q?token=********&api_key=********&variable=cpu',
    );
    expect(maskedTarget('http://h/healthz')).toBe('/healthz');
  });
});

describe('serve settings', () => {
  it('defaults: loopback, 8080, 10 s grace, <dataDir>/timeseries, auto-create, fsync', () => {
    const s = resolveServeSettings({ section: {}, dataDir: '/data' });
    expect(s).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      shutdownGraceMs: 10_000,
      timeseriesRoot: '/data/timeseries',
      autoCreate: true,
      durability: 'fsync',
      limits: { maxBodyBytes: 16 * 1024 * 1024, maxPointsPerRequest: 200_000, maxQueryPoints: 500_000 },
    });
  });

  it('reads durations and sizes as people write them; relative paths belong to the config file', () => {
    const section = serveSectionSchema.parse({
      shutdownGrace: '30s',
      timeseries: { root: './ts', autoCreate: false },
      limits: { maxBodySize: '1MiB' },
    });
    const s = resolveServeSettings({ section, file: '/etc/sluice/sluice.config.yaml', dataDir: '/data' });
    expect(s.shutdownGraceMs).toBe(30_000);
    expect(s.timeseriesRoot).toBe('/etc/sluice/ts');
    expect(s.autoCreate).toBe(false);
    expect(s.limits.maxBodyBytes).toBe(1024 * 1024);
    expect(
      resolveServeSettings({ section: serveSectionSchema.parse({ shutdownGrace: 2 }), dataDir: '/d' })
        .shutdownGraceMs,
    ).toBe(2000);
  });

  it('flags win over the file; S3 roots stay as written', () => {
    const section = serveSectionSchema.parse({
      port: 9000,
      host: '0.0.0.0',
      timeseries: { root: 's3://bucket/ts?endpoint=http://x' },
    });
    expect(resolveServeSettings({ section, dataDir: '/d' }).timeseriesRoot).toBe(
      's3://bucket/ts?endpoint=http://x',
    );
    const s = resolveServeSettings({
      section,
      dataDir: '/d',
      flags: { port: 0, host: '::1', timeseriesRoot: 'rel' },
    });
    expect(s).toMatchObject({ port: 0, host: '::1', timeseriesRoot: path.resolve('rel') });
  });

  it('refuses unknown keys and bad values', () => {
    expect(serveSectionSchema.safeParse({ prot: 80 }).success).toBe(false);
    expect(serveSectionSchema.safeParse({ timeseries: { autocreate: true } }).success).toBe(false);
    expect(serveSectionSchema.safeParse({ shutdownGrace: 'soon' }).success).toBe(false);
    expect(serveSectionSchema.safeParse({ limits: { maxBodySize: '1.5.5MB' } }).success).toBe(false);
    expect(serveSectionSchema.safeParse({ port: 70_000 }).success).toBe(false);
  });
});
