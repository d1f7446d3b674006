// CRLs from the certificates' CRL Distribution Points (RFC 5280 §4.2.1.13), for listeners with
// `ssl_options.enable_crl_check = true` and no `crlfile`: EMQX's `crl_cache { refresh_interval,
// http_timeout, capacity }`. One cache per node (src/main.ts); the TLS accept step asks it
// after the handshake, before the connection reaches MQTT or STOMP (listeners/tls.ts).
//
// Fails closed: a CRL that cannot be fetched, parsed or verified refuses the client. A
// certificate whose distribution points name no http/https URL is refused too: nothing else is
// fetched (no LDAP, no file), and no placeholder is ever put into a URL: it comes from the
// certificate as it is.

import http from 'node:http';
import https from 'node:https';
import type { Logger } from 'pino';
import 'reflect-metadata'; // @peculiar/x509 needs a Reflect metadata polyfill before it loads
import * as x509 from '@peculiar/x509';
import { pemBlocks, revocationReason } from './revocation.js';

/** A CRL body larger than this is refused (a CA's CRL of a million entries is ~40 MiB; ours are far smaller). */
export const MAX_CRL_BYTES = 16 * 1024 * 1024;
/** After a failed fetch, clients are refused with the same reason for this long before the next try. */
export const FAILURE_RETRY_MS = 5000;

export interface CrlCacheOptions {
  /** `crl_cache.refresh_interval`: each CRL is fetched again this often. */
  refreshIntervalMs: number;
  /** `crl_cache.http_timeout`: a fetch that has not completed by then fails. */
  httpTimeoutMs: number;
  /** `crl_cache.capacity`: CRLs kept at most; the least recently used goes first. */
  capacity: number;
  logger?: Logger;
  /** Replaces the HTTP fetch (unit tests); must honour the timeout itself. */
  fetch?: (url: URL, timeoutMs: number) => Promise<Buffer>;
}

/** Why a CRL cannot be used; the message names the URL. */
export class CrlUnavailableError extends Error {
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`CRL ${url} cannot be used: ${reason}`);
    this.name = 'CrlUnavailableError';
  }
}

interface Entry {
  readonly url: URL;
  readonly issuer: x509.X509Certificate;
  crl?: x509.X509Crl;
  /** The last fetch's failure, while no usable CRL is held. */
  error?: string;
  retryAt: number;
  inflight?: Promise<void>;
  timer: NodeJS.Timeout;
}

/**
 * Verified CRLs by (distribution point URL, issuer), at most `capacity`, each refreshed every
 * `refresh_interval` and whenever its nextUpdate has passed. A refresh that fails keeps the CRL
 * held while it is current (its nextUpdate not passed); a CRL past its nextUpdate that cannot be
 * replaced refuses clients.
 */
export class CrlCache {
  private readonly entries = new Map<string, Entry>();
  private closed = false;

