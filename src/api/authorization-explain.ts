import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ClientAcl } from '../authn/types.js';
import type { AuthzClient, AuthzRequest } from '../authz/types.js';
import type { ResourceOptions } from './context.js';
import { badRequest } from './errors.js';
import { describedClient, DescribedClientFields, type DescribedClient } from './explain.js';
import { ACCESS_ERRORS, errors } from './schemas.js';

const ExplainBody = Type.Object(
  {
    ...DescribedClientFields,
    is_superuser: Type.Optional(Type.Boolean({ description: 'without password: is the client a superuser (default false)' })),
    acl: Type.Optional(
      Type.Union(
        [
          Type.Array(Type.Unknown(), { description: 'the list form: raw rules (§8.4), as an HTTP or JWT authenticator leaves them' }),
          Type.Object(
            {
              pub: Type.Optional(Type.Array(Type.String())),
              sub: Type.Optional(Type.Array(Type.String())),
              all: Type.Optional(Type.Array(Type.String())),
              expire: Type.Optional(Type.Integer({ description: 'seconds since the epoch' })),
            },
            { additionalProperties: false, description: "the JWT map form: allow-lists; anything else is denied" },
          ),
        ],
        { description: "without password: the client's own ACL from authentication" },
      ),
    ),
    action: Type.Union([Type.Literal('publish'), Type.Literal('subscribe')]),
    topic: Type.String({ minLength: 1, description: 'the topic (publish) or filter (subscribe) as the client sends it' }),
    qos: Type.Optional(Type.Union([Type.Literal(0), Type.Literal(1), Type.Literal(2)], { description: 'default 0' })),
    retain: Type.Optional(Type.Boolean({ description: 'default false' })),
  },
  { additionalProperties: false },
);

type ExplainRequest = DescribedClient & {
  is_superuser?: boolean;
  acl?: unknown[] | { pub?: string[]; sub?: string[]; all?: string[]; expire?: number };
  action: 'publish' | 'subscribe';
  topic: string;
  qos?: 0 | 1 | 2;
  retain?: boolean;
};

const Step = Type.Object(
  {
    step: Type.String({ description: 'reserved | superuser | client_acl | cache | source | no_match' }),
    source: Type.Optional(Type.String()),
    result: Type.String({ description: 'allow | deny | nomatch | ignore | hit | miss | skipped | error | timeout' }),
    rule: Type.Optional(Type.String({ description: 'the rule that matched, as written, with where it comes from' })),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

const ExplainAnswer = Type.Object(
  {
    listener: Type.String(),
    protocol: Type.String(),
    clientid: Type.String(),
    request: Type.Object({ action: Type.String(), topic: Type.String(), qos: Type.Integer(), retain: Type.Boolean() }, { additionalProperties: false }),
    authentication: Type.Optional(
      Type.Object(
        { result: Type.String(), reason: Type.Optional(Type.String()), authenticator: Type.Optional(Type.String()), is_superuser: Type.Optional(Type.Boolean()), acl: Type.Optional(Type.Boolean()) },
        { additionalProperties: false, description: 'with password: what the dry run of the chain gave' },
      ),
    ),
    steps: Type.Array(Step),
    decision: Type.Object(
      {
        result: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
        from: Type.String({ description: 'superuser, a client ACL (jwt, http), a source type, default (no_match), reserved ($SYS/), authentication' }),
        rule: Type.Optional(Type.String()),
        reason: Type.Optional(Type.String()),
        deny_action: Type.Optional(Type.String({ description: 'MQTT: what a denial does to the connection (authorization.deny_action)' })),
      },
      { additionalProperties: false },
    ),
    note: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

/**
 * `POST /authorization/explain` (beyond EMQX, issue 16): the decision a described client
 * would get for one publish or subscribe, with each step the authorizer took (superuser, the
 * client's ACL, cache, each source with the rule that matched or why none did, no_match).
 * `Authorizer.explain` asks the real sources and counts nothing, caches nothing. With
 * `password`, the client's chain runs first in dry-run mode (as `/authentication/explain`)
 * and its superuser flag, ACL and attributes are used, as for a real connection.
 */
export const authorizationExplainPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  app.post(
    '/authorization/explain',
    {
      schema: {
        tags: ['authorization'],
        summary: 'Would this client be allowed to publish or subscribe to this topic, and why?',
        body: ExplainBody,
        response: { 200: ExplainAnswer, ...errors(400, 404, ...ACCESS_ERRORS) },
      },
    },
    async (request) => {
      const body = request.body as ExplainRequest;
      const { listenerId, spec, credential } = describedClient(ctx, body);
      const asked: AuthzRequest = { action: body.action, topic: body.topic, qos: body.qos ?? 0, retain: body.retain ?? false };
      const head = { listener: listenerId, protocol: spec.protocol, clientid: body.clientid, request: asked };
      let isSuperuser = body.is_superuser ?? false;
      let acl = body.acl === undefined ? undefined : describedAcl(body.acl);
      let clientAttrs = credential.client_attrs;
      let authentication: Record<string, unknown> | undefined;
      if (body.password !== undefined) {
        if (body.is_superuser !== undefined || body.acl !== undefined) throw badRequest('is_superuser, acl: come from authentication when password is given; send one or the other');
        const d = (await ctx.node.authn.explain(credential)).decision;
        if (!d.allowed) {
          return {
            ...head,
            authentication: { result: 'deny', reason: d.reason, ...(d.authenticator ? { authenticator: d.authenticator } : {}) },
            steps: [],
            decision: { result: 'deny' as const, from: 'authentication', reason: `the client would not connect: ${d.reason}` },
          };
        }
        isSuperuser = d.isSuperuser;
        acl = d.acl;
        if (d.clientAttrs) clientAttrs = { ...clientAttrs, ...d.clientAttrs };
        authentication = { result: 'allow', ...(d.authenticator ? { authenticator: d.authenticator } : {}), is_superuser: d.isSuperuser, acl: d.acl !== undefined };
      }
      const client: AuthzClient = {
        clientid: credential.clientid,
        peerhost: credential.peerhost,
        listener: listenerId,
        protocol: spec.protocol,
        mountpoint: spec.mountpoint,
        isSuperuser,
        client_attrs: clientAttrs,
        ...(credential.username !== undefined ? { username: credential.username } : {}),
        ...(acl ? { acl } : {}),
        ...(credential.cert_common_name !== undefined ? { cert_common_name: credential.cert_common_name } : {}),
        ...(credential.cert_subject !== undefined ? { cert_subject: credential.cert_subject } : {}),
      };
      const { decision, steps } = await ctx.node.authz.explain(client, asked);
      const denyAction = decision.result === 'deny' && spec.protocol === 'mqtt' ? { deny_action: ctx.node.authz.denyAction } : {};
      return {
        ...head,
        ...(authentication ? { authentication } : {}),
        steps,
        decision: { ...decision, ...denyAction },
        note: "asked as a newly connected client: the connected client's own cache is not consulted",
      };
    },
  );
};

/** The body's `acl` as authentication would leave it on the session. */
function describedAcl(acl: NonNullable<ExplainRequest['acl']>): ClientAcl {
  if (Array.isArray(acl)) return { rules: acl, source: 'acl' };
  const { expire, ...map } = acl;
  return { rules: [], map, source: 'acl', ...(expire !== undefined ? { expireAt: expire * 1000 } : {}) };
}
