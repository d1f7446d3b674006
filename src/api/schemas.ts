import { Type, type TSchema } from '@sinclair/typebox';

/** Schemas shared by the API's resources (requests and answers). */

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

/** An authenticator as answered: its config with defaults filled, secrets masked, and its id. */
export const AuthenticatorView = Type.Object(
  {
    id: Type.String({ description: 'mechanism:backend, e.g. password_based:built_in_database' }),
    mechanism: Type.String(),
    backend: Type.Optional(Type.String()),
    enable: Type.Boolean(),
  },
  { additionalProperties: true, description: 'authenticator config; secrets shown as "******"' },
);

/** An authenticator as sent: mechanism (and backend) route it to the backend's own schema. */
export const AuthenticatorBody = Type.Object(
  {
    mechanism: Type.String({ minLength: 1 }),
    backend: Type.Optional(Type.String({ minLength: 1 })),
    enable: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true },
);

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
