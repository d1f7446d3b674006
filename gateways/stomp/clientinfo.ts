import { randomBytes } from 'node:crypto';
import type { ConnectionMeta } from '../../src/transport/types.js';
import { MQTT_STRING_MAX_BYTES, peerCertAsProblem } from '../../src/transport/identity/index.js';

/**
 * Who a STOMP client is, from its CONNECT frame: the `clientinfo_override` templates of
 * reference §12.2, and the mountpoint template of §5.2.
 *
 * Differs from EMQX on purpose (gatehouse-choices 2): a placeholder with no value renders as
 * nothing, so a client without a `login` header has no username (EMQX: the text "undefined").
 */

export interface ClientinfoOverride {
  username?: string;
  password?: string;
  clientid?: string;
}

/** EMQX's default templates. */
export const DEFAULT_OVERRIDE: Readonly<Required<ClientinfoOverride>> = Object.freeze({
  username: '${Packet.headers.login}',
  password: '${Packet.headers.passcode}',
  clientid: '',
});

const PLACEHOLDER = /\$\{([^}]*)\}/g;

/** The values a `clientinfo_override` template can name. */
export interface ConnectContext {
  /** First value of a CONNECT header. */
  header: (name: string) => string | undefined;
  meta: ConnectionMeta;
}

function connectValue(path: string, ctx: ConnectContext): string | undefined {
  const key = path.trim();
  if (key.startsWith('Packet.headers.')) return ctx.header(key.slice('Packet.headers.'.length));
  const { meta } = ctx;
  switch (key) {
    case 'ClientInfo.peerhost':
      return meta.peerhost;
    case 'ClientInfo.sockport':
      return String(meta.sockport);
    case 'ClientInfo.protocol':
    case 'ConnInfo.proto_name':
      return 'stomp';
    case 'ClientInfo.zone':
      return 'default';
    case 'ClientInfo.listener':
      return meta.listenerId;
    case 'ClientInfo.cn':
      return meta.cert?.commonName;
    case 'ClientInfo.dn':
      return meta.cert?.subject;
    case 'ConnInfo.peername':
      return `${meta.peerhost}:${meta.peerport}`;
    case 'ConnInfo.sockname':
      return `${meta.sockhost}:${meta.sockport}`;
    default:
      return undefined;
  }
}

/**
 * Renders a template. Returns undefined when the template is only placeholders and none of them
 * has a value (e.g. no `login` header): the field is then absent, never "undefined".
 */
export function renderTemplate(template: string, lookup: (name: string) => string | undefined): string | undefined {
  let anyValue = false;
  let literal = false;
  let last = 0;
  let out = '';
  for (const match of template.matchAll(PLACEHOLDER)) {
    const index = match.index ?? 0;
    if (index > last) literal = true;
    out += template.slice(last, index);
    const value = lookup(match[1] as string);
    if (value !== undefined) {
      anyValue = true;
      out += value;
    }
    last = index + match[0].length;
  }
  if (last < template.length) literal = true;
  out += template.slice(last);
  return anyValue || literal ? out : undefined;
}

export interface StompIdentity {
  clientid: string;
  username?: string;
  password?: Buffer;
}

/** Applies the (configured or default) templates to a CONNECT frame; an empty client id gets a random one. */
export function identityFromConnect(override: ClientinfoOverride, ctx: ConnectContext): StompIdentity {
  const lookup = (name: string) => connectValue(name, ctx);
  const username = renderTemplate(override.username ?? DEFAULT_OVERRIDE.username, lookup);
  const password = renderTemplate(override.password ?? DEFAULT_OVERRIDE.password, lookup);
  const clientid = renderTemplate(override.clientid ?? DEFAULT_OVERRIDE.clientid, lookup);
  const identity: StompIdentity = { clientid: clientid ? clientid : randomClientid() };
  if (username !== undefined) identity.username = username;
  if (password !== undefined) identity.password = Buffer.from(password, 'utf8');
  return identity;
}

/**
 * Why a certificate placeholder (`${ClientInfo.cn}`, `${ClientInfo.dn}`) of the username or
 * client id template cannot be used, or undefined: on a connection with a certificate, a
 * missing CN or a value that is no valid MQTT string refuses the login (fails closed, as
 * `peer_cert_as_*` does on MQTT listeners) instead of rendering as nothing.
 */
export function certPlaceholderProblem(override: ClientinfoOverride, meta: ConnectionMeta): string | undefined {
  if (!meta.cert) return undefined;
  for (const field of ['username', 'clientid'] as const) {
    for (const match of (override[field] ?? DEFAULT_OVERRIDE[field]).matchAll(PLACEHOLDER)) {
      const key = (match[1] as string).trim();
      const kind = key === 'ClientInfo.cn' ? 'cn' : key === 'ClientInfo.dn' ? 'dn' : undefined;
      if (kind === undefined) continue;
      const problem = peerCertAsProblem(kind, meta.cert, MQTT_STRING_MAX_BYTES);
      if (problem) return `clientinfo_override.${field} \${${key}}: ${problem}`;
    }
  }
  return undefined;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** EMQX assigns a random 16-character id to a STOMP client without one. */
export function randomClientid(): string {
  const bytes = randomBytes(16);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}


