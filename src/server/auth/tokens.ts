/**
 * API tokens and their scopes. Tokens come from the config (`serve.tokens`) and from
 * `SLUICE_API_TOKENS=scope:token,…`; only their SHA-256 digests are kept, and a presented token
 * is compared with every one of them by `timingSafeEqual` on equal-length digests, so neither the
 * answer's timing nor its path says how much of a guess was right. Tokens are named in logs and
 * messages by scope and position (`write#1`), never by value.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigurationError } from '../../errors.ts';

export const SCOPES = ['read', 'write', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** Shortest token accepted: anything shorter can be guessed. */
export const MIN_TOKEN_LENGTH = 16;

interface TokenEntry {
  label: string;
  scope: Scope;
  digest: Buffer;
}

/** What a verified token may do: `admin` may do everything, `write` and `read` only what they say. */
export interface Grant {
  label: string;
  scopes: ReadonlySet<Scope>;
}

const digestOf = (token: string) => createHash('sha256').update(token, 'utf8').digest();

/**
 * Parses `scope:token` entries (a comma-separated string, or a list of them). `where` names the
 * source in errors (`SLUICE_API_TOKENS`, `serve.tokens`); a token's value is never shown.
 */
export function parseTokenSpecs(
  spec: string | readonly string[],
  where: string,
): { scope: Scope; token: string }[] {
  const items = typeof spec === 'string' ? spec.split(',') : spec.flatMap((s) => s.split(','));
  const out: { scope: Scope; token: string }[] = [];
  items.forEach((raw, i) => {
    const item = raw.trim();
    if (item === '') return;
    const colon = item.indexOf(':');
    const scope = colon < 0 ? '' : item.slice(0, colon).trim();
    const token = colon < 0 ? '' : item.slice(colon + 1).trim();
    const entry = `entry ${i + 1} of ${where}`;
    if (!(SCOPES as readonly string[]).includes(scope))
      throw new ConfigurationError(
        `${entry} must be scope:token with scope ${SCOPES.join(', ')}${colon < 0 ? '' : `, got scope ${JSON.stringify(scope.slice(0, 20))}`}`,
        { context: { source: where, entry: i + 1 } },
      );
    if (token.length < MIN_TOKEN_LENGTH || /[\s,]/.test(token))
      throw new ConfigurationError(
        `${entry} (${scope}) has a token shorter than ${MIN_TOKEN_LENGTH} characters or holding spaces or commas; use a long random one (openssl rand -hex 24)`,
        { context: { source: where, entry: i + 1 } },
      );
    out.push({ scope: scope as Scope, token });
  });
  return out;
}

export class TokenSet {
  private readonly entries: TokenEntry[];

  constructor(tokens: readonly { scope: Scope; token: string }[]) {
    const counts = new Map<Scope, number>();
    this.entries = tokens.map(({ scope, token }) => {
      const n = (counts.get(scope) ?? 0) + 1;
      counts.set(scope, n);
      return { label: `${scope}#${n}`, scope, digest: digestOf(token) };
    });
  }

  /** Tokens of the config list and the environment variable, together. */
  static from(options: { config?: string | readonly string[]; env?: string }): TokenSet {
    return new TokenSet([
      ...(options.config === undefined ? [] : parseTokenSpecs(options.config, 'serve.tokens')),
      ...(options.env ? parseTokenSpecs(options.env, 'SLUICE_API_TOKENS') : []),
    ]);
  }

  get size(): number {
    return this.entries.length;
  }

  /** How many tokens carry each scope (for the start-up line; no values). */
  countByScope(): Record<Scope, number> {
    const out = { read: 0, write: 0, admin: 0 };
    for (const e of this.entries) out[e.scope]++;
    return out;
  }

  /** The grant of `token`, or undefined when it is none of ours. Every entry is compared. */
  verify(token: string): Grant | undefined {
    const digest = digestOf(token);
    let match: TokenEntry | undefined;
    const scopes = new Set<Scope>();
    for (const entry of this.entries) {
      if (timingSafeEqual(digest, entry.digest)) {
        match ??= entry;
        scopes.add(entry.scope);
      }
    }
    return match ? { label: match.label, scopes } : undefined;
  }
}

/** Whether a grant covers `scope`: admin covers every scope. */
export function allows(grant: Grant, scope: Scope): boolean {
  return grant.scopes.has('admin') || grant.scopes.has(scope);
}
