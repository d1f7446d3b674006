import net from 'node:net';
import type { AuthzClient } from './types.js';
import type { Who } from './rule.js';

/**
 * The "who" conditions of acl.conf rules (§8.6): username, client id and client attribute
 * (exact or regex), peer address (IP or CIDR, IPv4 and IPv6), and `'and'`/`'or'` of those.
 * A client without the field (no username, say) never matches its condition.
 */

/** A who condition that cannot be built (a bad regex or CIDR). */
export class WhoError extends Error {
  override readonly name = 'WhoError';
}

/** `{re, "..."}`: PCRE in EMQX; JavaScript's regex syntax covers the usual patterns. Unanchored unless ^…$ is written. */
export function regex(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new WhoError(`bad regular expression ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
}

type Field = 'username' | 'clientid';

/** `{username, S}` / `{clientid, S}`; each field read by name (a fixed property, no keyed lookup). */
export function fieldIs(field: Field, value: string): Who {
  const text = `{${field}, ${JSON.stringify(value)}}`;
  return field === 'username' ? { text, test: (c) => c.username === value } : { text, test: (c) => c.clientid === value };
}

export function fieldMatches(field: Field, re: RegExp): Who {
  const text = `{${field}, {re, ${JSON.stringify(re.source)}}}`;
  if (field === 'clientid') return { text, test: (c) => re.test(c.clientid) };
  return {
    text,
    test: (c) => {
      const v = c.username;
      return v !== undefined && re.test(v);
    },
  };
}

export function clientAttrIs(name: string, value: string): Who {
  return { text: `{client_attr, ${JSON.stringify(name)}, ${JSON.stringify(value)}}`, test: (c) => c.client_attrs[name] === value };
}

export function clientAttrMatches(name: string, re: RegExp): Who {
  return {
    text: `{client_attr, ${JSON.stringify(name)}, {re, ${JSON.stringify(re.source)}}}`,
    test: (c) => {
      const v = c.client_attrs[name];
      return v !== undefined && re.test(v);
    },
  };
}

/** One IP or CIDR, IPv4 or IPv6, as a BlockList entry; throws WhoError when it is neither. */
function addAddress(list: net.BlockList, entry: string): void {
  const [address = '', prefixText, extra] = entry.trim().split('/');
  const type = net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  const max = type === 'ipv4' ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^[0-9]{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!type || extra !== undefined || !(prefix >= 0 && prefix <= max)) throw new WhoError(`${JSON.stringify(entry)} is not an IPv4 or IPv6 address or CIDR`);
  list.addSubnet(address, prefix, type);
}

/**
 * `{ipaddr, "CIDR"}` / `{ipaddrs, [...]}` against the client's peer address. A client's
 * address never changes, so each client's answer is worked out once and remembered.
 */
export function peerIn(entries: readonly string[], text: string): Who {
  const list = new net.BlockList();
  for (const e of entries) addAddress(list, e);
  const known = new WeakMap<AuthzClient, boolean>();
  return {
    text,
    test: (c) => {
      let inside = known.get(c);
      if (inside === undefined) {
        const host = c.peerhost.startsWith('::ffff:') && c.peerhost.includes('.') ? c.peerhost.slice(7) : c.peerhost;
        inside = net.isIPv4(host) ? list.check(host, 'ipv4') : net.isIPv6(host) ? list.check(host, 'ipv6') : false;
        known.set(c, inside);
      }
      return inside;
    },
  };
}

export function allOf(conditions: readonly Who[]): Who {
  return {
    text: `{'and', [${conditions.map((w) => w.text).join(', ')}]}`,
    test: (c) => {
      for (let i = 0; i < conditions.length; i++) if (!conditions[i]!.test(c)) return false;
      return true;
    },
  };
}

export function anyOf(conditions: readonly Who[]): Who {
  return {
    text: `{'or', [${conditions.map((w) => w.text).join(', ')}]}`,
    test: (c) => {
      for (let i = 0; i < conditions.length; i++) if (conditions[i]!.test(c)) return true;
      return false;
    },
  };
}
