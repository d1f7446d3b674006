// TLS for ssl and wss listeners (EMQX reference §11.3, §11.5): the secure context built from
// `ssl_options`, the per-listener holder that certificate reloads swap, and the accept step
// that runs the server handshake on an accepted socket and records who the peer is.

import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import tls from 'node:tls';
import type net from 'node:net';
import type { SslOptions } from '../src/config/schema.js';
import { parseDuration } from '../src/config/hocon/units.js';
import { certificateIdentity } from './identity/index.js';
import type { AcceptStep } from './listener.js';
import type { ConnectionMeta, PeerCertificate } from './types.js';

/** Where `ssl_options` files point when they are not given: the development set from `npm run certs`. */
export const DEFAULT_TLS_FILES = { cacertfile: 'certs/ca.pem', certfile: 'certs/server.pem', keyfile: 'certs/server-key.pem' } as const;

export class TlsSettingsError extends Error {
  constructor(
    readonly listenerId: string,
    message: string,
  ) {
    super(`listener ${listenerId}: ${message}`);
    this.name = 'TlsSettingsError';
  }
}

/** Everything the handshake of one listener needs, built once per (re)load. */
export interface TlsSettings {
  secureContext: tls.SecureContext;
  /** Ask the client for a certificate (verify_peer). */
  requestCert: boolean;
  /** fail_if_no_peer_cert: OpenSSL refuses a handshake without a client certificate. */
  requireCert: boolean;
  depth: number;
  handshakeTimeoutMs: number;
  /** The listener offers PSK cipher suites. */
  psk: boolean;
}

/** Looks up a TLS-PSK identity; undefined fails the handshake. */
export type PskLookup = (identity: string) => Buffer | undefined;

const VERSION_NAMES = { 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' } as const;

/** The cipher list in OpenSSL's colon form, from a list or a comma/colon separated string. */
export function cipherList(ciphers: SslOptions['ciphers']): string[] {
  const items = Array.isArray(ciphers) ? ciphers : ciphers.split(/[,:]/);
  return items.map((c) => c.trim()).filter(Boolean);
}

export function offersPsk(ssl: SslOptions): boolean {
  return cipherList(ssl.ciphers).some((c) => /(^|-)PSK(-|$)/.test(c));
}

/**
 * Builds a listener's TLS settings from its `ssl_options`. File paths resolve against
 * `baseDir`; missing certfile/keyfile/cacertfile fall back to DEFAULT_TLS_FILES. Throws
 * TlsSettingsError with the field and reason (never the key or its password).
 */
export function buildTlsSettings(listenerId: string, ssl: SslOptions, baseDir: string): TlsSettings {
  const fail = (msg: string): never => {
    throw new TlsSettingsError(listenerId, msg);
  };
  const read = (field: 'certfile' | 'keyfile' | 'cacertfile' | 'crlfile', optional = false): Buffer | undefined => {
    const given = ssl[field];
    const value = given ?? (field === 'crlfile' ? undefined : DEFAULT_TLS_FILES[field]);
    if (value === undefined) return undefined;
    if (value.includes('-----BEGIN')) return Buffer.from(value);
    const path = resolve(baseDir, value);
    if (optional && given === undefined && !existsSync(path)) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return fail(`ssl_options.${field}: cannot read ${path}${code === 'ENOENT' ? ' (no such file; `npm run certs` writes a development set)' : `: ${code ?? (err as Error).message}`}`);
    }
  };

  if (ssl.fail_if_no_peer_cert && ssl.verify !== 'verify_peer') fail('ssl_options.fail_if_no_peer_cert = true requires verify = verify_peer');
  if (ssl.enable_crl_check && ssl.verify !== 'verify_peer') fail('ssl_options.enable_crl_check = true requires verify = verify_peer');
  if (ssl.enable_crl_check && !ssl.crlfile) fail('ssl_options.enable_crl_check = true needs ssl_options.crlfile (CRL distribution points are not fetched)');

  const psk = offersPsk(ssl);
  const versions = ssl.versions.map((v) => VERSION_NAMES[v]);
  let minVersion: tls.SecureVersion = versions.includes('TLSv1.2') ? 'TLSv1.2' : 'TLSv1.3';
  let maxVersion: tls.SecureVersion = versions.includes('TLSv1.3') ? 'TLSv1.3' : 'TLSv1.2';
  // Node's pskCallback serves TLS 1.2 PSK suites only (EMQX's docs also say to drop tlsv1.3).
  if (psk) {
    if (!versions.includes('TLSv1.2')) fail('ssl_options.ciphers offer PSK suites, which need tlsv1.2 in ssl_options.versions');
    minVersion = 'TLSv1.2';
    maxVersion = 'TLSv1.2';
  }
  const ciphers = cipherList(ssl.ciphers);
  const options: tls.SecureContextOptions = {
    minVersion,
    maxVersion,
    honorCipherOrder: ssl.honor_cipher_order ?? true,
  };
  if (ciphers.length > 0) options.ciphers = ciphers.join(':');
  const cert = read('certfile', psk);
  const key = read('keyfile', psk);
  if (cert) options.cert = cert;
  if (key) options.key = key;
  if (ssl.password !== undefined) options.passphrase = ssl.password;
  const ca = read('cacertfile', ssl.verify !== 'verify_peer');
  if (ca) options.ca = ca;
  if (ssl.verify === 'verify_peer' && !ca) fail('ssl_options.verify = verify_peer needs ssl_options.cacertfile');
  if (ssl.enable_crl_check) options.crl = read('crlfile');

  let secureContext: tls.SecureContext;
  try {
    secureContext = tls.createSecureContext(options);
  } catch (err) {
    return fail(`ssl_options cannot be loaded: ${describeOpenSslError(err)}`);
  }
  let handshakeTimeoutMs: number;
  try {
    handshakeTimeoutMs = parseDuration(ssl.handshake_timeout);
  } catch (err) {
    return fail(`ssl_options.handshake_timeout: ${(err as Error).message}`);
  }
  return {
    secureContext,
    requestCert: ssl.verify === 'verify_peer',
    requireCert: ssl.fail_if_no_peer_cert,
    depth: ssl.depth,
    handshakeTimeoutMs,
    psk,
  };
}

