// TLS for ssl and wss listeners (EMQX reference §11.3, §11.5): the secure context built from
// `ssl_options`, the per-listener holder that certificate reloads swap, and the accept step
// that runs the server handshake on an accepted socket and records who the peer is.

import { EventEmitter } from 'node:events';
import { constants as cryptoConstants, createHash, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import tls from 'node:tls';
import type net from 'node:net';
import type { Logger } from 'pino';
import type { SslOptions } from '../src/config/schema.js';
import { parseDuration } from '../src/config/hocon/units.js';
import { certificateIdentity } from '../src/transport/identity/index.js';
import { casWithoutCrl, CrlSet, pemBlocks } from './revocation.js';
import { chainFromCandidates, chainRevocationProblem, type CrlCache } from './crl-cache.js';
import 'reflect-metadata'; // @peculiar/x509 needs a Reflect metadata polyfill before it loads
import * as x509 from '@peculiar/x509';
import type { AcceptStep } from './accept-step.js';
import { DEFAULT_TLS_FILES } from './default-tls.js';
import { TlsSettingsError } from '../src/transport/errors.js';
import type { ConnectionMeta, PeerCertificate } from '../src/transport/types.js';

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
  /** `enable_crl_check` with `crlfile`: the CRLs a resumed session's leaf is checked against. */
  crls?: CrlSet;
  /**
   * `enable_crl_check` without `crlfile`: CRLs come from the certificates' distribution points
   * (the node's CrlCache), checked after the handshake. `cas` are the certificates of
   * `cacertfile`, to rebuild a resumed session's chain.
   */
  distributionPoints?: { cas: readonly x509.X509Certificate[] };
  /** `reuse_sessions` (EMQX default true): RFC 5077 / RFC 8446 §2.2 resumption offered. */
  reuseSessions: boolean;
  /** `client_renegotiation` (EMQX default true): false refuses RFC 5246 §7.4.1.2 renegotiation. */
  clientRenegotiation: boolean;
}

/**
 * How long a resumable session (a TLS 1.2 ticket, RFC 5077, or a TLS 1.3 ticket, RFC 8446
 * §4.6.1) lives: the ticket lifetime hint the server sends and the age OpenSSL accepts.
 */
export const SESSION_LIFETIME_S = 7200;
/**
 * How often a listener's ticket keys are replaced. A ticket made with the previous keys no
 * longer resumes (OpenSSL, through node, holds one key set per context): its client does one
 * full handshake, then resumes again. So a rotation costs each client at most one full
 * handshake, and a stolen key opens sessions of at most this long.
 */
export const TICKET_KEY_ROTATION_MS = SESSION_LIFETIME_S * 1000;
/** AES and HMAC keys plus a key name, in node's `ticketKeys` layout. */
const TICKET_KEYS_BYTES = 48;

