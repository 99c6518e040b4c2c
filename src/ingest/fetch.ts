/**
 * `fetchAndSave`: one HTTP GET, persisted the ingestion way — the raw response (status, masked
 * headers, body) and the masked request metadata. 5xx answers, timeouts and network failures are
 * retried with exponential backoff; a 4xx is saved and reported, never retried.
 */

import { HttpError, NetworkError, SluiceError, TimeoutError, ValidationError } from '../errors.ts';
import { csvReader } from '../formats/csv.ts';
import type { IntentLog } from '../lineage/group-log.ts';
import { getLogger } from '../logging/logger.ts';
import { maskSecretsInString } from '../secrets/mask.ts';
import { parseStrictJson } from '../util/json-strict.ts';
import { retry } from '../util/retry.ts';
import { type IngestLocation, type SavedFile, withStorage } from './base.ts';
import { safeId } from './ids.ts';
import { httpInput, IngestLineage } from './lineage.ts';
import { type IngestFormat, saveApiResponse, saveRequestMetadata } from './persistence.ts';

export interface FetchAndSaveOptions extends IngestLocation {
  sourceName: string;
  datasetId: string;
  /** Request headers. */
  headers?: Record<string, string>;
  /** How the response body is saved. @default 'json' */
  fileFormat?: IngestFormat;
  /** Per attempt, in ms. @default 30000 */
  timeoutMs?: number;
  /** Retries after the first attempt (5xx, timeouts, network errors). @default 3 */
  retries?: number;
  /** Delay before the first retry, doubled each time. @default 1000 */
  retryDelayMs?: number;
  signal?: AbortSignal;
  /**
   * Lineage records for the response and metadata files (docs/lineage.md): the response's names
   * the HTTP call (URL masked, status, sha256 of the body as received), the metadata's the
   * response file. `false` records none; a LineageLog shares a caller's (the caller flushes it).
   * @default the config's `lineage` (SLUICE_LINEAGE=0 turns it off)
   */
  lineage?: boolean | IntentLog;
}

export interface FetchAndSaveResult {
  status: number;
  ok: boolean;
  attempts: number;
  response: SavedFile;
  metadata: SavedFile;
}

interface Answer {
  status: number;
  headers: Headers;
  body: Buffer;
}

class RetryableStatus extends Error {
  readonly answer: Answer;
  constructor(answer: Answer) {
    super(`HTTP ${answer.status}`);
    this.answer = answer;
  }
}