  constructor(private readonly opts: CrlCacheOptions) {
    if (!(opts.capacity >= 1)) throw new Error('crl_cache.capacity must be at least 1');
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether a CRL (or a failure) for this URL and issuer is held. */
  has(url: string, issuer: x509.X509Certificate): boolean {
    return this.entries.has(key(new URL(url), issuer));
  }

  /** The issuers of the CRLs held, to rebuild a resumed session's chain. */
  knownIssuers(): x509.X509Certificate[] {
    return [...this.entries.values()].map((e) => e.issuer);
  }

  /**
   * The current CRL at `url` issued by `issuer`, verified with the issuer's key (RFC 5280
   * §6.3.3 (f), (g)). Throws CrlUnavailableError.
   */
  async crlFor(url: URL, issuer: x509.X509Certificate): Promise<x509.X509Crl> {
    if (this.closed) throw new CrlUnavailableError(url.href, 'the CRL cache is stopped');
    const k = key(url, issuer);
    let entry = this.entries.get(k);
    if (entry) {
      // Least recently used first: a hit moves the entry to the end of the map's order.
      this.entries.delete(k);
      this.entries.set(k, entry);
    } else {
      entry = this.add(k, url, issuer);
    }
    const now = Date.now();
    const stale = entry.crl ? isPastNextUpdate(entry.crl, now) : entry.error === undefined || now >= entry.retryAt;
    if (stale) await this.refresh(entry);
    if (entry.crl && !isPastNextUpdate(entry.crl, Date.now())) return entry.crl;
    if (entry.crl) throw new CrlUnavailableError(url.href, `expired: nextUpdate ${entry.crl.nextUpdate?.toISOString()} has passed and no newer CRL could be had (${entry.error ?? 'the server sent the same one'})`);
    throw new CrlUnavailableError(url.href, entry.error ?? 'not fetched');
  }

  /** Stops every refresh timer (node stop). */
  close(): void {
    this.closed = true;
    for (const e of this.entries.values()) clearInterval(e.timer);
    this.entries.clear();
  }

  private add(k: string, url: URL, issuer: x509.X509Certificate): Entry {
    while (this.entries.size >= this.opts.capacity) {
      const [oldest, e] = this.entries.entries().next().value as [string, Entry];
      clearInterval(e.timer);
      this.entries.delete(oldest);
    }
    const timer = setInterval(() => void this.refresh(entry), this.opts.refreshIntervalMs);
    timer.unref();
    const entry: Entry = { url, issuer, retryAt: 0, timer };
    this.entries.set(k, entry);
    return entry;
  }

  /** One fetch at a time per entry; callers during a fetch wait for it. */
  private refresh(entry: Entry): Promise<void> {
    entry.inflight ??= this.fetchVerified(entry).finally(() => {
      entry.inflight = undefined;
    });
    return entry.inflight;
  }

  private async fetchVerified(entry: Entry): Promise<void> {
    let crl: x509.X509Crl;
    try {
      const body = await (this.opts.fetch ?? httpGet)(entry.url, this.opts.httpTimeoutMs);
      crl = parseCrl(body);
      await verifyCrl(crl, entry.issuer);
    } catch (err) {
      const reason = (err as Error).message;
      entry.error = reason;
      entry.retryAt = Date.now() + Math.min(FAILURE_RETRY_MS, this.opts.refreshIntervalMs);
      // A held CRL that is still current stays in use; otherwise clients are refused meanwhile.
      if (entry.crl && isPastNextUpdate(entry.crl, Date.now())) entry.crl = undefined;
      this.opts.logger?.warn({ url: entry.url.href, issuer: entry.issuer.subject, reason, kept: entry.crl !== undefined }, 'CRL cannot be fetched or verified');
      return;
    }
    entry.crl = crl;
    entry.error = undefined;
  }
}

function key(url: URL, issuer: x509.X509Certificate): string {
  return `${url.href}\n${Buffer.from(issuer.rawData).toString('base64')}`;
}

function isPastNextUpdate(crl: x509.X509Crl, now: number): boolean {
  return crl.nextUpdate !== undefined && crl.nextUpdate.getTime() < now;
}

/** A CRL in DER, or PEM (`X509 CRL`, one block) as many CAs publish it. */
export function parseCrl(body: Buffer): x509.X509Crl {
  const text = body.subarray(0, 64).toString('latin1');
  try {
    if (text.includes('-----BEGIN')) {
      const blocks = pemBlocks(body.toString('latin1'), 'X509 CRL');
      if (blocks.length !== 1) throw new Error(`${blocks.length} "BEGIN X509 CRL" blocks, expected one`);
      return new x509.X509Crl(blocks[0]!);
    }
    return new x509.X509Crl(new Uint8Array(body));
  } catch (err) {
    throw new Error(`not a CRL: ${(err as Error).message}`);
  }
}

const DELTA_CRL_INDICATOR = '2.5.29.27';

/**
 * RFC 5280 §6.3.3: the CRL's issuer is the certificate's issuer (b)(1); the issuer may sign
 * CRLs (keyUsage cRLSign, (f), §4.2.1.3); the signature verifies with its public key (g); and
 * the CRL is not from the future (§5.1.2.4). Delta CRLs (§5.2.4) are not supported.
 */
export async function verifyCrl(crl: x509.X509Crl, issuer: x509.X509Certificate): Promise<void> {
  if (crl.issuer !== issuer.subject) throw new Error(`issued by "${crl.issuer}", not by the certificate's issuer "${issuer.subject}"`);
  const usage = issuer.getExtension(x509.KeyUsagesExtension);
  if (usage && (usage.usages & x509.KeyUsageFlags.cRLSign) === 0) throw new Error(`issuer "${issuer.subject}" may not sign CRLs (keyUsage without cRLSign)`);
  if (crl.getExtension(DELTA_CRL_INDICATOR)) throw new Error('a delta CRL (not supported)');
  let ok: boolean;
  try {
    ok = await crl.verify({ publicKey: issuer });
  } catch (err) {
    throw new Error(`signature cannot be checked: ${(err as Error).message}`);
  }
  if (!ok) throw new Error(`signature does not verify with the key of "${issuer.subject}"`);
  if (crl.thisUpdate.getTime() > Date.now()) throw new Error(`not yet valid (thisUpdate ${crl.thisUpdate.toISOString()})`);
}

/** GET over http or https within `timeoutMs`; 200 only, no redirects, at most MAX_CRL_BYTES. */
export function httpGet(url: URL, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? https.get : url.protocol === 'http:' ? http.get : undefined;
    if (!get) return reject(new Error(`scheme ${url.protocol} is not fetched (only http and https)`));
    let done = false;
    const finish = (err: Error | undefined, body?: Buffer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      if (err) reject(err);
      else resolve(body!);
    };
    const timer = setTimeout(() => finish(new Error(`no complete answer within http_timeout (${timeoutMs} ms)`)), timeoutMs);
    const req = get(url, { headers: { accept: 'application/pkix-crl, application/x-pem-file, */*' } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return finish(new Error(`HTTP ${res.statusCode ?? '?'} ${res.statusMessage ?? ''}`.trim()));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_CRL_BYTES) return finish(new Error(`body larger than ${MAX_CRL_BYTES} bytes`));
        chunks.push(c);
      });
      res.once('end', () => finish(undefined, Buffer.concat(chunks)));
      res.once('error', (err) => finish(err));
    });
    req.once('error', (err: NodeJS.ErrnoException) => finish(new Error(err.code ?? err.message)));
  });
}

