import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ConnectionMeta, PeerCertificate } from '../transport/types.js';
import type { ClientCredential } from '../authn/types.js';
import { connackReasonCode, v3ReturnCode } from '../broker/reason-codes.js';
import type { ApiContext, ResourceOptions } from './context.js';
import type { ListenerSpec } from '../transport/types.js';
import { ApiError } from './errors.js';
import { ACCESS_ERRORS, errors } from './schemas.js';

/** A client as the explain endpoints describe it (authentication's, and authorization's). */
export const DescribedClientFields = {
  listener: Type.Optional(Type.String({ minLength: 1, description: 'listener id, default tcp:default' })),
  clientid: Type.String(),
  username: Type.Optional(Type.String()),
  password: Type.Optional(Type.String()),
  peerhost: Type.Optional(Type.String({ minLength: 1 })),
  peerport: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  cert_common_name: Type.Optional(Type.String()),
  cert_subject: Type.Optional(Type.String()),
  cert_pem: Type.Optional(Type.String()),
  psk_identity: Type.Optional(Type.String()),
  client_attrs: Type.Optional(Type.Record(Type.String(), Type.String())),
};

export interface DescribedClient {
  listener?: string;
  clientid: string;
  username?: string;
  password?: string;
  peerhost?: string;
  peerport?: number;
  cert_common_name?: string;
  cert_subject?: string;
  cert_pem?: string;
  psk_identity?: string;
  client_attrs?: Record<string, string>;
}

const ExplainBody = Type.Object(DescribedClientFields, { additionalProperties: false });

/** The credential a described client would present on its listener (404 when the listener is not running). */
export function describedClient(ctx: ApiContext, body: DescribedClient): { listenerId: string; spec: ListenerSpec; credential: ClientCredential } {
  const listenerId = body.listener ?? 'tcp:default';
  const listener = ctx.node.listeners.get(listenerId);
  if (!listener) throw new ApiError(404, 'NOT_FOUND', `Listener '${listenerId}' not found or not running`);
  const spec = listener.spec;
  const credential: ClientCredential = {
    listener: listenerId,
    protocol: spec.protocol,
    clientid: body.clientid,
    ...(body.username !== undefined ? { username: body.username } : {}),
    ...(body.password !== undefined ? { password: Buffer.from(body.password, 'utf8') } : {}),
    peerhost: body.peerhost ?? '127.0.0.1',
    peerport: body.peerport ?? 0,
    sockport: listener.address()?.port ?? spec.bind.port,
    zone: 'default',
    mountpoint: spec.mountpoint,
    ...(body.cert_common_name !== undefined ? { cert_common_name: body.cert_common_name } : {}),
    ...(body.cert_subject !== undefined ? { cert_subject: body.cert_subject } : {}),
    ...(body.cert_pem !== undefined ? { cert_pem: body.cert_pem } : {}),
    ...(body.psk_identity !== undefined ? { psk_identity: body.psk_identity } : {}),
    client_attrs: body.client_attrs ?? {},
    enable_authn: spec.enableAuthn,
  };
  return { listenerId, spec, credential };
}

const Step = Type.Object(
  {
    authenticator: Type.String(),
    result: Type.String({ description: 'allow | deny | ignore | error | timeout | continue | disabled' }),
    reason: Type.Optional(Type.String()),
    request: Type.Optional(Type.String({ description: 'the rendered query or request, secrets masked' })),
    ms: Type.Number(),
  },
  { additionalProperties: false },
);

