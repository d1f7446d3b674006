import type { Logger } from 'pino';
import type { ConnectionMeta } from '../transport/types.js';
import type { AuthenticationService, AuthnDecision, ClientCredential } from '../authn/types.js';
import { renderMountpoint } from '../authn/mountpoint.js';
import type { AuthorizationService, AuthzAction, AuthzClient, AuthzDecision, AuthzRequest, RulesScope } from '../authz/types.js';
import { KeyedMetrics } from '../metrics/counters.js';
import { ClientSession, ConnectedClients } from './session.js';
import { identify } from './identity.js';
import { mountFilter } from './mountpoint.js';
import { AdmissionPacer } from './pacer.js';
import type { AccessConnection, DisconnectReason, HeldSubscription, Refusal, RefusalReason, Revocation } from './connection.js';
import type { AccessObserver, Admission, AdmissionCheck, CertificateFields, ConnectRequest, MqttIdentitySettings } from './types.js';

export interface AccessServiceDeps {
  logger: Logger;
  /** The current authentication service (chains chosen by listener and protocol inside). */
  authn: () => AuthenticationService;
  /** The current authorization service. */
  authz: () => AuthorizationService;
  /** Certificate and PSK fields for `peer_cert_as_*` and `${ClientInfo.cn}` (injected: no transport code here). */
  certificates: CertificateFields;
  /** The current `mqtt.*` identity settings (MQTT connections only). */
  mqtt: () => MqttIdentitySettings;
  /** Run in order before authentication, for every protocol; the first refusal wins (issue 15). */
  checks?: readonly AdmissionCheck[];
  /** How admissions share the event loop with connected clients (default: `ADMISSION_BUDGET_MS` per turn). */
  pacer?: AdmissionPacer;
}

/** Refusals counted per listener: the domain reasons, and `protocol` for the fronts' own (not a CONNECT, malformed, late). */
export type RefusalCounter = RefusalReason | 'protocol';
const REFUSAL_COUNTERS: readonly RefusalCounter[] = Object.keys({
  bad_username_or_password: 1,
  not_authorized: 1,
  banned: 1,
  bad_authentication_method: 1,
  server_unavailable: 1,
  server_busy: 1,
  unspecified_error: 1,
  client_identifier_not_valid: 1,
  bad_mountpoint: 1,
  protocol: 1,
} satisfies Record<RefusalCounter, 1>) as RefusalCounter[];
const DENIAL_COUNTERS: readonly AuthzAction[] = ['publish', 'subscribe'];

/** The answer to an authorization question: the topic as it goes to the bus (mountpoint applied), or the denial. */
export type TopicVerdict = string | AuthzDecision;

const SERVICE_FAILED: AuthnDecision = Object.freeze({ allowed: false, reason: 'server_unavailable' });
const AUTHZ_FAILED: AuthzDecision = Object.freeze({ result: 'deny', from: 'error', reason: 'authorization failed' });
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Rule changes waiting for the next re-check of subscriptions (coalesced). */
interface PendingRecheck {
  everyone: boolean;
  readonly clientids: Set<string>;
  readonly usernames: Set<string>;
  done?: Promise<number>;
}

/**
 * The one access path every protocol front calls (ARCHITECTURE.md): admission checks →
 * credential (certificate ids, `use_username_as_clientid`, `clientinfo_override`) →
 * authentication chain → mountpoint → the client's authorization view; then, while the client
 * is connected, its expiry and every authorization question. It logs each refusal and each
 * denial once, and counts them per listener. The fronts keep their frames and codes.
 *
 * Synchronous fast path: when authentication decides at once (anonymous access, a digest in
 * the built-in database) `admit` answers without a promise, and `authorize` answers without
 * one, allocating nothing when the authorizer answers from memory (it is asked with one
 * request object, refilled each time).
 */
export class AccessService {
  private readonly checks: readonly AdmissionCheck[];
  private readonly observers: AccessObserver[] = [];
  /** Connected clients of every protocol, for expiry and for disconnecting by id or predicate. */
  private readonly clients = new ConnectedClients();
  readonly refusals = new KeyedMetrics<RefusalCounter>(REFUSAL_COUNTERS);
  readonly denials = new KeyedMetrics<AuthzAction>(DENIAL_COUNTERS);
  /** The request every authorization question is asked with (the authorizer copies it if it answers later). */
  private readonly request: AuthzRequest = { action: 'publish', topic: '', qos: 0, retain: false };
  /** Rule changes not re-checked yet: one run per turn of the event loop takes them all. */
  private pendingRecheck: PendingRecheck | undefined = undefined;