/**
 * The CRL distribution point URIs of a certificate (RFC 5280 §4.2.1.13, fullName
 * uniformResourceIdentifier): those that are fetched (http, https) and the others.
 * `present` is false when the certificate has no such extension.
 */
export function distributionPoints(cert: x509.X509Certificate): { present: boolean; http: URL[]; other: string[] } {
  const ext = cert.getExtension(x509.CRLDistributionPointsExtension);
  if (!ext) return { present: false, http: [], other: [] };
  const fetched: URL[] = [];
  const other: string[] = [];
  for (const dp of ext.distributionPoints) {
    for (const name of dp.distributionPoint?.fullName ?? []) {
      const uri = name.uniformResourceIdentifier;
      if (uri === undefined) continue;
      let url: URL | undefined;
      try {
        url = new URL(uri);
      } catch {
        url = undefined;
      }
      if (url && (url.protocol === 'http:' || url.protocol === 'https:')) fetched.push(url);
      else other.push(uri);
    }
  }
  return { present: true, http: fetched, other };
}

/**
 * Why the chain is refused, or undefined: for each certificate but a self-signed last one (the
 * trust anchor), when it has a CRL distribution point, its issuer's CRL from there must be
 * had, verified, and must not list it (RFC 5280 §6.3.3). `chain[i + 1]` issued `chain[i]`.
 */
export async function chainRevocationProblem(chain: readonly x509.X509Certificate[], cache: CrlCache): Promise<string | undefined> {
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    const issuer = chain[i + 1];
    if (!issuer && i > 0 && cert.subject === cert.issuer) break; // the trust anchor
    const dps = distributionPoints(cert);
    if (!dps.present) continue;
    const what = i === 0 ? 'client certificate' : `CA "${cert.subject}"`;
    if (dps.http.length === 0) {
      return `${what}: CRL distribution point ${dps.other.map((u) => JSON.stringify(u)).join(', ') || '(no URI)'} is not http or https; the certificate cannot be checked`;
    }
    if (!issuer) return `${what}: issuer "${cert.issuer}" unknown, its CRL cannot be checked`;
    const failures: string[] = [];
    let crl: x509.X509Crl | undefined;
    for (const url of dps.http) {
      try {
        crl = await cache.crlFor(url, issuer);
        break;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    if (!crl) return `${what}: ${failures.join('; ')}`;
    const revoked = revocationReason(crl, cert);
    if (revoked) return `${what} ${revoked}`;
  }
  return undefined;
}

/**
 * A resumed session's chain: the leaf, then issuers found among `candidates` (by name and
 * signature) up to a self-signed one or until none is found. OpenSSL keeps only the leaf
 * with a session, so the intermediates come from the listener's cacertfile and the issuers
 * of the CRLs the cache holds.
 */
export async function chainFromCandidates(leaf: x509.X509Certificate, candidates: readonly x509.X509Certificate[]): Promise<x509.X509Certificate[]> {
  const chain = [leaf];
  let cert = leaf;
  while (chain.length <= 16 && cert.subject !== cert.issuer) {
    let found: x509.X509Certificate | undefined;
    for (const c of candidates) {
      if (c.subject !== cert.issuer || chain.some((x) => x.equal(c))) continue;
      if (await cert.verify({ publicKey: c, signatureOnly: true }).catch(() => false)) {
        found = c;
        break;
      }
    }
    if (!found) break;
    chain.push(found);
    cert = found;
  }
  return chain;
}
