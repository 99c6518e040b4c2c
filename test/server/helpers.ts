/** A server on a temp time-series root, with one token per scope, for in-process and socket tests. */
import { Writable } from 'node:stream';
import type { z } from 'zod';
import { createLogger } from '../../src/logging/logger.ts';
import { type CreateServerOptions, createServer, startServer } from '../../src/server/service.ts';
import { resolveServeSettings, serveSectionSchema } from '../../src/server/settings.ts';
import { tempDir } from '../helpers/tmp.ts';

export const TOKENS = {
  read: 'read-token-0123456789abcdef',
  write: 'write-token-0123456789abcdef',
  admin: 'admin-token-0123456789abcdef',
} as const;

export const TOKENS_ENV = Object.entries(TOKENS)
  .map(([scope, token]) => `${scope}:${token}`)
  .join(',');

export const auth = (scope: keyof typeof TOKENS, scheme = 'Token') => ({
  Authorization: `${scheme} ${TOKENS[scope]}`,
});

/** A logger writing JSON lines into `lines`, to check what a request log holds. */
export function captureLog(): { log: ReturnType<typeof createLogger>; text: () => string } {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { log: createLogger({ destination, format: 'json', level: 'info' }), text: () => chunks.join('') };
}

export interface TestServerOptions extends Partial<Omit<CreateServerOptions, 'settings'>> {
  /** As written in the config file (durations and sizes as text), checked by the real schema. */
  section?: z.input<typeof serveSectionSchema>;
  dir?: string;
}

function settingsFor(options: TestServerOptions) {
  const dir = options.dir ?? tempDir('sluice-serve');
  const flags = options.section?.port === undefined ? { port: 0 } : {};
  const section = serveSectionSchema.parse(options.section ?? {});
  const settings = resolveServeSettings({ section, dataDir: dir, flags });
  return { dir, settings };
}

export function testServer(options: TestServerOptions = {}) {
  const { dir, settings } = settingsFor(options);
  const log = options.log ?? captureLog().log;
  const handle = createServer({ tokensEnv: TOKENS_ENV, ...options, settings, log });
  return { ...handle, dir, root: settings.timeseriesRoot };
}

export async function testSocketServer(options: TestServerOptions = {}) {
  const { dir, settings } = settingsFor(options);
  const log = options.log ?? captureLog().log;
  const running = await startServer({ tokensEnv: TOKENS_ENV, ...options, settings, log });
  return { ...running, dir, root: settings.timeseriesRoot };
}
