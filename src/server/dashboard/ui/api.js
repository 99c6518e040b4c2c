/**
 * Calls to the sluice API. The token lives in memory, and in sessionStorage when the user asks
 * (this tab only; gone when it closes); it is sent as `Authorization: Bearer`, never as a cookie,
 * so no other site can make the browser use it. A 401 anywhere signs the user out with the
 * server's reason.
 */
const KEY = 'sluice.token';

function stored() {
  try {
    return sessionStorage.getItem(KEY) ?? '';
  } catch {
    return '';
  }
}

let token = stored();
const tokenListeners = new Set();
const unauthorizedListeners = new Set();

export function currentToken() {
  return token;
}

/** Uses `value` from now on; kept in sessionStorage only when `remember`. */
export function setToken(value, remember) {
  token = value;
  try {
    if (remember && value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  } catch {
    // Storage refused (private mode): the token stays in memory only.
  }
  for (const fn of tokenListeners) fn(token);
}

export function onTokenChange(fn) {
  tokenListeners.add(fn);
  return () => tokenListeners.delete(fn);
}

export function onUnauthorized(fn) {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/**
 * GET (or `method`) `path` relative to the page; resolves with the JSON answer, throws ApiError.
 * `options.token` tries another token than the current one (and a 401 then signs nobody out).
 */
export async function api(path, options = {}) {
  const headers = { Accept: 'application/json', Authorization: `Bearer ${options.token ?? token}` };
  let body;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let res;
  try {
    res = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, `the server did not answer (${error.message})`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) {
    const message = data?.message ?? data?.error ?? `${res.status} ${res.statusText}`;
    const error = new ApiError(res.status, message);
    if (res.status === 401 && options.token === undefined) for (const fn of unauthorizedListeners) fn(error);
    throw error;
  }
  return data;
}

/** `path?name=value&…`, repeating a name for each value of an array; undefined values left out. */
export function withQuery(path, params) {
  const q = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    for (const v of Array.isArray(value) ? value : [value]) q.append(name, String(v));
  }
  const text = q.toString();
  return text ? `${path}?${text}` : path;
}