function describeOpenSslError(err: unknown): string {
  const e = err as { message?: string; code?: string; reason?: string };
  const text = e.reason ?? e.message ?? String(err);
  if (/bad decrypt|bad password|interrupted or cancelled|PROCESSING_ERROR/i.test(text)) return 'the key cannot be decrypted (wrong or missing ssl_options.password)';
  if (/key values mismatch/i.test(text)) return 'keyfile does not belong to certfile';
  return text;
}

/** One listener's current TLS settings; a reload swaps them for the connections that follow. */
export class TlsSettingsHolder {
  constructor(private value: TlsSettings) {}

  get current(): TlsSettings {
    return this.value;
  }

  replace(settings: TlsSettings): void {
    this.value = settings;
  }
}

export interface TlsStepOptions {
  holder: TlsSettingsHolder;
  /** Present when psk_authentication is enabled. */
  pskLookup?: PskLookup;
}

/**
 * The accept step for ssl/wss listeners: a server-side TLS handshake on the accepted socket
 * (which may have had a Proxy Protocol header taken off already), within handshake_timeout.
 * verify_peer without fail_if_no_peer_cert allows clients without a certificate but refuses
 * one that does not verify (EMQX/OTP behaviour).
 */
export function tlsStep(opts: TlsStepOptions): AcceptStep {
  return (socket, meta) => {
    const settings = opts.holder.current;
    return new Promise<net.Socket>((resolveStep, rejectStep) => {
      let pskIdentity: string | undefined;
      // pskCallback is read by TLSSocket too, though @types/node lists it for servers only.
      const tlsOptions: tls.TLSSocketOptions & Pick<tls.TlsOptions, 'pskCallback'> = {
        isServer: true,
        secureContext: settings.secureContext,
        requestCert: settings.requestCert,
        // Node turns this into SSL_VERIFY_FAIL_IF_NO_PEER_CERT: no certificate, no handshake.
        rejectUnauthorized: settings.requireCert,
      };
      const lookup = opts.pskLookup;
      if (settings.psk && lookup) {
        tlsOptions.pskCallback = (_socket: tls.TLSSocket, identity: string) => {
          const key = lookup(identity);
          if (key === undefined) return null;
          pskIdentity = identity;
          return key;
        };
      }
      const secure = new tls.TLSSocket(socket, tlsOptions);
      let settled = false;
      const finish = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        secure.off('secure', onSecure);
        secure.off('error', onError);
        secure.off('close', onClose);
        if (err) {
          secure.destroy();
          rejectStep(err);
        } else resolveStep(secure);
      };
      const onSecure = () => {
        try {
          fillMeta(meta, secure, settings, pskIdentity);
        } catch (err) {
          return finish(err as Error);
        }
        finish();
      };
      const onError = (err: Error) => finish(new Error(`TLS handshake failed: ${handshakeReason(err)}`));
      const onClose = () => finish(new Error('connection closed during the TLS handshake'));
      const timer = setTimeout(() => finish(new Error(`TLS handshake not completed within ${settings.handshakeTimeoutMs} ms`)), settings.handshakeTimeoutMs);
      secure.once('secure', onSecure);
      secure.once('error', onError);
      secure.once('close', onClose);
    });
  };
}

