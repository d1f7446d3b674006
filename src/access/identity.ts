import { randomBytes } from 'node:crypto';
import type { ConnectionMeta } from '../transport/types.js';
import type { ClientCredential } from '../authn/types.js';
import { credentialFor } from '../authn/credential.js';
import { Template } from '../authn/placeholders.js';
import type { Refusal } from './connection.js';
import type { CertificateFields, ClientinfoOverride, ConnectRequest, MqttIdentitySettings, PeerCertField } from './types.js';

/**
 * Who a connecting client is: the credential authentication sees (EMQX's ClientInfo), built
 * from the connection and the connect frame, with the identity rules applied:
 *
 * - MQTT: `mqtt.peer_cert_as_username` / `peer_cert_as_clientid` (§11.3), then
 *   `mqtt.use_username_as_clientid` (§1.1 step 3); a certificate-derived client id wins.
 * - Gateways: `clientinfo_override` templates (§12.2) rendered by the one placeholder engine
 *   (src/authn/placeholders.ts); a client without a client id gets a random one (EMQX).
 *
 * A certificate field that is missing or cannot be an MQTT string refuses the client as a bad
 * username (fails closed, a deliberate difference from EMQX, which falls back to what the
 * client sent).
 */

/** The longest UTF-8 string MQTT can carry (MQTT 5.0 §1.5.4, 3.1.1 §1.5.3: a two-byte length). */
export const MQTT_STRING_MAX_BYTES = 65535;

export interface IdentityRules {
  certificates: CertificateFields;
  /** The current `mqtt.*` identity settings, read for MQTT connections only. */
  mqtt: () => MqttIdentitySettings;
}

/** The credential for a connect frame, or why the client cannot have one. */
export function identify(meta: ConnectionMeta, request: ConnectRequest, rules: IdentityRules): ClientCredential | Refusal {
  if (request.clientinfo) return gatewayCredential(meta, request, request.clientinfo, rules.certificates);
  if (meta.protocol === 'mqtt') return mqttCredential(meta, request, rules);
  return credential(meta, request, request.clientid, request.username, request.password);
}

function mqttCredential(meta: ConnectionMeta, request: ConnectRequest, rules: IdentityRules): ClientCredential | Refusal {
  const settings = rules.mqtt();
  const certs = rules.certificates;
  const problem =
    certProblem(certs, meta, settings.peerCertAsUsername, MQTT_STRING_MAX_BYTES, 'mqtt.peer_cert_as_username') ??
    certProblem(certs, meta, settings.peerCertAsClientid, Math.min(MQTT_STRING_MAX_BYTES, settings.maxClientidLen ?? MQTT_STRING_MAX_BYTES), 'mqtt.peer_cert_as_clientid');
  if (problem) return { reason: 'bad_username_or_password', detail: problem };
  const certUsername = settings.peerCertAsUsername === 'disabled' ? undefined : certs.value(meta, settings.peerCertAsUsername);
  let clientid = settings.peerCertAsClientid === 'disabled' ? undefined : certs.value(meta, settings.peerCertAsClientid);
  const username = certUsername ?? request.username;
  if (settings.useUsernameAsClientid && clientid === undefined) {
    if (!username) return { reason: 'client_identifier_not_valid', detail: 'use_username_as_clientid = true and the client sent no username' };
    clientid = username;
  }
  return credential(meta, request, clientid ?? request.clientid, username, request.password);
}

/** Why the field `field` names cannot identify this connection (`setting = field: reason`), or undefined. */
function certProblem(certs: CertificateFields, meta: ConnectionMeta, field: PeerCertField, maxBytes: number, setting: string): string | undefined {
  if (field === 'disabled') return undefined;
  const problem = certs.problem(meta, field, maxBytes);
  return problem === undefined ? undefined : `${setting} = ${field}: ${problem}`;
}

function credential(
  meta: ConnectionMeta,
  request: ConnectRequest,
  clientid: string,
  username: string | undefined,
  password: Buffer | undefined,
): ClientCredential {
  const c = credentialFor(meta, { protocol: meta.protocol, clientid, username, password, mountpoint: request.mountpoint ?? meta.mountpoint });
  if (request.authMethod !== undefined) c.auth_method = request.authMethod;
  if (request.authData !== undefined) c.auth_data = request.authData;
  return c;
}

// ---- gateways: clientinfo_override (§12.2) ------------------------------------------------

/** Compiled templates by text: a gateway has three, read for every connection. */
const templates = new Map<string, Template>();

function compiled(text: string): Template {
  let t = templates.get(text);
  if (!t) {
    t = Template.compile(text, 'clientinfo');
    // Templates come from configuration; bound the cache should an API client keep changing them.
    if (templates.size >= 64) templates.clear();
    templates.set(text, t);
  }
  return t;
}

function gatewayCredential(meta: ConnectionMeta, request: ConnectRequest, override: ClientinfoOverride, certs: CertificateFields): ClientCredential | Refusal {
  const { templates: t } = override;
  const username = compiled(t.username);
  const clientidTemplate = compiled(t.clientid);
  const problem = certPlaceholderProblem('username', username, meta, certs) ?? certPlaceholderProblem('clientid', clientidTemplate, meta, certs);
  if (problem) return { reason: 'bad_username_or_password', detail: problem };
  const lookup = (name: string): string | undefined => (name.startsWith('Packet.') ? override.packet(name.slice('Packet.'.length)) : clientInfoValue(name, meta));
  const user = username.renderOptional(lookup);
  const password = compiled(t.password).renderOptional(lookup);
  const clientid = clientidTemplate.renderOptional(lookup);
  return credential(meta, request, clientid ? clientid : randomClientid(), user, password === undefined ? undefined : Buffer.from(password, 'utf8'));
}

/** `${ClientInfo.*}` and `${ConnInfo.*}` (EMQX's names) from the connection. */
function clientInfoValue(name: string, meta: ConnectionMeta): string | undefined {
  switch (name) {
    case 'ClientInfo.peerhost':
      return meta.peerhost;
    case 'ClientInfo.sockport':
      return String(meta.sockport);
    case 'ClientInfo.protocol':
    case 'ConnInfo.proto_name':
      return meta.protocol;
    case 'ClientInfo.zone':
      return meta.zone ?? 'default';
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
 * Why a certificate placeholder (`${ClientInfo.cn}`, `${ClientInfo.dn}`) of the username or
 * client id template cannot be used, or undefined: on a connection with a certificate, a
 * missing CN or a value that is no valid MQTT string refuses the login (fails closed, as
 * `peer_cert_as_*` does on MQTT listeners) instead of rendering as nothing.
 */
function certPlaceholderProblem(field: 'username' | 'clientid', template: Template, meta: ConnectionMeta, certs: CertificateFields): string | undefined {
  if (!meta.cert) return undefined;
  for (const name of template.names) {
    const kind = name === 'ClientInfo.cn' ? 'cn' : name === 'ClientInfo.dn' ? 'dn' : undefined;
    if (kind === undefined) continue;
    const problem = certs.problem(meta, kind, MQTT_STRING_MAX_BYTES);
    if (problem) return `clientinfo_override.${field} \${${name}}: ${problem}`;
  }
  return undefined;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** EMQX's gateways assign a random 16-character id to a client without one. */
export function randomClientid(): string {
  const bytes = randomBytes(16);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}
