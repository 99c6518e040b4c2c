/**
 * Where OpenLineage events go: appended to a JSONL file, or POSTed to a collector (Marquez and
 * others accept `POST <url>/api/v1/lineage`). A network fault, a 429 or a 5xx is transient and
 * retried with backoff; another 4xx is permanent (the collector refuses that event) and is logged
 * with the run and status. Either way the data step goes on: lineage export never fails a write,
 * and the lineage log beside the data keeps the record whatever the collector says.
 */
import { appendFile } from 'node:fs/promises';
import { NetworkError } from '../errors.ts';
import { getLogger } from '../logging/logger.ts';
import { maskSecretsInString } from '../secrets/mask.ts';
import { retry } from '../util/retry.ts';

export interface OpenLineageTarget {
  /** A collector's base URL (`http://marquez:5000`) or its full endpoint (`…/api/v1/lineage`). */
  url?: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** A JSONL file events are appended to. */
  file?: string;
  /** Per request, ms. @default 10000 */
  timeoutMs?: number;
  /** Attempts per event for transient failures. @default 5 */
  attempts?: number;
  /** First retry delay, ms, doubled each time. @default 500 */
  retryDelayMs?: number;
}

export interface OpenLineageEmitter {
  emit(event: object): Promise<void>;
}

class PermanentRefusal extends Error {}

export function openLineageEndpoint(url: string): string {
  return /\/api\/v1\/lineage\/?$/.test(url) ? url : `${url.replace(/\/+$/, '')}/api/v1/lineage`;
}

export function createOpenLineageEmitter(target: OpenLineageTarget): OpenLineageEmitter {
  const log = getLogger();
  const endpoint = target.url === undefined ? undefined : openLineageEndpoint(target.url);
  const timeoutMs = target.timeoutMs ?? 10_000;
  const post = async (body: string): Promise<void> => {
    let res: Response;
    try {
      res = await fetch(endpoint as string, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(target.apiKey ? { authorization: `Bearer ${target.apiKey}` } : {}),
        },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new NetworkError(`POST ${maskSecretsInString(endpoint as string)}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    await res.body?.cancel();
    if (res.ok) return;
    if (res.status === 429 || res.status >= 500) throw new NetworkError(`collector answered ${res.status}`);
    throw new PermanentRefusal(`collector refused the event with ${res.status}`);
  };
  return {
    async emit(event) {
      const line = JSON.stringify(event);
      const run = (event as { run?: { runId?: string } }).run?.runId;
      if (target.file !== undefined) await appendFile(target.file, `${line}\n`);
      if (endpoint === undefined) return;
      try {
        await retry(() => post(line), {
          maxAttempts: target.attempts ?? 5,
          delayMs: target.retryDelayMs ?? 500,
          shouldRetry: (e) => !(e instanceof PermanentRefusal),
        });
      } catch (error) {
        log.warn(
          { endpoint: maskSecretsInString(endpoint), run, err: (error as Error).message },
          'OpenLineage event not delivered; the lineage log beside the data keeps the record',
        );
      }
    },
  };
}
