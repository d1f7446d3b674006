import type { ClientCredential } from './types.js';

/**
 * Placeholders (§5): `${name}` in templates, the one engine of the node. A compiled template
 * yields the values of its placeholders as parameters; backends bind them (SQL `?`/`$n`,
 * Redis arguments, Mongo filter values, URL-encoded components) and never splice them into
 * query text. Mountpoints (`mountpoint.ts`) and the gateways' `clientinfo_override` templates
 * (`${Packet.headers.X}`, `${ClientInfo.*}`, §12.2; src/access/identity.ts) are rendered by it too.
 */

/**
 * Where a template is used, which decides the placeholders it may hold. `clientinfo` (a
 * gateway's `clientinfo_override`) takes any name: its values come from a lookup the gateway
 * and the access service supply (`renderOptional`), and a name they do not know has no value.
 */
export type PlaceholderContext = 'authn' | 'jwt_claims' | 'acl_topic' | 'mountpoint' | 'clientinfo';

const AUTHN = [
  'clientid',
  'username',
  'password',
  'peerhost',
  'peerport',
  'cert_subject',
  'cert_common_name',
  'cert_pem',
  'zone',
  'psk_identity',
  'listener',
];

const ALLOWED: Record<PlaceholderContext, ReadonlySet<string>> = {
  authn: new Set(AUTHN),
  jwt_claims: new Set(['clientid', 'username']),
  // §5.2's list for ACL rule topics, plus `${peerhost}` and `${cert_subject}` (issue 16).
  acl_topic: new Set(['clientid', 'username', 'cert_common_name', 'cert_subject', 'peerhost', 'zone']),
  mountpoint: new Set(['clientid', 'username', 'endpoint_name', 'zone']),
  clientinfo: new Set(),
};

export type TemplatePart = { text: string } | { name: string };

/**
 * `${name}`, spaces and a leading dot allowed inside the braces. A name is anything up to the
 * closing brace but spaces and braces, so STOMP header names (`${Packet.headers.client-id}`)
 * are names too; a name a context does not allow stays literal text.
 */
const PLACEHOLDER = /\$\{\s*\.?([^\s{}]+)\s*\}/g;

export class Template {
  private constructor(
    readonly source: string,
    readonly parts: readonly TemplatePart[],
    /** Placeholders that were not allowed here and were kept as literal text. */
    readonly rejected: readonly string[],
  ) {}

  /** Parses `text`; placeholders not allowed in `context` stay literal (EMQX logs and keeps them). */
  static compile(text: string, context: PlaceholderContext): Template {
    const parts: TemplatePart[] = [];
    const rejected: string[] = [];
    let last = 0;
    for (const m of text.matchAll(PLACEHOLDER)) {
      const name = m[1]!;
      const start = m.index;
      if (start > last) parts.push({ text: text.slice(last, start) });
      if (name === '$') parts.push({ text: '$' });
      else if (isAllowed(context, name)) parts.push({ name });
      else {
        rejected.push(name);
        parts.push({ text: m[0] });
      }
      last = start + m[0].length;
    }
    if (last < text.length) parts.push({ text: text.slice(last) });
    return new Template(text, mergeText(parts), rejected);
  }

  /** Names of the placeholders, one per occurrence. */
  get names(): string[] {
    return this.parts.flatMap((p) => ('name' in p ? [p.name] : []));
  }

  /** The placeholders' values for a client, one per occurrence (absent → ''). */
  values(credential: ClientCredential): string[] {
    return this.names.map((n) => placeholderValue(n, credential) ?? '');
  }

  /** The whole text with values in place, each passed through `encode` (e.g. encodeURIComponent). */
  render(credential: ClientCredential, encode: (value: string) => string = (v) => v): string {
    let out = '';
    for (const p of this.parts) out += 'name' in p ? encode(placeholderValue(p.name, credential) ?? '') : p.text;
    return out;
  }

  /**
   * The text with the values `lookup` gives, or undefined when the template is placeholders
   * only and none of them has a value: the field it fills is then absent, never "" or
   * "undefined" (gatehouse-choices 2; a gateway's login without a `login` header has no username).
   */
  renderOptional(lookup: (name: string) => string | undefined): string | undefined {
    let out = '';
    let present = false;
    for (const p of this.parts) {
      if ('text' in p) {
        out += p.text;
        present = true;
        continue;
      }
      const value = lookup(p.name);
      if (value === undefined) continue;
      out += value;
      present = true;
    }
    return present ? out : undefined;
  }

  /** Like render, with `${password}` shown as ****** (for explain and logs). */
  renderMasked(credential: ClientCredential): string {
    let out = '';
    for (const p of this.parts) {
      if ('name' in p) out += p.name === 'password' ? '******' : (placeholderValue(p.name, credential) ?? '');
      else out += p.text;
    }
    return out;
  }
}

function isAllowed(context: PlaceholderContext, name: string): boolean {
  if (context === 'clientinfo') return true;
  if (name.startsWith('client_attrs.')) return context !== 'jwt_claims' && name.length > 'client_attrs.'.length;
  return ALLOWED[context].has(name);
}

function mergeText(parts: TemplatePart[]): TemplatePart[] {
  const out: TemplatePart[] = [];
  for (const p of parts) {
    const prev = out[out.length - 1];
    if ('text' in p && prev && 'text' in prev) out[out.length - 1] = { text: prev.text + p.text };
    else out.push(p);
  }
  return out;
}

/**
 * What placeholders read of a client: a whole credential, or a part of one such as the
 * authorization view of a session (which has no password, port or zone).
 */
export type PlaceholderClient = Pick<ClientCredential, 'clientid' | 'client_attrs'> & Partial<Omit<ClientCredential, 'clientid' | 'client_attrs'>>;

/** The value of one placeholder for a client; undefined when the client has none. */
export function placeholderValue(name: string, c: PlaceholderClient): string | undefined {
  switch (name) {
    case 'clientid':
      return c.clientid;
    case 'username':
      return c.username;
    case 'password':
      return c.password?.toString('utf8');
    case 'peerhost':
      return c.peerhost;
    case 'peerport':
      return c.peerport === undefined ? undefined : String(c.peerport);
    case 'cert_subject':
      return c.cert_subject;
    case 'cert_common_name':
      return c.cert_common_name;
    case 'cert_pem':
      return c.cert_pem;
    case 'zone':
      // The listener's zone (`listeners.<type>.<name>.zone`, naming a `zones.<name>` block), else `default`.
      return c.zone ?? 'default';
    case 'psk_identity':
      return c.psk_identity;
    case 'listener':
      return c.listener;
    default:
      if (name.startsWith('client_attrs.')) return c.client_attrs[name.slice('client_attrs.'.length)];
      return undefined;
  }
}

/**
 * An SQL query whose placeholders become bind parameters: MySQL `?`, PostgreSQL `$1..$n`.
 * A placeholder wrapped in single or double quotes is a bare parameter too (gatehouse-choices 8).
 */
export interface SqlTemplate {
  sql: string;
  template: Template;
}

export function sqlTemplate(query: string, style: 'mysql' | 'postgresql'): SqlTemplate {
  const unquoted = query.replace(/(['"])(\$\{\s*\.?[A-Za-z0-9_.]+\s*\})\1/g, '$2');
  const template = Template.compile(unquoted, 'authn');
  let n = 0;
  const sql = template.parts.map((p) => ('name' in p ? (style === 'mysql' ? '?' : `$${++n}`) : p.text)).join('');
  return { sql, template };
}
