// Peer addresses and the CIDR entries listener settings name them with
// (`access_rules`, `proxy_protocol_trusted_cidrs`).

import net from 'node:net';

/** `::ffff:127.0.0.1` → `127.0.0.1`, the form EMQX shows for IPv4 peers. */
export function stripV4Mapped(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host;
}

/** An IPv4 or IPv6 address with an optional prefix length (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). */
export function readCidr(entry: string): { address: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText] = entry.trim().split('/');
  const type = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  if (!type) return undefined;
  const max = type === 'ipv4' ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  return prefix >= 0 && prefix <= max ? { address, prefix, type } : undefined;
}

/** Why an entry of proxy_protocol_trusted_cidrs cannot be used, or undefined when it can. */
export function cidrProblem(entry: string): string | undefined {
  return readCidr(entry) ? undefined : `${JSON.stringify(entry)} is not an IPv4 or IPv6 CIDR`;
}
