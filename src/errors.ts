/**
 * Every failure sluice reports is a SluiceError with a stable code. The codes E001–E008 are the
 * OSAA pipeline's; the rest are sluice's own, grouped by domain (see ERROR_CODES and the README).
 * Contexts are masked before they are stored, so an error never carries a secret.
 */
import { LOG_SENSITIVE_PARAMS, maskSecretsInString, maskSensitiveData } from './secrets/mask.ts';

export interface ErrorCodeInfo {
  readonly name: string;
  readonly description: string;
  readonly resolution: string;
}

/** The one table of error codes; the README's table is checked against it by a test. */
export const ERROR_CODES = {
  E001: {
    name: 'ConfigurationError',
    description: 'Missing or invalid configuration',
    resolution: 'Fix the setting named in the message (env, sluice.config.yaml or flag)',
  },
  E002: {
    name: 'S3AccessError',
    description: 'Cannot access the S3 bucket or object',
    resolution: 'Check credentials, bucket name, endpoint and permissions',
  },
  E003: {
    name: 'SchemaValidationError',
    description: 'Data does not match its schema',
    resolution: 'Fix the file/row/column named in the message or the schema',
  },
  E004: {
    name: 'TransformationError',
    description: 'A SQL model failed',
    resolution: 'Review the model SQL named in the message',
  },
  E005: {
    name: 'PromotionError',
    description: 'Invalid promotion path or failed promotion',
    resolution: 'Promote dev→qa→prod only; roll back with `sluice rollback`',
  },
  E006: {
    name: 'DuckDBError',
    description: 'A DuckDB operation failed',
    resolution: 'Check disk space, file locks and the SQL in the message',
  },
  E007: {
    name: 'NetworkError',
    description: 'A network connection failed',
    resolution: 'Check connectivity and the endpoint; transient errors are retried',
  },
  E008: {
    name: 'TimeoutError',
    description: 'An operation timed out',
    resolution: 'Increase the timeout or retry',
  },
  E010: {
    name: 'InvalidKeyError',
    description: 'A storage key or name is unsafe (traversal, absolute, NUL, backslash, empty segment)',
    resolution: 'Use relative keys of safe segments',
  },
  E011: {
    name: 'NotFoundError',
    description: 'The object, file or entry does not exist',
    resolution: 'Check the key or path',
  },
  E012: {
    name: 'StorageError',
    description: 'A storage read or write failed',
    resolution: 'See the cause; check permissions and free space',
  },
  E013: {
    name: 'AlreadyExistsError',
    description: 'The target exists and overwriting was not allowed',
    resolution: 'Remove it or allow overwrite',
  },
  E014: {
    name: 'InvalidUrlError',
    description: 'A storage or queue URL cannot be parsed',
    resolution: 'Use a path, file://, s3://bucket/prefix, memory://, sqlite: or redis://',
  },
  E015: {
    name: 'PreconditionFailedError',
    description:
      'A conditional read, write, copy or delete found another version of the object than it expected',
    resolution: 'Another writer changed it first: read it again and redo the change',
  },
  E020: {
    name: 'ValidationError',
    description: 'An argument or input value is invalid',
    resolution: 'Fix the value named in the message',
  },
  E021: {
    name: 'FormatError',
    description: 'A file cannot be parsed in its format (JSON, JSONL, CSV, Parquet)',
    resolution: 'Fix the file at the line/row named in the message',
  },
  E022: {
    name: 'UsageError',
    description: 'Wrong command-line usage',
    resolution: 'See `sluice <command> --help`',
  },
  E030: {
    name: 'IngestError',
    description: 'Persisting ingested API data failed',
    resolution: 'See the cause',
  },
  E031: {
    name: 'HttpError',
    description: 'An HTTP request returned an error status',
    resolution: 'See the status; 4xx are not retried',
  },
  E040: {
    name: 'DataWriteError',
    description: 'Writing an operation output failed',
    resolution: 'See the path and cause',
  },
  E041: {
    name: 'EncryptionError',
    description: 'Encryption or decryption failed (wrong key, truncated or tampered file)',
    resolution: 'Check the identity/passphrase and the file',
  },
  E050: {
    name: 'TimeSeriesError',
    description: 'A time-series store operation failed',
    resolution: 'See the cause',
  },
  E051: {
    name: 'InvalidPointError',
    description: 'A data point is invalid; nothing of its batch was stored',
    resolution: 'Fix the variable, timestamp, value or metadata named',
  },
  E060: {
    name: 'QueueError',
    description: 'A job queue operation failed',
    resolution: 'Check the queue URL and the backend (SQLite file or Redis)',
  },
  E061: {
    name: 'PollerError',
    description: 'Polling or archiving an object failed',
    resolution: 'See the key and cause; the object is left for the next poll',
  },
  E062: {
    name: 'JobPayloadError',
    description: 'A job payload is invalid; the job is dead-lettered at once',
    resolution: 'Fix the producer of the payload',
  },
  E070: {
    name: 'SyncError',
    description: 'Synchronising two storages failed',
    resolution: 'Rerun: a sync resumes without redoing finished files',
  },
  E071: {
    name: 'LockError',
    description: 'A lock could not be taken in time',
    resolution: 'Another process holds it; retry later',
  },
  E080: {
    name: 'LineageError',
    description: 'Files no longer match their lineage records (edited, truncated, swapped or missing)',
    resolution: 'Restore the files named from a backup or rerun the steps that wrote them',
  },
  E099: {
    name: 'InternalError',
    description: 'An unexpected failure',
    resolution: 'Report it with the message and cause',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface SluiceErrorOptions {
  context?: Record<string, unknown>;
  cause?: unknown;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(maskSecretsInString(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = ERROR_CODES[code].name;
    this.code = code;
    this.context = maskSensitiveData(options.context ?? {}, LOG_SENSITIVE_PARAMS) as Record<string, unknown>;
  }

  /** `E0xx: message`, the form the CLI prints. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, context: this.context };
  }
}

function defineError<const C extends ErrorCode>(code: C) {
  const name = ERROR_CODES[code].name;
  const cls = class extends SluiceError {
    constructor(message: string, options: SluiceErrorOptions = {}) {
      super(code, message, options);
    }
  };
  Object.defineProperty(cls, 'name', { value: name });
  return cls;
}

export const ConfigurationError = defineError('E001');
export const S3AccessError = defineError('E002');
export const SchemaValidationError = defineError('E003');
export const TransformationError = defineError('E004');
export const PromotionError = defineError('E005');
export const DuckDBError = defineError('E006');
export const NetworkError = defineError('E007');
export const TimeoutError = defineError('E008');
export const InvalidKeyError = defineError('E010');
export const NotFoundError = defineError('E011');
export const StorageError = defineError('E012');
export const AlreadyExistsError = defineError('E013');
export const InvalidUrlError = defineError('E014');
export const PreconditionFailedError = defineError('E015');
export const ValidationError = defineError('E020');
export const FormatError = defineError('E021');
export const UsageError = defineError('E022');
export const IngestError = defineError('E030');
export const HttpError = defineError('E031');
export const DataWriteError = defineError('E040');
export const EncryptionError = defineError('E041');
export const TimeSeriesError = defineError('E050');
export const InvalidPointError = defineError('E051');
export const QueueError = defineError('E060');
export const PollerError = defineError('E061');
export const JobPayloadError = defineError('E062');
export const SyncError = defineError('E070');
export const LockError = defineError('E071');
export const LineageError = defineError('E080');

// The OSAA seed's names for the same errors: its base class and two of its domain errors.
export const PipelineError = SluiceError;
export const IngestionError = IngestError;
export const S3Error = S3AccessError;

/** Errors worth retrying: network faults, timeouts, throttling and 5xx, as marked by drivers. */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SluiceError) {
    if (error.code === 'E007' || error.code === 'E008') return true;
    return error.context.retryable === true;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return (
    typeof code === 'string' &&
    ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'].includes(code)
  );
}

/** Wraps anything thrown into a SluiceError, keeping SluiceErrors as they are. */
export function toSluiceError(
  error: unknown,
  fallback: ErrorCode = 'E099',
  context?: Record<string, unknown>,
): SluiceError {
  if (error instanceof SluiceError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SluiceError(fallback, message, { cause: error, ...(context ? { context } : {}) });
}

/**
 * How a failure is handled: `transient` ones (the network, the server or a backend was briefly
 * unable: resets, refused connections, truncated bodies, timeouts, 5xx, throttling, a busy Redis or
 * SQLite) are retried and never turn an input into a failure; `permanent` ones (the content
 * itself, size limits, 4xx other than throttling, anything unrecognised) are not retried.
 */
export type FailureClass = 'transient' | 'permanent';

const TRANSIENT_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTUNREACH',
  'EBUSY',
  'EAGAIN',
  'EMFILE',
  'ENFILE',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
// AWS error names for throttling and server-side trouble (any service, any SDK version).
const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ServiceUnavailable',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'NetworkingError',
  'MaxRetriesPerRequestError',
]);
// Redis replies and ioredis states that pass, and SQLite's busy/locked.
const TRANSIENT_MESSAGE =
  /^(BUSY|LOADING|TRYAGAIN|CLUSTERDOWN|MASTERDOWN)\b|Connection is closed|socket hang up|database is locked|database table is locked|SQLITE_BUSY|SQLITE_LOCKED/;
// Codes whose cause is the input or the call, never the moment.
const PERMANENT_CODES = new Set([
  'E001',
  'E003',
  'E010',
  'E013',
  'E014',
  'E020',
  'E021',
  'E022',
  'E051',
  'E062',
]);

function classifyOne(error: unknown): FailureClass | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  if (error instanceof SluiceError) {
    if (error.context.retryable === true) return 'transient';
    if (error.context.retryable === false) return 'permanent';
    if (error.code === 'E007' || error.code === 'E008') return 'transient';
    if (PERMANENT_CODES.has(error.code)) return 'permanent';
  }
  const e = error as { code?: unknown; name?: unknown; message?: unknown; errcode?: unknown };
  if (typeof e.code === 'string' && TRANSIENT_CODES.has(e.code)) return 'transient';
  // A SluiceError's name is its class (E099's is InternalError): only foreign names are AWS codes.
  if (!(error instanceof SluiceError) && typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) {
    return 'transient';
  }
  // node:sqlite: SQLITE_BUSY (5) and SQLITE_LOCKED (6), extended codes included.
  if (typeof e.errcode === 'number' && ((e.errcode & 0xff) === 5 || (e.errcode & 0xff) === 6))
    return 'transient';
  if (typeof e.message === 'string' && TRANSIENT_MESSAGE.test(e.message)) return 'transient';
  const status =
    (error as { $metadata?: { httpStatusCode?: unknown } }).$metadata?.httpStatusCode ??
    (error instanceof SluiceError ? error.context.status : undefined);
  if (typeof status === 'number') {
    if (status === 429 || status >= 500) return 'transient';
    if (status >= 400) return 'permanent';
  }
  return undefined;
}

/** The failure class of `error`, from its code, name, HTTP status or message, then its causes. */
export function classifyFailure(error: unknown): FailureClass {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e !== undefined && e !== null; depth++) {
    const verdict = classifyOne(e);
    if (verdict) return verdict;
    e = (e as { cause?: unknown }).cause;
  }
  return 'permanent';
}

/** True when retrying later may succeed: see classifyFailure. */
export function isTransient(error: unknown): boolean {
  return classifyFailure(error) === 'transient';
}
