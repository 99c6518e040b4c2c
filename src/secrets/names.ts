/**
 * Which names hold secrets: by meaning, not by a list. A name is split into words (on `-`, `_`,
 * `.`, spaces and camelCase) and is sensitive when any word is in SECRET_WORDS, so
 * `X-Vault-Token`, `Private-Token`, `gitlab_token` and `SLACK_WEBHOOK_SECRET` are caught without
 * being listed. Two words need their neighbour:
 * - `key` is sensitive after a qualifier (`api-key`, `access_key`, `privateKey`, `x-api-key`),
 *   not alone or as `sort_key`/`keys`: in logs and errors `key` is a storage key. (Ingestion
 *   metadata also masks a parameter named just `key`, as the seed did: DEFAULT_SENSITIVE_PARAMS.)
 * - `token` after a paging word (`next_page_token`, `continuation_token`, `cursor_token`) is a
 *   position in a listing, not a credential, and stays readable.
 * Users add names (config `sensitiveNames`, env `SLUICE_SENSITIVE_NAMES`); built-in words can
 * never be removed.
 */

/** A word anywhere in a name makes it sensitive. */
export const SECRET_WORDS: ReadonlySet<string> = new Set([
  'token',
  'tokens',
  'secret',
  'secrets',
  'password',
  'passwords',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'auth',
  'authorization',
  'cookie',
  'cookies',
  'session',
  'sessionid',
  'signature',
  'sig',
  'credential',
  'credentials',
  'bearer',
  'jwt',
  'otp',
  'csrf',
  'xsrf',
  // Compounds written as one word.
  'apikey',
  'accesskey',
  'privatekey',
  'secretkey',
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'authtoken',
  'apitoken',
  'sessiontoken',
  'clientsecret',
]);

/** Words that make a following `key` a credential: `api_key`, `access-key`, `privateKey`. */
export const KEY_QUALIFIERS: ReadonlySet<string> = new Set([
  'api',
  'access',
  'private',
  'secret',
  'signing',
  'encryption',
  'client',
  'master',
  'app',
  'application',
  'license',
  'licence',
  'subscription',
  'session',
  'ssh',
  'account',
  'consumer',
  'developer',
  'service',
  'shared',
  'webhook',
  'hmac',
  'identity',
  'age',
]);

/** Words that make a following `token` a listing position, not a credential. */
const PAGING_WORDS: ReadonlySet<string> = new Set(['page', 'continuation', 'cursor', 'pagination']);

/** The seed's default sensitive parameter names (as whole names or runs of words). */
export const DEFAULT_SENSITIVE_PARAMS: readonly string[] = [
  'api_key',
  'key',
  'secret',
  'token',
  'password',
  'auth',
  'apikey',
  'access_token',
  'client_secret',
  'app_secret',
  'private_key',
];

/** Header and credential names that are always sensitive, whatever list the caller passes. */
export const ALWAYS_SENSITIVE: readonly string[] = [
  'authorization',
  'proxy_authorization',
  'cookie',
  'set_cookie',
  'x_api_key',
  'secret_access_key',
  'age_identity',
  'amz_signature',
  'amz_credential',
  'client_assertion',
];

/**
 * For logs and error contexts, where `key` means a storage key: the defaults less `key`.
 * (`api_key`, `private_key` and every other qualified key still mask.)
 */
export const LOG_SENSITIVE_PARAMS: readonly string[] = DEFAULT_SENSITIVE_PARAMS.filter((n) => n !== 'key');

/** `apiKey`, `API-KEY`, `api.key` → `['api', 'key']`. */
export function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0);
}

/** True when the words carry a secret by meaning (SECRET_WORDS, a qualified `key`). */
function meansSecret(words: readonly string[]): boolean {
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as string;
    const before = i > 0 ? (words[i - 1] as string) : '';
    if (word === 'key' && KEY_QUALIFIERS.has(before)) return true;
    if (!SECRET_WORDS.has(word)) continue;
    if ((word === 'token' || word === 'tokens') && PAGING_WORDS.has(before)) continue;
    return true;
  }
  return false;
}

function containsRun(haystack: readonly string[], needle: readonly string[]): boolean {
  if (needle.length === 0 || needle.length > haystack.length) return false;
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) continue outer;
    }
    return true;
  }
  return false;
}

/** Names users added (config `sensitiveNames`, env `SLUICE_SENSITIVE_NAMES`): never removed. */
const userNames: string[][] = [];
let userVersion = 0;

/**
 * Adds names every later check treats as sensitive, in this process (as whole names or runs of
 * words: `customer_ref` also masks `x-customer-ref`). There is no way to remove one.
 */
export function addSensitiveNames(names: Iterable<string>): void {
  for (const name of names) {
    const words = nameWords(name);
    if (words.length > 0 && !userNames.some((w) => w.join('_') === words.join('_'))) {
      userNames.push(words);
      userVersion++;
    }
  }
}

export class SensitiveNameMatcher {
  private readonly listed: string[][];
  private readonly joined: Set<string>;
  private readonly cache = new Map<string, boolean>();
  private cacheVersion = userVersion;

  /**
   * @param sensitiveParams names that mask as a whole name or as a run of words, beside the
   *   built-in vocabulary (which they cannot remove). @default DEFAULT_SENSITIVE_PARAMS
   */
  constructor(sensitiveParams: Iterable<string> = DEFAULT_SENSITIVE_PARAMS) {
    const all = [...sensitiveParams, ...ALWAYS_SENSITIVE].map(nameWords).filter((w) => w.length > 0);
    this.joined = new Set(all.map((w) => w.join('')));
    // One-word names (`key`, `token`) mask only as the whole name; the vocabulary covers words.
    this.listed = all.filter((w) => w.length > 1);
  }

  /** True when the name holds a secret by meaning, by the caller's list or by the user's names. */
  isSensitive(name: string): boolean {
    if (this.cacheVersion !== userVersion) {
      this.cache.clear();
      this.cacheVersion = userVersion;
    }
    const hit = this.cache.get(name);
    if (hit !== undefined) return hit;
    const words = nameWords(name);
    const result =
      meansSecret(words) ||
      this.joined.has(words.join('')) ||
      this.listed.some((p) => containsRun(words, p)) ||
      userNames.some((p) => containsRun(words, p));
    if (this.cache.size < 10_000) this.cache.set(name, result);
    return result;
  }
}