export function newTicketKeys(): Buffer {
  return randomBytes(TICKET_KEYS_BYTES);
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
export function buildTlsSettings(listenerId: string, ssl: SslOptions, baseDir: string, ticketKeys: Buffer = newTicketKeys()): TlsSettings {
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
  let crls: CrlSet | undefined;
  let distributionPoints: TlsSettings['distributionPoints'];
  if (ssl.enable_crl_check && ssl.crlfile === undefined) {
    // EMQX: CRLs from the certificates' distribution points (root `crl_cache`). OpenSSL gets no
    // CRL, so it checks none; tlsStep checks the chain against the node's CrlCache instead.
    distributionPoints = { cas: pemBlocks(ca!.toString('latin1'), 'CERTIFICATE').map((pem) => new x509.X509Certificate(pem)) };
  } else if (ssl.enable_crl_check) {
    // Every CRL of the file, as an array: node (OpenSSL's PEM reader) takes only the first
    // block of a single buffer, and chain checks need one CRL per CA (RFC 5280 §6.3.3).
    try {
      crls = CrlSet.parse(read('crlfile')!.toString('latin1'));
    } catch (err) {
      return fail(`ssl_options.crlfile: ${(err as Error).message}`);
    }
    options.crl = [...crls.pems];
    const missing = casWithoutCrl(ca!.toString('latin1'), crls);
    if (missing.length > 0) {
      fail(`ssl_options.crlfile has no CRL for ${missing.map((s) => `"${s}"`).join(', ')} of ssl_options.cacertfile: every client would be refused (UNABLE_TO_GET_CRL)`);
    }
  }
  const reuseSessions = ssl.reuse_sessions ?? true;
  const clientRenegotiation = ssl.client_renegotiation ?? true;
  // Without a session id context OpenSSL refuses to resume a session on a listener that asks
  // for client certificates (internal_error alert). It also binds a session to its listener
  // and its trust settings: a session made under another CA or depth is not resumed (a full
  // handshake instead). CRLs are left out on purpose; resumed sessions are checked against
  // the current CRLs (fillMeta for crlfile, tlsStep for distribution points), so a CRL update
  // costs no client a full handshake.
  options.sessionIdContext = sessionIdContext(listenerId, ssl, ca);
  let secureOptions = 0;
  if (reuseSessions) {
    options.ticketKeys = ticketKeys;
    options.sessionTimeout = SESSION_LIFETIME_S;
  } else {
    // No tickets (RFC 5077; in TLS 1.3 OpenSSL then issues stateful tickets, RFC 8446 §4.6.1,
    // which node's context never caches: NO_INTERNAL), so every handshake is a full one.
    secureOptions |= cryptoConstants.SSL_OP_NO_TICKET;
  }
  // OpenSSL answers a ClientHello on an established TLS 1.2 connection with a no_renegotiation
  // warning (RFC 5246 §7.2.2) and keeps the connection; TLS 1.3 has no renegotiation at all.
  if (!clientRenegotiation) secureOptions |= cryptoConstants.SSL_OP_NO_RENEGOTIATION;
  if (secureOptions !== 0) options.secureOptions = secureOptions;

  // Name the file when a certificate does not parse; OpenSSL's own error ("no start line") does not.
  const where = (field: 'certfile' | 'cacertfile') => {
    const v = ssl[field] ?? DEFAULT_TLS_FILES[field];
    return v.includes('-----BEGIN') ? `ssl_options.${field} (inline PEM)` : `ssl_options.${field} ${resolve(baseDir, v)}`;
  };
  for (const [field, pem] of [['certfile', cert], ['cacertfile', ca]] as const) {
    if (pem === undefined) continue;
    const blocks = pemBlocks(pem.toString('latin1'), 'CERTIFICATE');
    if (blocks.length === 0) fail(`${where(field)}: no "BEGIN CERTIFICATE" block`);
    for (const [i, block] of blocks.entries()) {
      try {
        new X509Certificate(block);
      } catch (err) {
        fail(`${where(field)}: certificate ${i + 1} cannot be read: ${(err as Error).message}`);
      }
    }
  }

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
    ...(crls ? { crls } : {}),
    ...(distributionPoints ? { distributionPoints } : {}),
    reuseSessions,
    clientRenegotiation,
  };
}

/** At most 32 bytes (SSL_MAX_SID_CTX_LENGTH): the listener and what a verification depended on. */
function sessionIdContext(listenerId: string, ssl: SslOptions, ca: Buffer | undefined): string {
  const h = createHash('sha256').update(listenerId).update('\0').update(`${ssl.verify}/${ssl.fail_if_no_peer_cert}/${ssl.depth}`).update('\0');
  if (ca) h.update(ca);
  return h.digest('hex').slice(0, 32);
}

function describeOpenSslError(err: unknown): string {
  const e = err as { message?: string; code?: string; reason?: string };
  const text = e.reason ?? e.message ?? String(err);
  if (/bad decrypt|bad password|interrupted or cancelled|PROCESSING_ERROR/i.test(text)) return 'the key cannot be decrypted (wrong or missing ssl_options.password)';
  if (/key values mismatch/i.test(text)) return 'keyfile does not belong to certfile';
  return text;
}

/**
 * One listener's current TLS settings; a reload swaps them for the connections that follow.
 * Every socket of the listener shares the one SecureContext, so a ticket issued on one
 * connection resumes on any other. The holder owns the ticket keys: a reload keeps them (the
 * new context gets the same keys, so sessions survive a certificate or CRL update unless the
 * trust settings changed), and a timer replaces them every TICKET_KEY_ROTATION_MS.
 */
