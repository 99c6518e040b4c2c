/** Claimed rows of the SQLite queue turned into jobs, refusing rows whose stored JSON is bad. */
import { JobPayloadError } from '../../../errors.ts';
import { maskSecretsInString } from '../../../secrets/mask.ts';
import { parseJson } from '../../../util/json-parse.ts';
import type { Job, JobSource } from '../../types.ts';

/** A job's row as the claim returns it. */
export interface Row {
  id: string;
  name: string;
  data: string;
  attempts: number;
  source: string | null;
}

/** The job a claimed row holds, or the error naming it when its stored JSON does not parse. */
export function jobOf(row: Row): Job | InstanceType<typeof JobPayloadError> {
  try {
    const job: Job = { id: row.id, name: row.name, data: parseJson(row.data), attempt: row.attempts };
    if (row.source) job.source = parseJson(row.source) as JobSource;
    return job;
  } catch (error) {
    // The parser's message quotes the text, which may hold a token: masked like any stored error.
    return new JobPayloadError(
      maskSecretsInString(
        `job ${row.id}: its stored ${row.source && !isJson(row.source) ? 'source' : 'data'} is not valid JSON (${(error as Error).message})`,
      ),
      { context: { jobId: row.id } },
    );
  }
}

function isJson(text: string): boolean {
  try {
    parseJson(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A dead job's data for `queue dead`: the parsed JSON, or, for a row that does not parse (a job
 * dead-lettered for that), its stored text as it is, masked, so listing never fails on it.
 */
export function deadJobData(text: string): unknown {
  return isJson(text) ? parseJson(text) : maskSecretsInString(text);
}