const ExplainAnswer = Type.Object(
  {
    listener: Type.String(),
    protocol: Type.String(),
    chain: Type.Union([Type.String(), Type.Null()]),
    note: Type.Optional(Type.String()),
    steps: Type.Array(Step),
    decision: Type.Object(
      {
        result: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
        reason: Type.Optional(Type.String()),
        detail: Type.Optional(Type.String()),
        authenticator: Type.Optional(Type.String()),
        check: Type.Optional(Type.String({ description: 'the admission check that would refuse (banned), before authentication' })),
        anonymous: Type.Optional(Type.Boolean()),
        is_superuser: Type.Optional(Type.Boolean()),
        connack: Type.Optional(Type.Object({ mqtt5: Type.Integer(), mqtt3: Type.Integer() }, { additionalProperties: false })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

/**
 * `POST /authentication/explain`: runs the real chain for a described client in dry-run
 * mode (no counters, no side effects) and answers each authenticator's outcome in order
 * and the final decision, with the CONNACK code an MQTT client would get.
 */
export const explainPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  app.post(
    '/authentication/explain',
    {
      schema: {
        tags: ['authentication'],
        summary: 'Why would this client be accepted or refused? (dry run of the real chain)',
        body: ExplainBody,
        response: { 200: ExplainAnswer, ...errors(400, 404, ...ACCESS_ERRORS) },
      },
    },
    async (request) => {
      const body = request.body as DescribedClient;
      const listenerId = body.listener ?? 'tcp:default';
      const listener = ctx.node.listeners.get(listenerId);
      if (!listener) throw new ApiError(404, 'NOT_FOUND', `Listener '${listenerId}' not found or not running`);
      const spec = listener.spec;
      // The connection as a listener would describe it; the access path's identity rules
      // (peer_cert_as_*, use_username_as_clientid) and admission checks (the banned list) run
      // on it as on a real CONNECT, without counting or side effects.
      const meta: ConnectionMeta = {
        listenerId,
        transport: spec.transport,
        protocol: spec.protocol,
        peerhost: body.peerhost ?? '127.0.0.1',
        peerport: body.peerport ?? 0,
        sockhost: listener.address()?.host ?? spec.bind.host,
        sockport: listener.address()?.port ?? spec.bind.port,
        mountpoint: spec.mountpoint,
        enableAuthn: spec.enableAuthn,
      };
      if (spec.zone !== 'default') meta.zone = spec.zone;
      const cert = explainedCertificate(body);
      if (cert) meta.cert = cert;
      if (body.psk_identity !== undefined) meta.pskIdentity = body.psk_identity;
      const admission = ctx.node.access.explainAdmission(meta, {
        clientid: body.clientid,
        username: body.username,
        password: body.password !== undefined ? Buffer.from(body.password, 'utf8') : undefined,
      });
      const connack = (reason: Parameters<typeof connackReasonCode>[0], placeholder?: string) => {
        if (spec.protocol !== 'mqtt') return {};
        const code = connackReasonCode(reason, placeholder);
        return { connack: { mqtt5: code, mqtt3: v3ReturnCode(code) } };
      };
      if (!('listener' in admission)) {
        return {
          listener: listenerId,
          protocol: spec.protocol,
          chain: null,
          note: admission.check ? `refused before authentication by the ${admission.check} check` : 'refused by the identity rules before authentication',
          steps: [],
          decision: {
            result: 'deny' as const,
            reason: admission.reason,
            ...(admission.detail ? { detail: admission.detail } : {}),
            ...(admission.check ? { check: admission.check } : {}),
            ...connack(admission.reason, admission.placeholder),
          },
        };
      }
      const credential = body.client_attrs ? { ...admission, client_attrs: body.client_attrs } : admission;
      const explained = await ctx.node.authn.explain(credential);
      const d = explained.decision;
      const decision = d.allowed
        ? {
            result: 'allow' as const,
            anonymous: d.anonymous,
            is_superuser: d.isSuperuser,
            ...(d.authenticator ? { authenticator: d.authenticator } : {}),
            ...(spec.protocol === 'mqtt' ? { connack: { mqtt5: 0, mqtt3: 0 } } : {}),
          }
        : {
            result: 'deny' as const,
            reason: d.reason,
            ...(d.detail ? { detail: d.detail } : {}),
            ...(d.authenticator ? { authenticator: d.authenticator } : {}),
            ...connack(d.reason),
          };
      return {
        listener: listenerId,
        protocol: spec.protocol,
        chain: explained.chain,
        ...(explained.note ? { note: explained.note } : {}),
        steps: explained.steps,
        decision,
      };
    },
  );
};

/** The certificate an explain body describes (its CN, subject, base64 DER), as a listener would read it. */
function explainedCertificate(body: { cert_common_name?: string; cert_subject?: string; cert_pem?: string }): PeerCertificate | undefined {
  if (body.cert_common_name === undefined && body.cert_subject === undefined && body.cert_pem === undefined) return undefined;
  const cert: PeerCertificate = { subject: body.cert_subject ?? (body.cert_common_name !== undefined ? `CN=${body.cert_common_name}` : ''), sanDns: [], sanEmail: [], sanUri: [] };
  if (body.cert_common_name !== undefined) cert.commonName = body.cert_common_name;
  if (body.cert_pem !== undefined) cert.pemBody = body.cert_pem;
  return cert;
}
