/** Validation of `sluice fetch` flags (zod), loaded only when `fetch` runs (commands/ingest.ts). */
import { z } from 'zod';
import { UsageError } from '../../errors.ts';

function fetchFlags<F extends string>(formats: readonly [F, ...F[]]) {
  return z.object({
    source: z.string(),
    dataset: z.string(),
    header: z.array(z.string()),
    format: z.enum(formats),
    // Typed and range-checked by their commander parsers (src/cli/flags.ts).
    timeout: z.number(),
    retries: z.number(),
    retryDelay: z.number(),
    base: z.string().optional(),
    json: z.boolean().optional(),
  });
}

/** The parsed flags of `sluice fetch`; every problem at once as a UsageError. */
export function parseFetchFlags<F extends string>(opts: unknown, formats: readonly [F, ...F[]]) {
  const parsed = fetchFlags(formats).safeParse(opts);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}