  /** Admissions get a time budget per turn of the event loop; a burst waits for later turns (pacer.ts). */
  readonly pacer: AdmissionPacer;

  constructor(private readonly deps: AccessServiceDeps) {
    this.checks = deps.checks ?? [];
    this.pacer = deps.pacer ?? new AdmissionPacer();
  }

  /**
   * Decides about a connecting client. A refusal is answered through `connection.refuse`,
   * logged and counted before this returns; an admitted client gets its session, and the front
   * calls `connected` once the protocol has accepted it (MQTT CONNACK, STOMP CONNECTED).
   * During a burst of connections the admission may wait a few turns of the event loop
   * (`AdmissionPacer`): the answer is then a promise, as for a chain that waits for a backend;
   * a connection closed meanwhile gets `undefined`, without a decision.
   */
  admit(connection: AccessConnection, meta: ConnectionMeta, request: ConnectRequest): Admission | Promise<Admission> {
    if (this.pacer.startNow()) return this.admitNow(connection, meta, request);
    return new Promise<Admission>((resolve, reject) => {
      this.pacer.later(meta.peerhost, () => {
        if (connection.closed) return resolve(undefined);
        try {
          resolve(this.admitNow(connection, meta, request));
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  private admitNow(connection: AccessConnection, meta: ConnectionMeta, request: ConnectRequest): Admission | Promise<Admission> {
    const credential = identify(meta, request, this.deps);
    if ('reason' in credential) return this.refuse(connection, meta, request.clientid || undefined, request.username, credential);
    const checks = this.checks;
    for (let i = 0; i < checks.length; i++) {
      const check = checks[i]!;
      const refusal = check.check(credential);
      if (refusal) return this.refuse(connection, meta, credential.clientid, credential.username, refusal.check ? refusal : { ...refusal, check: check.name });
    }
    let answer: AuthnDecision | Promise<AuthnDecision>;
    try {
      const service = this.deps.authn();
      answer = service.decide ? service.decide(credential) : service.authenticate(credential);
    } catch (err) {
      answer = this.authnFailed(meta, err);
    }
    if (answer instanceof Promise) {
      return answer.then(
        (decision) => this.conclude(connection, meta, credential, decision),
        (err: unknown) => this.conclude(connection, meta, credential, this.authnFailed(meta, err)),
      );
    }
    return this.conclude(connection, meta, credential, answer);
  }

  /**
   * A dry run of `admit` up to authentication, for the explain endpoint: the credential the
   * identity rules make of this connection and request, or the refusal of the identity rules or
   * of the first admission check that would refuse (named in `check`). Nothing is answered,
   * logged or counted.
   */
  explainAdmission(meta: ConnectionMeta, request: ConnectRequest): ClientCredential | Refusal {
    const credential = identify(meta, request, this.deps);
    if ('reason' in credential) return credential;
    for (const check of this.checks) {
      const refusal = check.explain?.(credential);
      if (refusal) return refusal.check ? refusal : { ...refusal, check: check.name };
    }
    return credential;
  }

  /** An admitted client the protocol accepted: its expiry is armed and it can be disconnected by the node. */
  connected(session: ClientSession): void {
    this.clients.add(session);
    const expireAt = session.decision.expireAt;
    if (expireAt === undefined) return;
    const timer = setTimeout(() => {
      session.expiry = undefined;
      if (!session.listed) return;
      this.deps.logger.info({ listener: session.meta.listenerId, clientid: session.authz.clientid }, 'authentication expired: disconnecting');
      session.connection.disconnect('authentication_expired');
    }, Math.min(Math.max(0, expireAt - Date.now()), MAX_TIMER_MS));
    timer.unref();
    session.expiry = timer;
  }

  /** A connected client's connection ended (any reason). Safe to call for a client never connected. */
  disconnected(session: ClientSession): void {
    if (session.expiry) {
      clearTimeout(session.expiry);
      session.expiry = undefined;
    }
    if (!this.clients.delete(session)) return;
    for (const observer of this.observers) {
      if (observer.disconnected) this.notify(() => observer.disconnected!(session));
    }
  }

  /**
   * Ends every connected client `match` selects, on every protocol (issue 15: a new banned
   * entry kicks a connected client; MQTT 5 DISCONNECT 0x8A, STOMP ERROR then close). Returns
   * how many were asked to go.
   */
  disconnectWhere(match: (client: AuthzClient) => boolean, reason: DisconnectReason): number {
    let count = 0;
    for (const session of this.clients.snapshot()) {
      if (!match(session.authz)) continue;
      this.deps.logger.info({ listener: session.meta.listenerId, clientid: session.authz.clientid, reason }, 'disconnecting client');
      // It stays registered until its front reports the close (`disconnected`).
      session.connection.disconnect(reason);
      count += 1;
    }
    return count;
  }

  /** `disconnectWhere` for one client id. */
  disconnectClient(clientid: string, reason: DisconnectReason): number {
    return this.disconnectWhere((client) => client.clientid === clientid, reason);
  }

  /** Is a client with this id connected, on any protocol? */
  isConnected(clientid: string): boolean {
    for (const session of this.clients.snapshot()) if (session.authz.clientid === clientid) return true;
    return false;
  }

  /** Connected clients, every protocol. */
  get connectedCount(): number {
    return this.clients.size;
  }

  /** Registers an observer of the access path (issue 15); returns its removal. */
  observe(observer: AccessObserver): () => void {
    this.observers.push(observer);
    return () => {
      const i = this.observers.indexOf(observer);
      if (i >= 0) this.observers.splice(i, 1);
    };
  }

  /**
   * May this client do this? One place for MQTT (PUBLISH, SUBSCRIBE) and STOMP (SEND, SUBSCRIBE):
   * asks the authorization service with the topic as the client sent it (§8.2), logs a denial
   * once and counts it, and answers the topic with the client's mountpoint applied, or the
   * denial. No promise and no allocation when the authorizer answers from memory (superuser,
   * cache hit, file and built-in rules, no sources).
   */
  authorize(session: ClientSession, action: AuthzAction, topic: string, qos: 0 | 1 | 2, retain: boolean): TopicVerdict | Promise<TopicVerdict> {
    const request = this.request;
    request.action = action;
    request.topic = topic;
    request.qos = qos;
    request.retain = retain;
    let answer: AuthzDecision | Promise<AuthzDecision>;
    try {
      answer = this.deps.authz().authorize(session.authz, request);
    } catch (err) {
      answer = this.authzFailed(session, err);
    }
    if (answer instanceof Promise) {
      // The shared request is refilled by the next question: a later answer gets its own copy.
      const asked: AuthzRequest = { action, topic, qos, retain };
      return answer.then(
        (decision) => this.authorized(session, asked, decision),
        (err: unknown) => this.authorized(session, asked, this.authzFailed(session, err)),
      );
    }
    return this.authorized(session, request, answer);
  }

  /**
   * Beyond EMQX (issue 16 point 7): the authorization rules of `scope` changed (the authorizer's
   * `onRulesChanged`). Every connected client, of every protocol, that `scope` names (its client
   * id, its username, or anyone without a scope) has each subscription it holds asked again as
   * a SUBSCRIBE with the same filter and QoS; one denied now is removed by its front
   * (`SubscriptionHolder.revoke`: MQTT stops delivering, or disconnects with
   * `deny_action = disconnect`; STOMP ERROR then close) and logged once (`subscription revoked`:
   * listener, client, filter, `from`, rule, outcome). A failing authorization service denies
   * (fails closed). Runs on the next turn of the event loop, taking every change made
   * meanwhile in one pass; resolves with the number of subscriptions revoked by that pass.
   */
  recheckSubscriptions(scope?: RulesScope): Promise<number> {
    let pending = this.pendingRecheck;
    if (pending === undefined) {
      const next: PendingRecheck = { everyone: false, clientids: new Set(), usernames: new Set() };
      next.done = new Promise<number>((resolve) => {
        setImmediate(() => {
          this.pendingRecheck = undefined;
          resolve(this.recheck(next));
        });
      });
      pending = this.pendingRecheck = next;
    }
    if (scope === undefined) pending.everyone = true;
    else if ('clientid' in scope) pending.clientids.add(scope.clientid);
    else pending.usernames.add(scope.username);
    return pending.done!;
  }

  /** One pass of `recheckSubscriptions` over the connected clients `pending` names. */
  private async recheck(pending: PendingRecheck): Promise<number> {
    const checks: Array<boolean | Promise<boolean>> = [];
    /** Clients a revocation disconnected: their other subscriptions go with them. */
    const gone = new Set<ClientSession>();
    for (const session of this.clients.snapshot()) {
      const client = session.authz;
      const named =
        pending.everyone || pending.clientids.has(client.clientid) || (client.username !== undefined && pending.usernames.has(client.username));
      if (!named) continue;
      let held: HeldSubscription[];
      try {
        held = session.connection.subscriptions();
      } catch (err) {
        this.deps.logger.warn({ listener: client.listener, clientid: client.clientid, err: err instanceof Error ? err.message : String(err) }, 'subscriptions could not be listed for a re-check');
        continue;
      }
      for (const sub of held) {
        // Its own request object: the shared one is refilled by the next question.
        const request: AuthzRequest = { action: 'subscribe', topic: sub.filter, qos: sub.qos, retain: false };
        let answer: AuthzDecision | Promise<AuthzDecision>;
        try {
          answer = this.deps.authz().authorize(client, request);
        } catch (err) {
          answer = this.authzFailed(session, err);
        }
        if (answer instanceof Promise) {
          checks.push(
            answer.then(
              (decision) => this.rechecked(session, sub, decision, gone),
              (err: unknown) => this.rechecked(session, sub, this.authzFailed(session, err), gone),
            ),
          );
        } else {
          checks.push(this.rechecked(session, sub, answer, gone));
        }
      }
    }
    let revoked = 0;
    for (const done of await Promise.all(checks)) if (done) revoked += 1;
    return revoked;
  }

  /** A held subscription's new answer: a denial has the front remove it, logged once. True when revoked. */
  private rechecked(session: ClientSession, sub: HeldSubscription, decision: AuthzDecision, gone: Set<ClientSession>): boolean {
    if (decision.result === 'allow' || !session.listed || session.connection.closed || gone.has(session)) return false;
    const client = session.authz;
    let outcome: Revocation;
    try {
      outcome = session.connection.revoke(sub.filter);
    } catch (err) {
      this.deps.logger.warn({ listener: client.listener, clientid: client.clientid, filter: sub.filter, err: err instanceof Error ? err.message : String(err) }, 'subscription could not be revoked');
      return false;
    }
    if (outcome === 'disconnected') gone.add(session);
    this.deps.logger.info(
      {
        listener: client.listener,
        clientid: client.clientid,
        username: client.username,
        filter: sub.filter,
        from: decision.from,
        rule: decision.rule,
        reason: decision.reason,
        outcome,
      },
      'subscription revoked',
    );
    return true;
  }

  /**
   * A connection its protocol front refused before asking for admission (not a CONNECT, a
   * malformed or late one, an invalid will, an unsupported version): the same log line and
   * counter (`protocol`) as every refusal. `fields` adds the protocol's code and what is known
   * of the client.
   */
  refusedByFront(meta: ConnectionMeta, reason: string, fields?: { clientid?: string | undefined; username?: string | undefined; reason_code?: number }): void {
    this.deps.logger.info({ listener: meta.listenerId, peer: `${meta.peerhost}:${meta.peerport}`, ...fields, reason }, 'connection refused');
    this.refusals.of(meta.listenerId).inc('protocol');
  }

  /** Refusals per listener and reason, for metrics. */
  *refusalCounts(): Generator<{ listener: string; reason: RefusalCounter; count: number }> {
    for (const [listener, set] of this.refusals.entries()) {
      for (const reason of REFUSAL_COUNTERS) {
        const count = set.get(reason);
        if (count > 0) yield { listener, reason, count };
      }
    }
  }

  /** Authorization denials per listener and action, for metrics. */
  *denialCounts(): Generator<{ listener: string; action: AuthzAction; count: number }> {
    for (const [listener, set] of this.denials.entries()) {
      for (const action of DENIAL_COUNTERS) {
        const count = set.get(action);
        if (count > 0) yield { listener, action, count };
      }
    }
  }

  private conclude(connection: AccessConnection, meta: ConnectionMeta, credential: ClientCredential, decision: AuthnDecision): Admission {
    if (connection.closed) return undefined;
    if (!decision.allowed) {
      const refusal = this.refuse(connection, meta, credential.clientid, credential.username, decision);
      for (const observer of this.observers) {
        if (observer.authenticationFailed) this.notify(() => observer.authenticationFailed!(credential, refusal));
      }
      return refusal;
    }
    const clientAttrs = decision.clientAttrs ? { ...credential.client_attrs, ...decision.clientAttrs } : credential.client_attrs;
    const mount = renderMountpoint(credential.mountpoint, clientAttrs === credential.client_attrs ? credential : { ...credential, client_attrs: clientAttrs });
    if (!mount.ok) {
      return this.refuse(connection, meta, credential.clientid, credential.username, { reason: 'bad_mountpoint', detail: mount.reason, placeholder: mount.placeholder });
    }
    const session = new ClientSession(connection, meta, decision, authzView(meta, credential, decision, clientAttrs, mount.mountpoint), mount.mountpoint);
    for (const observer of this.observers) {
      if (observer.authenticationSucceeded) this.notify(() => observer.authenticationSucceeded!(credential, session));
    }
    return session;
  }

  /** Answers the refusal on the wire (the front), then logs and counts it: one line per refused connection. */
  private refuse(connection: AccessConnection, meta: ConnectionMeta, clientid: string | undefined, username: string | undefined, refusal: Refusal): Refusal {
    const code = connection.refuse(refusal);
    this.deps.logger.info(
      {
        listener: meta.listenerId,
        peer: `${meta.peerhost}:${meta.peerport}`,
        clientid,
        username,
        chain: refusal.chain,
        authenticator: refusal.authenticator,
        check: refusal.check,
        reason: refusal.reason,
        detail: refusal.detail,
        steps: refusal.steps,
        reason_code: code,
      },
      'connection refused',
    );
    this.refusals.of(meta.listenerId).inc(refusal.reason);
    return refusal;
  }

  private authorized(session: ClientSession, request: AuthzRequest, decision: AuthzDecision): TopicVerdict {
    if (decision.result === 'allow') return mounted(session.mountpoint, request.action, request.topic);
    const client = session.authz;
    this.deps.logger.info(
      {
        listener: client.listener,
        clientid: client.clientid,
        username: client.username,
        action: request.action,
        topic: request.topic,
        from: decision.from,
        rule: decision.rule,
        reason: decision.reason,
      },
      'authorization denied',
    );
    this.denials.of(client.listener).inc(request.action);
    return decision;
  }

  /** The authentication service itself failing is a refusal, never a way in. */
  private authnFailed(meta: ConnectionMeta, err: unknown): AuthnDecision {
    this.deps.logger.error({ listener: meta.listenerId, err: err instanceof Error ? err.message : String(err) }, 'authentication service failed');
    return SERVICE_FAILED;
  }

  /** The authorization service failing is a denial (fails closed). */
  private authzFailed(session: ClientSession, err: unknown): AuthzDecision {
    this.deps.logger.error({ listener: session.meta.listenerId, err: err instanceof Error ? err.message : String(err) }, 'authorization service failed');
    return AUTHZ_FAILED;
  }

  private notify(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'access observer failed');
    }
  }
}

/** The topic with the mountpoint in front (a subscription's filter after a shared-subscription prefix). */
function mounted(mountpoint: string, action: AuthzAction, topic: string): string {
  if (!mountpoint) return topic;
  return action === 'subscribe' ? mountFilter(mountpoint, topic) : mountpoint + topic;
}

/** The client as authorization sees it; built field by field (no temporary spread objects): this runs for every connection. */
function authzView(
  meta: ConnectionMeta,
  credential: ClientCredential,
  decision: Extract<AuthnDecision, { allowed: true }>,
  clientAttrs: Record<string, string>,
  mountpoint: string,
): AuthzClient {
  const authz: AuthzClient = {
    clientid: credential.clientid,
    peerhost: meta.peerhost,
    listener: meta.listenerId,
    protocol: meta.protocol,
    mountpoint,
    isSuperuser: decision.isSuperuser,
    client_attrs: clientAttrs,
  };
  if (credential.username !== undefined) authz.username = credential.username;
  if (decision.acl) authz.acl = decision.acl;
  if (credential.cert_common_name !== undefined) authz.cert_common_name = credential.cert_common_name;
  if (credential.cert_subject !== undefined) authz.cert_subject = credential.cert_subject;
  return authz;
}
