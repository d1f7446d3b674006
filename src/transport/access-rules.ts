import net from 'node:net';
import { readCidr, stripV4Mapped } from './cidr.js';

/**
 * A listener's `access_rules` (EMQX §11.1, esockd's access list): entries `"allow all"`,
 * `"deny all"`, `"allow <address or CIDR>"`, `"deny <address or CIDR>"`; an entry may list
 * several, comma-separated (`"allow 10.0.0.0/8, 192.168.0.0/16"`, `"deny 10.1.0.0/16, allow all"`).
 * The first rule that matches the connecting address decides; an address no rule matches is
 * allowed, as in EMQX. The address is the socket's peer (with Proxy Protocol, the proxy's).
 */
interface AccessRule {
  allow: boolean;
  /** undefined: matches every address (`all`). */
  subnets: net.BlockList | undefined;
}

export class AccessRules {
  private constructor(private readonly rules: readonly AccessRule[]) {}

  /** The rules of a listener, or undefined when they allow everyone (the default `["allow all"]`). Throws on a bad entry. */
  static parse(entries: readonly string[]): AccessRules | undefined {
    const rules: AccessRule[] = [];
    let current: AccessRule | undefined;
    for (const entry of entries) {
      for (const piece of entry.split(',')) {
        const words = piece.trim().split(/\s+/).filter(Boolean);
        if (words.length === 0) continue;
        let target: string | undefined;
        if (words[0] === 'allow' || words[0] === 'deny') {
          if (words.length !== 2) throw new Error(`${JSON.stringify(piece.trim())}: expected "allow <CIDR>", "deny <CIDR>", "allow all" or "deny all"`);
          current = { allow: words[0] === 'allow', subnets: undefined };
          rules.push(current);
          target = words[1];
        } else if (current && words.length === 1 && current.subnets) {
          target = words[0]; // another address of the previous rule
        } else {
          throw new Error(`${JSON.stringify(piece.trim())}: expected "allow <CIDR>", "deny <CIDR>", "allow all" or "deny all"`);
        }
        if (target === 'all') {
          if (current.subnets) throw new Error(`${JSON.stringify(piece.trim())}: "all" cannot follow addresses in the same rule`);
          continue;
        }
        const subnet = readCidr(target!);
        if (!subnet) throw new Error(`${JSON.stringify(target)} is not an IPv4 or IPv6 address or CIDR`);
        current.subnets ??= new net.BlockList();
        current.subnets.addSubnet(subnet.address, subnet.prefix, subnet.type);
      }
    }
    if (rules.length === 0 || (rules[0]!.allow && rules[0]!.subnets === undefined)) return undefined;
    return new AccessRules(rules);
  }

  allows(host: string): boolean {
    const h = stripV4Mapped(host);
    const type = net.isIPv4(h) ? 'ipv4' : 'ipv6';
    for (const rule of this.rules) {
      if (rule.subnets === undefined || rule.subnets.check(h, type)) return rule.allow;
    }
    return true;
  }
}

/** Why a listener's access_rules cannot be used, or undefined when they can (for check-config). */
export function accessRulesProblem(entries: readonly string[]): string | undefined {
  try {
    AccessRules.parse(entries);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
