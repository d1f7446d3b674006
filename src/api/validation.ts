import type { FastifyInstance } from 'fastify';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { schemaProblems } from '../config/load.js';
import { problemsText, type ApiErrorCode } from './errors.js';

/** Query fields whose failure EMQX answers with INVALID_PARAMETER page_limit_invalid (§7.3). */
const PAGING_FIELDS = new Set(['page', 'limit']);

/**
 * Request validation with the route's TypeBox schemas. Bodies are checked as sent (no
 * coercion: EMQX passes validated bodies on unchanged); query strings and path parameters
 * are converted from text first. A failure is 400 naming the field, e.g. `user_id: is required`.
 */
export function installValidator(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const typed = schema as TSchema;
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
