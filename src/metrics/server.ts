import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ConfigurationError, ValidationError } from '../errors.ts';

/** Loopback: metrics say how busy a host is and what it reads; other hosts see them only when asked. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

export interface MetricsServerOptions {
  /** TCP port; 0 picks a free one (see `port` on the result). */
  port: number;
  /** Address to bind; `0.0.0.0` or `::` for every interface. @default '127.0.0.1' */
  host?: string;
}

export interface MetricsServer {
  /** The address really bound (what `host` resolved to). */
  readonly host: string;
  /** The port really bound (the free one chosen when asked for 0). */
  readonly port: number;
  /** `http://<host>:<port>/metrics` of the bound address. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `GET /metrics` (Prometheus text exposition) and `GET /healthz`. */
export async function startMetricsServer(
  registry: Registry,
  options: MetricsServerOptions,
): Promise<MetricsServer> {
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new ValidationError(`Metrics port must be an integer 0–65535, got ${String(options.port)}`);
  }
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(error));
        },
      );
      return;
    }
    if (req.method === 'GET' && url === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found; try /metrics\n');
  });
  const host = options.host ?? DEFAULT_METRICS_HOST;
  await listen(server, host, options.port);
  server.unref();
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  let closing: Promise<void> | undefined;
  return {
    host: bound.address,
    port: bound.port,
    url: `http://${shownHost}:${bound.port}/metrics`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}

/** Binds, or says which address and port could not be had and what to change. */
async function listen(server: Server, host: string, port: number): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const why =
      code === 'EADDRINUSE'
        ? 'the port is in use; pick another, or 0 for any free one'
        : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? 'that address is not one of this host; check the host'
          : (error as Error).message;
    throw new ConfigurationError(`Cannot serve metrics on ${host}:${port} (${code}): ${why}`, {
      context: { host, port },
      cause: error,
    });
  }
}
