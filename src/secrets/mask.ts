/**
 * Masking rules shared by ingestion metadata, logs, error contexts and printed config. Which
 * names are sensitive is decided in names.ts (by meaning); which values, in shapes.ts.
 *
 * Improves on the seed's `mask_sensitive_data`, which matched exact top-level names only:
 * - names match case-insensitively and by word, so `API_KEY`, `apiKey`, `X-Api-Key`,
 *   `client_secret_v2` and `aws_secret_access_key` are all caught;
 * - objects and arrays are walked to any depth (cycles are cut);
 * - HTTP header names (`Authorization`, `Cookie`, `Set-Cookie`, …) are sensitive;
 * - inside any string, URL query parameters with a sensitive name, URL passwords
 *   (`https://user:pw@host`) and secrets of a known shape (JWTs, `Bearer …`, AWS keys, PEM and
 *   age private keys) are masked.
 * A masked value becomes a fixed-width run of the mask character, so its length leaks nothing.
 */
import { LOG_SENSITIVE_PARAMS, SensitiveNameMatcher } from './names.ts';
import { maskSecretShapes, mayHoldSecretShapes } from './shapes.ts';

export {
  ALWAYS_SENSITIVE,
  addSensitiveNames,
  DEFAULT_SENSITIVE_PARAMS,
  LOG_SENSITIVE_PARAMS,
  SensitiveNameMatcher,
} from './names.ts';

export const DEFAULT_MASK_CHAR = '*';
const MASK_WIDTH = 8;

export interface MaskOptions {
  /** Names to treat as sensitive beside the built-in vocabulary. @default DEFAULT_SENSITIVE_PARAMS */
  sensitiveParams?: Iterable<string>;
  /** @default '*' */
  maskChar?: string;
}

const defaultMatcher = new SensitiveNameMatcher();

/**
 * Matchers by the content of their name list. Building one splits every listed name into words,
 * which cost more than the masking it serves when done on every call (a time-series batch masks
 * each point's metadata: 4.6 s of 1M points went to building matchers).
 */
const matchers = new Map<string, SensitiveNameMatcher>();

function matcherFor(names: Iterable<string> | undefined): SensitiveNameMatcher {
  if (!names) return defaultMatcher;
  const list = [...names];
  const key = list.join('\n');
  let m = matchers.get(key);
  if (!m) {
    if (matchers.size >= 64) matchers.clear();
    m = new SensitiveNameMatcher(list);
    matchers.set(key, m);
  }
  return m;
}

export function isSensitiveName(name: string, sensitiveParams?: Iterable<string>): boolean {
  return matcherFor(sensitiveParams).isSensitive(name);
}
/**
 * An Error as `errors` asks: a plain object (stored data, JSON) or an Error copy (logs), with
 * message, stack, own properties (code, context…) and the cause chain masked.
 */
function maskErrorWith(
  error: Error,
  errors: 'plain' | 'error',
  walk: (v: unknown) => unknown,
  matcher: SensitiveNameMatcher,
  mask: string,
  options: MaskOptions,
): unknown {
  const message = maskSecretsInString(error.message, options);
  const fields: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(error)) {
    if (k === 'message' || k === 'stack' || k === 'cause') continue;
    fields[k] = matcher.isSensitive(k) && v !== null && v !== undefined && v !== '' ? mask : walk(v);
  }
  const cause = error.cause === undefined ? undefined : walk(error.cause);
  // Stored data keeps what explains the failure; a stack is for logs.
  if (errors === 'plain')
    return { name: error.name, message, ...fields, ...(cause === undefined ? {} : { cause }) };
  const copy = new Error(message, cause === undefined ? undefined : { cause });
  Object.defineProperty(copy, 'name', {
    value: error.name,
    enumerable: false,
    writable: true,
    configurable: true,
  });
  copy.stack = error.stack === undefined ? '' : maskSecretsInString(error.stack, options);
  Object.assign(copy, fields);
  return copy;
}

function maskValue(maskChar: string): string {
  return maskChar.repeat(MASK_WIDTH);
}

