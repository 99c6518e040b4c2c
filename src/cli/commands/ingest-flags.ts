/** Validation of `sluice fetch` flags (zod), loaded only when `fetch` runs. */
import { z } from 'zod';
import { UsageError } from '../../errors.ts';
import { parseDuration } from '../../util/format-bytes.ts';

const duration = (name: string) =>
  z.string().transform((text, ctx) => {
    try {
      const ms = parseDuration(text);
      if (ms <= 0) throw new RangeError('must be positive');
      return ms;
    } catch (error) {
      ctx.addIssue({
        code: 'custom',
        message: `--${name} ${JSON.stringify(text)}: ${(error as Error).message}`,
      });
      return z.NEVER;
    }
  });

function fetchFlags<F extends string>(formats: readonly [F, ...F[]]) {
  return z.object({
    source: z.string(),
    dataset: z.string(),
    header: z.array(z.string()),
    format: z.enum(formats),
    timeout: duration('timeout'),
    retries: z
      .string()
      .regex(/^\d+$/, '--retries must be a whole number ≥ 0')
      .transform(Number)
      .pipe(z.number().max(20, '--retries must be at most 20')),
    retryDelay: duration('retry-delay'),
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
