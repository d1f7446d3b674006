import { Kind, Type, type TObject, type TProperties, type TSchema } from '@sinclair/typebox';
import { viewForm } from '../config/fragments.js';

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
