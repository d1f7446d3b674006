import type { ConnectionMeta } from '../transport/types.js';
import type { ClientCredential } from './types.js';

/** Shared by every client without attributes (most of them): never mutated. */
const NO_ATTRIBUTES: Record<string, string> = Object.freeze({}) as Record<string, string>;

/** What a protocol front read from its connect frame. */
export interface ConnectIdentity {
  protocol: ClientCredential['protocol'];
  clientid: string;
  username?: string | undefined;
  password?: Buffer | undefined;
  mountpoint: string;
}

/**
 * The credential authentication sees (EMQX's ClientInfo): the connection's transport
 * identity (peer, certificate, PSK) plus what the protocol's connect frame said.
 * One place for MQTT and STOMP, so both offer the same placeholders.
 */
export function credentialFor(meta: ConnectionMeta, who: ConnectIdentity): ClientCredential {
  const credential: ClientCredential = {
    listener: meta.listenerId,
    protocol: who.protocol,
    clientid: who.clientid,
    peerhost: meta.peerhost,
    peerport: meta.peerport,
    sockport: meta.sockport,
    zone: meta.zone ?? 'default',
    mountpoint: who.mountpoint,
    client_attrs: NO_ATTRIBUTES,
    enable_authn: meta.enableAuthn,
  };
  if (who.username !== undefined) credential.username = who.username;
  if (who.password !== undefined) credential.password = who.password;
  const cert = meta.cert;
  if (cert) {
    credential.cert_subject = cert.subject;
    if (cert.commonName !== undefined) credential.cert_common_name = cert.commonName;
    if (cert.pemBody !== undefined) credential.cert_pem = cert.pemBody;
  }
  if (meta.pskIdentity !== undefined) credential.psk_identity = meta.pskIdentity;
  return credential;
}
