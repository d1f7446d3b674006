import { Kind, Type, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import { viewForm } from '../config/fragments.js';
import type { MetricSet } from '../metrics/counters.js';

/**
 * Schemas several resources share. Every answer schema is closed (`additionalProperties:
 * false`): fastify's serializer writes only the declared fields, so a field nobody declared
 * (a secret included) cannot leave by accident. Each resource's own schemas live in its plugin.
 */

export const ErrorBody = Type.Object(
  { code: Type.String({ description: 'EMQX error code, e.g. BAD_REQUEST' }), message: Type.String() },
  { additionalProperties: false },
);

/** The answer schemas of a route's error statuses. */
export function errors(...statuses: number[]): Record<number, TSchema> {
  const out: Record<number, TSchema> = {};
  for (const s of statuses) out[s] = ErrorBody;
  return out;
}

/** Every authenticated route may answer 401 and 403 (§10). */
export const ACCESS_ERRORS = [401, 403] as const;

export const NoContent = Type.Null({ description: 'no content' });

export const UserView = Type.Object({ user_id: Type.String(), is_superuser: Type.Boolean() }, { additionalProperties: false });

export const PageMeta = Type.Object(
  { page: Type.Integer(), limit: Type.Integer(), count: Type.Optional(Type.Integer()), hasnext: Type.Boolean() },
  { additionalProperties: false },
);

export const PageQuery = {
  page: Type.Optional(Type.Integer({ minimum: 1, description: 'default 1' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, description: 'default 100' })),
};

export const RateMetrics = Type.Object(
  {
    total: Type.Integer(),
    success: Type.Integer(),
    failed: Type.Integer(),
    nomatch: Type.Integer(),
    rate: Type.Number(),
    rate_max: Type.Number(),
    rate_last5m: Type.Number(),
  },
  { additionalProperties: false },
);

/**
 * A status answer (§7.4, §9.1): the resource's status and counters with the rate of `total`,
 * on this one node. `metrics` is the counters' schema, rates included.
 */
export function StatusAnswer(metrics: TSchema): TSchema {
  return Type.Object(
    {
      status: Type.String(),
      node_status: Type.Array(Type.Object({ node: Type.String(), status: Type.String() }, { additionalProperties: false })),
      metrics,
      node_metrics: Type.Array(Type.Object({ node: Type.String(), metrics }, { additionalProperties: false })),
      resource_metrics: Type.Object({}, { additionalProperties: false }),
      node_resource_metrics: Type.Array(Type.Object({ node: Type.String(), metrics: Type.Object({}, { additionalProperties: false }) }, { additionalProperties: false })),
      node_error: Type.Array(Type.Object({ node: Type.String(), reason: Type.String() }, { additionalProperties: false })),
    },
    { additionalProperties: false },
  );
}

/** The answer of `StatusAnswer` from a counter set rated on `total`. */
export function statusOf<N extends string>(node: string, status: string, counters: MetricSet<N | 'total'>): Record<string, unknown> {
  const rate = counters.rate('total') ?? { current: 0, max: 0, last5m: 0 };
  const metrics = { ...counters.snapshot(), rate: rate.current, rate_max: rate.max, rate_last5m: rate.last5m };
  return {
    status,
    node_status: [{ node, status }],
    metrics,
    node_metrics: [{ node, metrics }],
    resource_metrics: {},
    node_resource_metrics: [{ node, metrics: {} }],
    node_error: [],
  };
}

export const IdParam = Type.Object({ id: Type.String({ minLength: 1 }) });

/**
 * An answer that is a list or one object. Chosen by `if`/`then` on the value's type (not
 * `anyOf`, where a value with a field its schema drops would match no member).
 */
export function listOrOne(list: TSchema, one: TSchema): TSchema {
  return Type.Unsafe({ if: { type: 'array' }, then: list, else: one });
}

/**
 * The answer form of configuration blocks of several kinds (the listener types): one closed
 * object with the fields of every kind, nested objects merged the same way, `first` fields
 * before and `last` fields after the configuration's.
 */
export function blockView(kinds: readonly TObject[], omit: readonly string[], first: TProperties, last: TProperties): TSchema {
  const config = mergeObjects(kinds);
  for (const key of omit) delete config[key];
  return viewForm(Type.Object({ ...first, ...config, ...last }));
}

function mergeObjects(kinds: readonly TObject[]): TProperties {
  const out: TProperties = {};
  for (const kind of kinds) {
    for (const [key, schema] of Object.entries(kind.properties)) {
      const seen = out[key];
      out[key] = seen && seen[Kind] === 'Object' && schema[Kind] === 'Object' ? Type.Object(mergeObjects([seen as TObject, schema as TObject])) : (seen ?? schema);
    }
  }
  return out;
}