function handshakeReason(err: Error): string {
  const e = err as Error & { code?: string; reason?: string };
  if (e.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'client sent no certificate (fail_if_no_peer_cert = true)';
  return e.reason ?? e.code ?? e.message;
}

/**
 * After the handshake: check the client certificate the way verify_peer and depth demand,
 * then record protocol, cipher, certificate identity and PSK identity. Throws to refuse.
 */
function fillMeta(meta: ConnectionMeta, secure: tls.TLSSocket, settings: TlsSettings, pskIdentity: string | undefined): void {
  // One getPeerCertificate(true) for both the leaf and the chain: on Node 20 a call to
  // getPeerX509Certificate() first leaves the detailed chain without its intermediates, and
  // depth would then count none (test/listeners/tls.test.ts, "ssl_options.depth").
  const peer = settings.requestCert ? secure.getPeerCertificate(true) : undefined;
  const der = peer?.raw;
  let authorized = false;
  if (peer && der) {
    const error = peerVerifyError(secure);
    if (error) throw new Error(`client certificate refused: ${error}`);
    const intermediates = chainLength(peer) - 2;
    if (intermediates > settings.depth) throw new Error(`client certificate refused: chain has ${intermediates} intermediate CAs, more than depth ${settings.depth}`);
    authorized = true;
  } else if (settings.requireCert && pskIdentity === undefined) {
    throw new Error('client sent no certificate (fail_if_no_peer_cert = true)');
  }
  meta.tls = { protocol: secure.getProtocol(), cipher: secure.getCipher()?.name, authorized: authorized || pskIdentity !== undefined };
  if (der) meta.cert = peerCertificate(der);
  if (pskIdentity !== undefined) meta.pskIdentity = pskIdentity;
}

export function peerCertificate(der: Buffer): PeerCertificate {
  const id = certificateIdentity(der);
  return {
    subject: id.subject,
    ...(id.commonName === undefined ? {} : { commonName: id.commonName }),
    der: id.der,
    pemBody: id.pemBody,
    md5: id.md5,
    fingerprintSha256: id.fingerprintSha256,
    sanDns: id.sanDns,
    sanEmail: id.sanEmail,
    sanUri: id.sanUri,
  };
}

/**
 * OpenSSL's verdict on the client certificate against the listener's CA (and CRL).
 * Node computes it only for sockets owned by a tls.Server, so it is read from the TLSWrap
 * handle here; if that ever disappears the connection is refused (fails closed).
 */
function peerVerifyError(secure: tls.TLSSocket): string | undefined {
  const handle = (secure as unknown as { _handle?: { verifyError?: () => (Error & { code?: string }) | null } })._handle;
  if (typeof handle?.verifyError !== 'function') return 'cannot read the verification result on this Node.js version';
  const err = handle.verifyError();
  return err ? (err.code ?? err.message) : undefined;
}

/** Certificates in the chain, peer first, root (from the listener's CA file) last. */
function chainLength(peer: tls.DetailedPeerCertificate): number {
  let cert: tls.DetailedPeerCertificate | undefined = peer;
  const seen = new Set<string>();
  let n = 0;
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    n++;
    cert = cert.issuerCertificate;
  }
  return n;
}
