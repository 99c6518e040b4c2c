/**
 * Serves the app on a socket and stops it gracefully: stop accepting, let requests in flight
 * finish (keep-alive connections are closed as soon as they are idle), and after the grace
 * period cut whatever is still open.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { ConfigurationError } from '../errors.ts';
import type { ServerEnv } from './types.ts';

/** Loopback: the API holds data and takes writes; other hosts reach it only when asked. */
export const DEFAULT_HOST = '127.0.0.1';

export interface HttpListener {
  /** The address really bound. */
  readonly host: string;
  /** The port really bound (the free one picked when asked for 0). */
  readonly port: number;
  /** `http://host:port` of the bound address. */
  readonly url: string;
  /** Requests being answered now. */
  inFlight(): number;
  /**
   * Stops accepting, waits up to `graceMs` for requests in flight, then closes every connection.
   * Resolves with how many requests were cut off; safe to call twice.
   */
  close(graceMs: number): Promise<{ cutOff: number }>;
}

export async function listen(
  app: Pick<Hono<ServerEnv>, 'fetch'>,
  options: { host?: string; port: number },
): Promise<HttpListener> {
  const host = options.host ?? DEFAULT_HOST;
  let active = 0;
  const server = createAdaptorServer({
    fetch: async (request, env) => {
      active++;
      try {
        return await app.fetch(request, env);
      } finally {
        active--;
      }
    },
  }) as Server;
  await bind(server, host, options.port);
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closing: Promise<{ cutOff: number }> | undefined;
  return {
    host: bound.address,
    port: bound.port,
    url: `http://${shownHost}:${bound.port}`,
    inFlight: () => active,
    close(graceMs) {
      closing ??= new Promise((resolve) => {
        let cutOff = 0;
        // Connections that finish their request while draining are closed once idle.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        const deadline = setTimeout(() => {
          cutOff = active;
          server.closeAllConnections();
        }, graceMs);
        server.close(() => {
          clearInterval(sweep);
          clearTimeout(deadline);
          resolve({ cutOff });
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}

async function bind(server: Server, host: string, port: number): Promise<void> {
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigurationError(`Port must be an integer 0–65535, got ${String(port)}`);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const why =
      code === 'EADDRINUSE'
        ? 'the port is in use; pick another, or 0 for any free one'
        : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'that address is not one of this host; check --host'
          : code === 'EACCES'
            ? 'binding that port needs privileges; pick one above 1023'
            : (error as Error).message;
    throw new ConfigurationError(`Cannot serve on ${host}:${port} (${code}): ${why}`, {
      context: { host, port },
      cause: error,
    });
  }
}
