/**
 * The one rule for what a listening address may be (flags, env, config files): a host name or an
 * IPv4/IPv6 address, brackets around IPv6 allowed. Anything else (a URL, a port, spaces) is
 * refused before a socket is opened, so a typo never becomes a bind to an unexpected interface.
 */
export function normalizeHost(value: string): string | undefined {
  const host = value.replace(/^\[(.*)\]$/, '$1');
  if (/^[A-Za-z0-9.-]+$/.test(host) || (host.includes(':') && /^[0-9A-Fa-f:.]+$/.test(host))) return host;
  return undefined;
}

export const HOST_RULE = 'a host name or IP address such as 127.0.0.1, 0.0.0.0 or ::';