async function attemptOnce(url: string, options: FetchAndSaveOptions, timeoutMs: number): Promise<Answer> {
  const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
  let response: Response;
  try {
    response = await fetch(url, {
      headers: options.headers ?? {},
      signal: AbortSignal.any(signals),
      redirect: 'follow',
    });
    const body = Buffer.from(await response.arrayBuffer());
    const answer = { status: response.status, headers: response.headers, body };
    if (response.status >= 500) throw new RetryableStatus(answer);
    return answer;
  } catch (error) {
    if (error instanceof RetryableStatus) throw error;
    if (options.signal?.aborted) throw error;
    const name = (error as Error).name;
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new TimeoutError(`GET ${url} timed out after ${timeoutMs} ms`, {
        cause: error,
        context: { url },
      });
    }
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new NetworkError(
      `GET ${url} failed: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      {
        cause: error,
        context: { url },
      },
    );
  }
}

/**
 * The body as it is saved: JSON kept exactly (integers beyond 2^53 as BigInt, written back with
 * every digit, never rounded), CSV as rows, anything else as text. A body that says it is JSON
 * but is not is saved as its text — no byte is lost — and the warning names the URL and where
 * the JSON breaks, so a bad answer is not mistaken for a good one later.
 */
async function parseBody(answer: Answer, format: IngestFormat, url: string): Promise<unknown> {
  const type = answer.headers.get('content-type') ?? '';
  const text = answer.body.toString('utf8');
  const saysJson = /json/i.test(type);
  if (saysJson || /^\s*[[{]/.test(text)) {
    try {
      return parseStrictJson(text, { label: 'JSON', source: maskSecretsInString(url), line: 1 });
    } catch (error) {
      if (saysJson)
        getLogger().warn(
          { url: maskSecretsInString(url), status: answer.status, problem: (error as Error).message },
          'response says it is JSON but is not; saved as text',
        );
    }
  }
  if (format !== 'json' && /csv/i.test(type)) {
    const rows: Record<string, unknown>[] = [];
    for await (const row of csvReader.decode([text])) rows.push(row);
    return rows;
  }
  return text;
}

/**
 * The Authorization header for a URL's userinfo, and the URL without it; undefined when the URL
 * has none. An Authorization header given by the caller wins, as in curl.
 */
function basicAuthFrom(
  parsed: URL,
  headers: Record<string, string> | undefined,
): { url: string; headers: Record<string, string> } | undefined {
  if (parsed.username === '' && parsed.password === '') return undefined;
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  const bare = new URL(parsed.href);
  bare.username = '';
  bare.password = '';
  const given = Object.keys(headers ?? {}).some((k) => k.toLowerCase() === 'authorization');
  const basic = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  return { url: bare.href, headers: given ? { ...headers } : { ...headers, Authorization: basic } };
}

/** Fetches `url` and saves the response and masked request metadata. Throws HttpError (E031) after saving a 4xx/5xx. */
export async function fetchAndSave(url: string, options: FetchAndSaveOptions): Promise<FetchAndSaveResult> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(`Invalid URL ${JSON.stringify(maskSecretsInString(url))}`, {
      context: { url },
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValidationError(`Only http(s) URLs can be fetched, got ${parsed.protocol}`, {
      context: { url },
    });
  }
  safeId(options.sourceName, 'source name');
  safeId(options.datasetId, 'dataset id');
  // `https://user:pass@host/…` is sent as curl sends it: Basic auth, the URL without userinfo
  // (fetch refuses URLs that carry credentials). What is stored and logged is masked.
  const credentials = basicAuthFrom(parsed, options.headers);
  if (credentials) {
    url = credentials.url;
    options = { ...options, headers: credentials.headers };
  }
  const timeoutMs = options.timeoutMs ?? 30_000;
  const retries = options.retries ?? 3;
  const format = options.fileFormat ?? 'json';
  const log = getLogger();
  const started = Date.now();
  let attempts = 0;
  let answer: Answer;
  try {
    answer = await retry(
      async (attempt) => {
        attempts = attempt;
        return attemptOnce(url, options, timeoutMs);
      },
      {
        maxAttempts: retries + 1,
        delayMs: options.retryDelayMs ?? 1000,
        shouldRetry: (e) =>
          e instanceof RetryableStatus || e instanceof TimeoutError || e instanceof NetworkError,
        onRetry: (e, attempt, delayMs) =>
          log.warn(
            { url, attempt, delayMs: Math.round(delayMs), error: (e as Error).message },
            'fetch failed; retrying',
          ),
        ...(options.signal ? { signal: options.signal } : {}),
      },
    );
  } catch (error) {
    if (!(error instanceof RetryableStatus)) {
      throw error instanceof SluiceError
        ? error
        : new NetworkError(`GET ${url}: ${(error as Error).message}`, { cause: error });
    }
    answer = error.answer; // retries exhausted on a 5xx: save the last answer, then report it
  }
  const data = await parseBody(answer, format, url);
  // One log for the call: the response's intent, then the metadata's (carrying the response's
  // commit), then one flush — three small log objects for the two files.
  const { response, metadata } = await withStorage(options, async (storage) => {
    const lineage = IngestLineage.open(storage, options.lineage, { defer: options.storage !== undefined });
    const where = {
      ...options,
      storage,
      lineage: lineage.shared,
      sourceName: options.sourceName,
      fileFormat: format,
    };
    try {
      const response = await saveApiResponse(options.datasetId, data, {
        ...where,
        statusCode: answer.status,
        headers: answer.headers,
        url,
        inputs: [httpInput(url, 'GET', answer.status, answer.body)],
      });
      const query: Record<string, string> = {};
      for (const [k, v] of parsed.searchParams) query[k] = v;
      const metadata = await saveRequestMetadata(
        options.datasetId,
        { url, method: 'GET', headers: options.headers ?? {}, query },
        {
          ...where,
          derivedFrom: [response],
          additionalMetadata: {
            status_code: answer.status,
            attempts,
            duration_ms: Date.now() - started,
            response_file: response.key,
          },
        },
      );
      await lineage.end();
      return { response, metadata };
    } catch (error) {
      await lineage.endQuietly();
      throw error;
    }
  });
  const ok = answer.status < 400;
  log.info({ url, status: answer.status, attempts, response: response.key }, 'fetched');
  const result = { status: answer.status, ok, attempts, response, metadata };
  if (!ok) {
    throw Object.assign(
      new HttpError(
        `GET ${url} returned HTTP ${answer.status}${answer.status >= 500 ? ` after ${attempts} attempts` : ' (not retried)'}; response saved to ${response.path ?? response.url}`,
        { context: { url, status: answer.status, attempts, retryable: answer.status >= 500 } },
      ),
      { result },
    );
  }
  return result;
}