export class TlsSettingsHolder {
  /** TLS 1.2 sessions by ID, for clients without tickets. */
  readonly sessions: SessionIdCache;
  private keys: Buffer;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private value: TlsSettings,
    ticketKeys: Buffer,
    rotateEveryMs = TICKET_KEY_ROTATION_MS,
  ) {
    this.sessions = new SessionIdCache();
    this.keys = ticketKeys;
    this.timer = setInterval(() => this.rotateTicketKeys(), rotateEveryMs);
    this.timer.unref();
  }

  /** Builds a listener's settings with fresh ticket keys and holds them. */
  static build(listenerId: string, ssl: SslOptions, baseDir: string): TlsSettingsHolder {
    const keys = newTicketKeys();
    return new TlsSettingsHolder(buildTlsSettings(listenerId, ssl, baseDir, keys), keys);
  }

  get current(): TlsSettings {
    return this.value;
  }

  /** The keys the next settings must be built with (see `replace`). */
  get ticketKeys(): Buffer {
    return this.keys;
  }

  /** Takes settings built with `ticketKeys`. */
  replace(settings: TlsSettings): void {
    this.value = settings;
  }

  /** New ticket keys for the current context (what node's tls.Server.setTicketKeys does). */
  rotateTicketKeys(): void {
    const keys = newTicketKeys();
    (this.value.secureContext.context as { setTicketKeys(keys: Buffer): void }).setTicketKeys(keys);
    this.keys = keys;
  }

  /** Stops the rotation (the listener is gone). */
  close(): void {
    clearInterval(this.timer);
    this.sessions.clear();
  }
}

/**
 * TLS 1.2 resumption by session ID (RFC 5246 §7.4.1.2) for clients that send no ticket: node's
 * contexts keep no server session cache of their own (SSL_SESS_CACHE_NO_INTERNAL) and ask their
 * `server` for sessions through the `newSession` / `resumeSession` events, as tls.Server does
 * for its users. One cache per listener, bounded, oldest first out, entries kept for the
 * session lifetime. Tickets (RFC 5077, RFC 8446 §4.6.1) do not go through it.
 */
export class SessionIdCache extends EventEmitter {
  private readonly entries = new Map<string, { data: Buffer; expiresAt: number }>();

  constructor(private readonly capacity = SESSION_ID_CACHE_CAPACITY) {
    super();
    this.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      const key = id.toString('hex');
      this.entries.delete(key);
      this.entries.set(key, { data, expiresAt: Date.now() + SESSION_LIFETIME_S * 1000 });
      if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
      done();
    });
    this.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      const key = id.toString('hex');
      const entry = this.entries.get(key);
      if (entry && entry.expiresAt <= Date.now()) this.entries.delete(key);
      done(null, entry && entry.expiresAt > Date.now() ? entry.data : null);
    });
    // Handshake errors reach a TLSSocket's `server` as 'tlsClientError'; the accept step logs them.
    this.on('tlsClientError', noop);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}

/** Sessions a listener remembers by ID (a session is about 1–2 KiB). */
export const SESSION_ID_CACHE_CAPACITY = 10_000;

function noop(): void {}

