/**
 * The lineage record format: what sluice writes beside the data for every file or object it
 * writes, one JSON object per line (docs/lineage.md). A write is two records with one id:
 * - `intent`, durable BEFORE the output is written: where the output goes, the operation and
 *   every input (with its hash or ETag). So no output exists without its record; a crash after
 *   the intent leaves a record of a file that never landed, which `verify` recognises as such.
 * - `commit`, after the output is written: its sha256, size and rows. Or `abort`, with the error.
 * A `delete` record says a sluice operation removed an output on purpose (prune, retention).
 */
import { z } from 'zod';
import { FormatError } from '../errors.ts';
import { maskSecretsInString } from '../secrets/mask.ts';
import { parseStrictJson } from '../util/json-strict.ts';

export const LINEAGE_FORMAT_VERSION = 1;

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lower-case hex digits');

/** Where an input came from; each kind carries what proves which version was read. */
export const lineageInputSchema = z.discriminatedUnion('kind', [
  /** A file or object sluice read whole: its URL and the sha256 of the bytes read. */
  z.object({
    kind: z.literal('file'),
    url: z.string().min(1),
    sha256,
    size: z.number().int().nonnegative().optional(),
  }),
  /** An object known by its ETag (what a listing gives without reading it again). */
  z.object({
    kind: z.literal('object'),
    url: z.string().min(1),
    etag: z.string().min(1),
    size: z.number().int().nonnegative().optional(),
  }),
  /** An HTTP request (URL masked) and the sha256 of the response body. */
  z.object({
    kind: z.literal('http'),
    url: z.string().min(1),
    method: z.string().min(1),
    status: z.number().int(),
    responseSha256: sha256,
  }),
  /** A SQL model (or any code) and the sha256 of its text. */
  z.object({ kind: z.literal('model'), name: z.string().min(1), url: z.string().min(1).optional(), sha256 }),
  /** A parent version (promotion): the version's URL and the sha256 of its manifest. */
  z.object({ kind: z.literal('version'), url: z.string().min(1), sha256 }),
]);
export type LineageInput = z.infer<typeof lineageInputSchema>;

const base = {
  v: z.literal(LINEAGE_FORMAT_VERSION),
  id: z.string().regex(/^[0-9A-Za-z_-]{8,64}$/),
  at: z.iso.datetime(),
};

export const lineageRecordSchema = z.discriminatedUnion('kind', [
  z.object({
    ...base,
    kind: z.literal('intent'),
    /** The output's URL (storage URL joined with its key). */
    output: z.string().min(1),
    /** What wrote it: `pipeline.ingest`, `writer.write`, `timeseries.compact`, … */
    operation: z.string().min(1),
    inputs: z.array(lineageInputSchema),
    /** A run (pipeline run id, worker batch) that several writes belong to. */
    run: z.string().min(1).optional(),
    sluice: z.string().min(1),
    host: z.string().min(1),
    pid: z.number().int().positive(),
  }),
  z.object({
    ...base,
    kind: z.literal('commit'),
    sha256,
    size: z.number().int().nonnegative(),
    rows: z.number().int().nonnegative().optional(),
  }),
  z.object({ ...base, kind: z.literal('abort'), error: z.string() }),
  z.object({ ...base, kind: z.literal('delete'), output: z.string().min(1), operation: z.string().min(1) }),
]);
export type LineageRecord = z.infer<typeof lineageRecordSchema>;
export type IntentRecord = Extract<LineageRecord, { kind: 'intent' }>;
export type CommitRecord = Extract<LineageRecord, { kind: 'commit' }>;

/** URLs in records never carry a secret (a token in a query string, userinfo). */
export function maskedInput(input: LineageInput): LineageInput {
  return input.url === undefined ? input : { ...input, url: maskSecretsInString(input.url) };
}

/** One line of a lineage log, read strictly: a broken line is E021 naming the log object and line. */
export function parseLineageLine(text: string, source: string, line: number): LineageRecord {
  const value = parseStrictJson(text, { label: 'JSONL', source, line }, { bigIntegers: 'refuse' });
  const parsed = lineageRecordSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new FormatError(
    `${source} line ${line}: not a lineage record (${issue?.path.join('.') || 'record'}: ${issue?.message ?? 'invalid'})`,
    { context: { file: source, line } },
  );
}
