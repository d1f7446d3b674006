import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import { GLOBAL_METRICS } from '../authn/service.js';
import type { ResourceOptions } from './context.js';
import { ACCESS_ERRORS, errors, listOrOne } from './schemas.js';

/** `/metrics` (the §13.1 counters) and `/prometheus/stats` (text exposition). */
export const metricsPlugin: FastifyPluginAsync<ResourceOptions> = async (app, { ctx }) => {
  const tags = ['metrics'];
  const Counters = Type.Object(Object.fromEntries(GLOBAL_METRICS.map((m) => [m, Type.Integer()])), { additionalProperties: false });
  const NodeCounters = Type.Object({ node: Type.String(), ...Object.fromEntries(GLOBAL_METRICS.map((m) => [m, Type.Integer()])) }, { additionalProperties: false });

  app.get(
    '/metrics',
    {
      schema: {
        tags,
        summary: 'Authentication counters (per node, or summed with aggregate=true)',
        querystring: Type.Object({ aggregate: Type.Optional(Type.Boolean()) }, { additionalProperties: true }),
        response: { 200: listOrOne(Type.Array(NodeCounters), Counters), ...errors(400, ...ACCESS_ERRORS) },
      },
    },
    async (request) => {
      const counters = ctx.node.authn.metrics.snapshot();
      if ((request.query as { aggregate?: boolean }).aggregate) return counters;
      return [{ node: ctx.node.config.node.name, ...counters }];
    },
  );

  app.get(
    '/prometheus/stats',
    { schema: { tags, summary: 'Prometheus text exposition', response: { 200: Type.String({ description: 'text/plain; version=0.0.4' }), ...errors(...ACCESS_ERRORS) } } },
    async (_request, reply) => {
      const text = await ctx.metrics.registry.metrics();
      return reply.header('content-type', ctx.metrics.registry.contentType).send(text);
    },
  );
};