export interface TlsStepOptions {
  holder: TlsSettingsHolder;
  /** Logs TLS errors on established connections (once per connection). */
  logger?: Logger;
  /** Present when psk_authentication is enabled. */
  pskLookup?: PskLookup;
  /** The node's CRLs from distribution points; without it such a listener refuses every client certificate. */
  crlCache?: CrlCache;
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
      // The listener's session-ID cache (see SessionIdCache): node reads `server` for its events only.
      if (settings.reuseSessions) (tlsOptions as { server?: unknown }).server = opts.holder.sessions;
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
        let chain: Buffer[];
        try {
          chain = fillMeta(meta, secure, settings, pskIdentity);
        } catch (err) {
          return finish(err as Error);
        }
        guardEstablished(secure, meta, opts.logger);
        if (!settings.distributionPoints || chain.length === 0) return finish();
        // The handshake is done but nothing is handed on until the chain's CRLs say so; the
        // handshake timer still runs, so a slow CRL server cannot hold the connection longer.
        distributionPointProblem(chain, meta.tls?.resumed === true, settings.distributionPoints.cas, opts.crlCache).then(
          (problem) => finish(problem === undefined ? undefined : new Error(`client certificate refused${meta.tls?.resumed ? ' on session resumption' : ''}: ${problem}`)),
          (err: Error) => finish(new Error(`client certificate refused: revocation cannot be checked: ${err.message}`)),
        );
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

/**
 * A TLSSocket that no tls.Server owns never "releases control" (node's _tls_wrap), so every
 * TLS error after the handshake is only emitted as the internal '_tlsError' event and then
 * dropped: a corrupt record left the connection open, and node's renegotiation limit
 * (tls.CLIENT_RENEG_LIMIT handshakes per tls.CLIENT_RENEG_WINDOW seconds, checked in
 * onhandshakestart, which runs for every server-side TLSSocket) never closed anything.
 * Here such an error closes the connection at once and is logged once.
 */
function guardEstablished(secure: tls.TLSSocket, meta: ConnectionMeta, logger: Logger | undefined): void {
  secure.once('_tlsError', (err: Error & { code?: string }) => {
    const reason =
      err.code === 'ERR_TLS_SESSION_ATTACK'
        ? `client renegotiated more than ${tls.CLIENT_RENEG_LIMIT} times in ${tls.CLIENT_RENEG_WINDOW} s`
        : `TLS error: ${handshakeReason(err)}`;
    logger?.info({ listener: meta.listenerId, peer: `${meta.peerhost}:${meta.peerport}`, reason }, 'connection closed');
    secure.destroy();
  });
}

function handshakeReason(err: Error): string {
  const e = err as Error & { code?: string; reason?: string };
  if (e.code === 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE') return 'client sent no certificate (fail_if_no_peer_cert = true)';
  return e.reason ?? e.code ?? e.message;
}

/**
 * RFC 5280 §6.3 against CRLs from distribution points (listeners/crl-cache.ts). A full
 * handshake's chain is the one OpenSSL verified; a resumed session has only its leaf, whose
 * issuers are found again among the listener's CAs and the CRL issuers the cache holds.
 */
async function distributionPointProblem(chainDer: readonly Buffer[], resumed: boolean, cas: readonly x509.X509Certificate[], cache: CrlCache | undefined): Promise<string | undefined> {
  if (!cache) return 'no CRL cache on this node (enable_crl_check without crlfile)';
  const certs = chainDer.map((der) => new x509.X509Certificate(new Uint8Array(der)));
  const chain = resumed ? await chainFromCandidates(certs[0]!, [...cas, ...cache.knownIssuers()]) : certs;
  return chainRevocationProblem(chain, cache);
}

/**
 * After the handshake: check the client certificate the way verify_peer and depth demand,
 * then record protocol, cipher, certificate identity and PSK identity. Throws to refuse.
 * Returns the verified peer chain (DER, leaf first; only the leaf on a resumed session), or
 * nothing when no certificate was presented.
 */
function fillMeta(meta: ConnectionMeta, secure: tls.TLSSocket, settings: TlsSettings, pskIdentity: string | undefined): Buffer[] {
  // One getPeerCertificate(true) for both the leaf and the chain: on Node 20 a call to
  // getPeerX509Certificate() first leaves the detailed chain without its intermediates, and
  // depth would then count none (test/listeners/tls.test.ts, "ssl_options.depth").
  const peer = settings.requestCert ? secure.getPeerCertificate(true) : undefined;
  const der = peer?.raw;
  const resumed = secure.isSessionReused();
  let authorized = false;
  let chain: Buffer[] = [];
  if (peer && der) {
    // On a resumed session this is the verdict stored with the session at its full handshake.
    const error = peerVerifyError(secure);
    if (error) throw new Error(`client certificate refused: ${error}`);
    if (resumed) {
      // A resumed session carries the leaf but not the chain (OpenSSL keeps only the peer
      // certificate in a session), and OpenSSL skips verification (RFC 5077 §3.1, RFC 8446
      // §2.2). depth was checked at the full handshake and is part of the session id context;
      // revocation may have changed since, so the leaf is checked against today's CRLs.
      const revoked = settings.crls?.revokedLeaf(der);
      if (revoked) throw new Error(`client certificate refused on session resumption: ${revoked}`);
    } else {
      const intermediates = chainLength(peer) - 2;
      if (intermediates > settings.depth) throw new Error(`client certificate refused: chain has ${intermediates} intermediate CAs, more than depth ${settings.depth}`);
    }
    authorized = true;
    chain = resumed ? [der] : chainDer(peer);
  } else if (settings.requireCert && pskIdentity === undefined) {
    throw new Error('client sent no certificate (fail_if_no_peer_cert = true)');
  }
  meta.tls = { protocol: secure.getProtocol(), cipher: secure.getCipher()?.name, authorized: authorized || pskIdentity !== undefined, resumed };
  if (der) meta.cert = peerCertificate(der);
  if (pskIdentity !== undefined) meta.pskIdentity = pskIdentity;
  return chain;
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
    ...(id.notUtf8.length > 0 ? { notUtf8: id.notUtf8 } : {}),
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
  return chainDer(peer).length;
}

/** The DER of each certificate of the verified chain, peer first (a self-issued root once). */
function chainDer(peer: tls.DetailedPeerCertificate): Buffer[] {
  let cert: tls.DetailedPeerCertificate | undefined = peer;
  const seen = new Set<string>();
  const out: Buffer[] = [];
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(cert.raw);
    cert = cert.issuerCertificate;
  }
  return out;
}
