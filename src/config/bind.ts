/** A listener address: EMQX accepts a bare port or `host:port` (IPv6 as `[::1]:port`). */
export interface BindAddress {
  host: string;
  port: number;
}

export class BindError extends Error {}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]+)):(\d{1,5})$/;

/**
 * Parses `1883`, `"1883"`, `"127.0.0.1:1883"`, `"[::1]:1883"` or `"localhost:1883"`.
 * A bare port binds every interface (`::` with IPv4 fallback, as node does).
 */
export function parseBind(value: string | number): BindAddress {
  if (typeof value === 'number') return { host: '::', port: checkPort(value, String(value)) };
  const text = value.trim();
  if (/^\d{1,5}$/.test(text)) return { host: '::', port: checkPort(Number(text), text) };
  const m = HOST_PORT.exec(text);
  if (!m) throw new BindError(`"${value}" is not a port or host:port (IPv6 as [addr]:port)`);
  const host = m[1] ?? m[2] ?? '';
  return { host, port: checkPort(Number(m[3]), text) };
}

function checkPort(port: number, text: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new BindError(`port in "${text}" must be an integer from 0 to 65535`);
  }
  return port;
}

export function formatBind(addr: BindAddress): string {
  return addr.host.includes(':') ? `[${addr.host}]:${addr.port}` : `${addr.host}:${addr.port}`;
}

/** True when an address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