// `?a=1&api_key=xyz#access_token=…` style parameters anywhere in a string (query or fragment).
// A value stops at `?`, so a URL nested in a value has its own parameters checked too.
const QUERY_PARAM = /([?&;#])([^=&#\s?;]+)=([^&#\s;?]*)/g;
// `password=x` / `token="x y"` in free text (libpq DSNs, `key=value` log lines, error messages):
// a name at the start or after a space or bracket. Bare `key` is left alone here: in free text it
// is nearly always a storage key (`key=dev/a.csv`), and a secret called just `key` is masked where
// it has structure (a query string, a JSON field).
const FREE_PARAM = /(^|[\s,({["'])([A-Za-z_][\w.-]*)=("[^"]*"|'[^']*'|[^\s,;&)\]}"']+)/g;
// `"token": "x"` in JSON text that is not parsed (a payload that failed to parse, a parser's
// message quoting it, a body in a log line): the value a string (cut short at the end of a torn
// text too) or a bare word. Bare `key` is left alone as in free text: sluice's own messages quote
// storage keys that way (`{"key":"dev/a.csv"}`); a parsed object's `key` is still masked.
const JSON_FIELD = /("([A-Za-z_][\w.-]*)"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^\s,}\]"]+)/g;

// `scheme://user:password@host` or `scheme://token@host`: userinfo runs to the last `@` of the
// URL's authority, so passwords holding `/` or `@` are masked whole.
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s?#]*)@(?=[^\s@/?#]*(?:[/?#\s]|$))/gi;

function maskUserinfo(userinfo: string, mask: string): string {
  const colon = userinfo.indexOf(':');
  if (colon >= 0) return `${userinfo.slice(0, colon)}:${mask}`;
  // A lone user name: `git@…` is a user, anything else may be a token used as one.
  return userinfo === '' || userinfo === 'git' ? userinfo : mask;
}

/**
 * False only when `maskSecretsInString` returns `text` unchanged whatever the sensitive names:
 * no `=` (query parameters), no `@` (URL userinfo) and no secret shape's hint. Callers that skip
 * masking for such strings stay exact as long as they use this very test.
 */
export function mayHoldSecrets(text: string): boolean {
  return (
    text.includes('=') ||
    text.includes('@') ||
    text.includes('":') ||
    text.includes('" :') ||
    mayHoldSecretShapes(text)
  );
}

/**
 * Masks, inside any string: query parameters with a sensitive name, URL userinfo passwords and
 * tokens, and secrets recognised by their shape (shapes.ts).
 */
export function maskSecretsInString(text: string, options: MaskOptions = {}): string {
  if (!mayHoldSecrets(text)) return text;
  const matcher = matcherFor(options.sensitiveParams);
  const mask = maskValue(options.maskChar ?? DEFAULT_MASK_CHAR);
  const masked = text
    .replace(QUERY_PARAM, (all, sep: string, name: string, value: string) => {
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name: a malformed escape cannot hide a sensitive word from `words()`
      }
      return value.length > 0 && matcher.isSensitive(decoded) ? `${sep}${name}=${mask}` : all;
    })
    .replace(FREE_PARAM, (all, lead: string, name: string, _value: string) =>
      name.toLowerCase() !== 'key' && matcher.isSensitive(name) ? `${lead}${name}=${mask}` : all,
    )
    .replace(JSON_FIELD, (all, head: string, name: string, value: string) =>
      name.toLowerCase() !== 'key' && matcher.isSensitive(name)
        ? `${head}${value.startsWith('"') ? `"${mask}"` : mask}`
        : all,
    )
    .replace(
      URL_USERINFO,
      (_all, scheme: string, userinfo: string) => `${scheme}${maskUserinfo(userinfo, mask)}@`,
    );
  return maskSecretShapes(masked, mask);
}

function isHeadersLike(value: object): value is { forEach(cb: (v: string, k: string) => void): void } {
  return typeof Headers !== 'undefined' && value instanceof Headers;
}

/**
 * Returns a deep copy of `params` with sensitive values masked. Never mutates its input.
 * Strings anywhere are scanned for URL secrets; Headers and Map become plain objects.
 */
export function maskSensitiveData(
  params: unknown,
  sensitiveParams?: Iterable<string>,
  maskChar: string = DEFAULT_MASK_CHAR,
): unknown {
  return maskDeep(params, sensitiveParams, maskChar, 'plain');
}

/**
 * For log lines: like maskSensitiveData with the log names (`key` is a storage key), but an
 * Error stays an Error (a masked copy, with its stack, code, context and causes), so the log's
 * error serializer still shows its type and chain.
 */
export function maskLogValue(value: unknown): unknown {
  return maskDeep(value, LOG_SENSITIVE_PARAMS, DEFAULT_MASK_CHAR, 'error');
}

/** A copy of `error` with message, stack, properties and causes masked (for logs and reports). */
export function maskError(error: Error): Error {
  return maskDeep(error, LOG_SENSITIVE_PARAMS, DEFAULT_MASK_CHAR, 'error') as Error;
}

function maskDeep(
  params: unknown,
  sensitiveParams: Iterable<string> | undefined,
  maskChar: string,
  errors: 'plain' | 'error',
): unknown {
  const matcher = matcherFor(sensitiveParams);
  const options: MaskOptions = {
    maskChar,
    ...(sensitiveParams ? { sensitiveParams: [...sensitiveParams] } : {}),
  };
  const mask = maskValue(maskChar);
  const seen = new WeakSet<object>();

  // Header lists as `[name, value]` tuples or Node's flat `rawHeaders` (name, value, name, …):
  // a string that is a sensitive name masks the string right after it.
  const maskArray = (items: unknown[]): unknown[] => {
    const out = items.map(walk);
    for (let i = 0; i + 1 < items.length; i++) {
      const name = items[i];
      const next = items[i + 1];
      if (
        typeof name === 'string' &&
        typeof next === 'string' &&
        next !== '' &&
        name.length <= 64 &&
        matcher.isSensitive(name)
      ) {
        out[i + 1] = mask;
        i++;
      }
    }
    return out;
  };
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return maskSecretsInString(value, options);
    if (value === null || typeof value !== 'object') return value;
    if (seen.has(value)) return '[Circular]';
    seen.add(value);
    if (value instanceof Date) return value;
    if (value instanceof Error) return maskErrorWith(value, errors, walk, matcher, mask, options);
    if (value instanceof Uint8Array) return value;
    if (Array.isArray(value)) return maskArray(value);
    const entries: [string, unknown][] = [];
    if (isHeadersLike(value))
      value.forEach((v, k) => {
        entries.push([k, v]);
      });
    else if (value instanceof Map) for (const [k, v] of value) entries.push([String(k), v]);
    else entries.push(...Object.entries(value));
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const masked = matcher.isSensitive(k) && v !== null && v !== undefined && v !== '' ? mask : walk(v);
      // An own `__proto__` key (JSON.parse makes those) stays a key: assigning it would set the
      // copy's prototype and drop the data from the output.
      if (k === '__proto__') {
        Object.defineProperty(out, k, {
          value: masked,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else out[k] = masked;
    }
    return out;
  };
  return walk(params);
}
