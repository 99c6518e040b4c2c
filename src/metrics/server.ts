import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { ValidationError } from '../errors.ts';

export interface MetricsServerOptions {
  /** TCP port; 0 picks a free one (see `port` on the result). */
  port: number;
  /** @default '0.0.0.0' */
  host?: string;
}

export interface MetricsServer {
  readonly port: number;
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
  const host = options.host ?? '0.0.0.0';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  server.unref();
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://127.0.0.1:${port}/metrics`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      return closing;
    },
  };
}
