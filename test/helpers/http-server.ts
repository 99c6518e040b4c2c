/**
 * A real local HTTP server for tests: answers from a script of responses (the last one repeats)
 * and records every request. Listens on 127.0.0.1 on a free port.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedResponse {
  status?: number;
  headers?: Record<string, string | string[]>;
  /** Objects are sent as JSON. */
  body?: unknown;
  /** Wait this long before answering (to provoke client timeouts). */
  delayMs?: number;
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface TestHttpServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startHttpServer(script: ScriptedResponse[]): Promise<TestHttpServer> {
  if (script.length === 0) throw new Error('startHttpServer: the script needs at least one response');
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const step = script[Math.min(requests.length, script.length - 1)]!;
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    const send = () => {
      const isText = typeof step.body === 'string' || step.body === undefined;
      const body = isText ? String(step.body ?? '') : JSON.stringify(step.body);
      res.writeHead(step.status ?? 200, {
        'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json',
        ...step.headers,
      });
      res.end(body);
    };
    if (step.delayMs) setTimeout(send, step.delayMs);
    else send();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
