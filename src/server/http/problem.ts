/**
 * HTTP errors carry their status (the Hono habit). Bodies are JSON in InfluxDB v2's shape,
 * `{code, message}` plus details such as `line` — its clients print `message` — and the v1
 * `/write` route answers `{error}` as InfluxDB 1.x does. A SluiceError becomes the status its code
 * means (a 5xx keeps its detail in the masked log); anything else is a 500 with no detail.
 */
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { ERROR_CODES, isTransient, SluiceError } from '../../errors.ts';

/** InfluxDB's error codes, by status. */
const CODE_BY_STATUS: Partial<Record<number, string>> = {
  400: 'invalid',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not found',
  405: 'method not allowed',
  409: 'conflict',
  413: 'request too large',
  415: 'unsupported media type',
  500: 'internal error',
  503: 'unavailable',
};

export class HttpProblem extends Error {
  readonly status: ContentfulStatusCode;
  readonly code: string;
  /** Extra fields of the JSON body (`line`, `maxLength`, …). Never a secret. */
  readonly details: Record<string, unknown>;
  /** Response headers (`WWW-Authenticate`, `Retry-After`). */
  readonly headers: Record<string, string>;

  constructor(
    status: ContentfulStatusCode,
    message: string,
    options: { details?: Record<string, unknown>; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpProblem';
    this.status = status;
    this.code = CODE_BY_STATUS[status] ?? 'invalid';
    this.details = options.details ?? {};
    this.headers = options.headers ?? {};
  }

  body(style: ErrorStyle): Record<string, unknown> {
    if (style === 'influx-v1') return { error: this.message, ...this.details };
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** How error bodies are shaped: InfluxDB 1.x's `/write` speaks `{error}`, everything else `{code, message}`. */
export type ErrorStyle = 'influx-v1' | 'json';

const STATUS_BY_CODE: Partial<Record<string, ContentfulStatusCode>> = {
  E003: 400,
  // A promotion or rollback refused (no such backup, one that would empty the env): nothing changed.
  E005: 409,
  E010: 400,
  E020: 400,
  E021: 400,
  E022: 400,
  E051: 400,
  E011: 404,
  E013: 409,
  E071: 503,
};

/** The problem an error thrown while handling a request stands for. */
export function problemOf(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof SluiceError) {
    const status = STATUS_BY_CODE[error.code] ?? (isTransient(error) ? 503 : 500);
    const line = error.context.line;
    // A 4xx message is about the request; a 5xx one may name server paths: the log keeps it.
    const message =
      status < 500 ? error.message : `${ERROR_CODES[error.code].description}; the server log has the details`;
    return new HttpProblem(status, `${error.code}: ${message}`, {
      details: typeof line === 'number' ? { line } : {},
      headers: status === 503 ? { 'Retry-After': '1' } : {},
      cause: error,
    });
  }
  return new HttpProblem(500, 'internal error; the server log has the details', { cause: error });
}
