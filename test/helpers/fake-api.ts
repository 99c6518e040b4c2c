/**
 * A stand-in for a public HTTPS API, so that a documented `sluice fetch https://api.example.com/…`
 * runs offline exactly as written: an HTTPS server with a fresh self-signed certificate for the
 * host, reached through a local CONNECT proxy that the CLI uses via Node's own proxy support
 * (NODE_USE_ENV_PROXY + HTTPS_PROXY, Node ≥ 22.21 / 24.5) and trusts via NODE_EXTRA_CA_CERTS.
 * Needs the `openssl` CLI (Debian's openssl package, installed with ca-certificates).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';

export interface FakeApi {
  /** Environment for the CLI: the proxy, its CA, loopback not proxied. */
  env: Record<string, string>;
  /** What the API was asked: method, path with query, headers. */
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  stop(): Promise<void>;
}

/** Serves `host` (port 443 as the CLI sees it) from `respond`; key and certificate go to `dir`. */
export async function startFakeApi(
  host: string,
  dir: string,
  respond: (req: http.IncomingMessage) => { status?: number; body: unknown },
): Promise<FakeApi> {
  const key = path.join(dir, 'fake-api-key.pem');
  const cert = path.join(dir, 'fake-api-cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${host}`,
      '-addext',
      `subjectAltName=DNS:${host}`,
    ],
    { stdio: 'pipe' },
  );
  const requests: FakeApi['requests'] = [];
  const api = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const { status = 200, body } = respond(req);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const apiPort = (api.address() as net.AddressInfo).port;
  const proxy = http.createServer((_req, res) => {
    res.writeHead(405);
    res.end('CONNECT only');
  });
  const sockets = new Set<net.Socket>();
  proxy.on('connect', (req, client: net.Socket, head: Buffer) => {
    sockets.add(client);
    if (req.url !== `${host}:443`) {
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    const upstream = net.connect(apiPort, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const proxyPort = (proxy.address() as net.AddressInfo).port;
  return {
    env: {
      NODE_USE_ENV_PROXY: '1',
      HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`,
      NO_PROXY: '127.0.0.1,localhost',
      NODE_EXTRA_CA_CERTS: cert,
    },
    requests,
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise((resolve) => proxy.close(resolve)),
        new Promise((resolve) => api.close(resolve)),
      ]);
    },
  };
}
