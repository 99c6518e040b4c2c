/** What the server's Hono app keeps per request. */
import type { Grant } from './auth/tokens.ts';
import type { ErrorStyle } from './http/problem.ts';

export interface ServerEnv {
  Variables: {
    /** The token that authorised the request (set by requireScope). */
    grant: Grant;
    /** How error bodies are shaped on this route. @default 'json' */
    errorStyle: ErrorStyle;
  };
}
