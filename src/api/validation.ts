import type { FastifyInstance } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { schemaProblems } from '../config/load.js';
import { ROUTING } from '../config/fragments.js';
import { problemsText, type ApiErrorCode } from './errors.js';

/** Query fields whose failure EMQX answers with INVALID_PARAMETER page_limit_invalid (§7.3). */
const PAGING_FIELDS = new Set(['page', 'limit']);

/**
 * Request validation with the route's TypeBox schemas. Bodies are checked as sent (no
 * coercion: EMQX passes validated bodies on unchanged); query strings and path parameters
 * are converted from text first. A failure is 400 naming the field, e.g. `user_id: is required`.
 * A body assembled from fragments (an authenticator of any registered type) is checked here
 * for what routes it (`requestForm`); the node validates the whole block when it applies it.
 */
export function installValidator(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const typed = requestForm(schema as TSchema);
    const check = TypeCompiler.Compile(typed);
    const convert = httpPart !== 'body';
    return (data: unknown) => {
      const value = convert ? Value.Convert(typed, data) : data;
      if (check.Check(value)) return { value };
      const problems = schemaProblems(typed, value);
      const err = new Error(problemsText(problems)) as Error & { statusCode: number; validation: unknown[]; apiCode: ApiErrorCode };
      err.statusCode = 400;
      err.validation = problems;
      err.apiCode = httpPart === 'querystring' && problems.some((p) => PAGING_FIELDS.has(p.path)) ? 'INVALID_PARAMETER' : 'BAD_REQUEST';
      if (err.apiCode === 'INVALID_PARAMETER') err.message = 'page_limit_invalid';
      return { error: err };
    };
  });
}

/**
 * The schema a route checks: every part assembled from fragments replaced by its routing
 * part (`ROUTING`: the discriminator fields), so a body reaches its handler with whatever
 * else it holds (a duplicate is then answered 409 before its fields are looked at, as EMQX
 * does) and the whole block is validated with the configuration it would become.
 */
export function requestForm(schema: TSchema): TSchema {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (node === null || typeof node !== 'object') return node;
    const source = node as Record<string | symbol, unknown>;
    if (ROUTING in source) return source[ROUTING];
    const out: Record<string | symbol, unknown> = {};
    for (const key of Reflect.ownKeys(source)) out[key] = walk(source[key]);
    return out;
  };
  return walk(schema) as TSchema;
}
