import type { FastifyError, FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError, type ConfigProblem } from '../config/load.js';
import { ListenerStartError, TlsSettingsError } from '../transport/errors.js';

/** EMQX's error codes (emqx5-auth.md §7.6, §10, §12.6) with their HTTP status. */
export type ApiErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_PARAMETER'
  | 'NOT_FOUND'
  | 'CLIENTID_NOT_FOUND'
  | 'RESOURCE_NOT_FOUND'
  | 'BAD_LISTENER_ID'
  | 'ALREADY_EXISTS'
  | 'NOT_SUPPORT'
  | 'INTERNAL_ERROR'
  | 'BAD_USERNAME_OR_PWD'
  | 'AUTHORIZATION_HEADER_ERROR'
  | 'BAD_API_KEY_OR_SECRET'
  | 'API_KEY_NOT_ALLOW'
  | 'BAD_TOKEN'
  | 'TOKEN_TIME_OUT'
  | 'UNAUTHORIZED_ROLE';

/** An error the API answers as `{code, message}` with `status`. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string) => new ApiError(400, 'BAD_REQUEST', message);
export const notFound = (message: string) => new ApiError(404, 'NOT_FOUND', message);

/** A configuration change that failed validation: 400 naming the fields. */
export function configRejected(err: ConfigError, rename: (path: string) => string = (p) => p): ApiError {
  return badRequest(problemsText(err.problems, rename));
}

export function problemsText(problems: readonly ConfigProblem[], rename: (path: string) => string = (p) => p): string {
  return problems.map((p) => `${rename(p.path) || '(body)'}: ${p.message}`).join('; ');
}

/** Every error leaves as `{code, message}`; a schema failure names the field (400 BAD_REQUEST). */
export function installErrorHandler(app: FastifyInstance, logger: Logger): void {
  app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
    if (error instanceof ApiError) {
      if (error.status === 401) reply.header('WWW-Authenticate', 'Basic Realm="gatehouse"');
      return reply.status(error.status).send({ code: error.code, message: error.message });
    }
    if (error instanceof ConfigError) return reply.status(400).send({ code: 'BAD_REQUEST', message: problemsText(error.problems) });
    // Certificates or keys of a listener change that cannot be loaded: the listener kept its old
    // ones, and the message names the file and what is wrong (never key material).
    if (error instanceof TlsSettingsError) return reply.status(400).send({ code: 'BAD_REQUEST', message: error.message });
    // A listener that cannot bind (the change was undone): the message names the address and why.
    if (error instanceof ListenerStartError) return reply.status(400).send({ code: 'BAD_REQUEST', message: error.message });
    const fe = error as FastifyError & { apiCode?: ApiErrorCode };
    if (fe.validation !== undefined || fe.code === 'FST_ERR_VALIDATION') {
      return reply.status(400).send({ code: fe.apiCode ?? 'BAD_REQUEST', message: fe.message });
    }
    if (error instanceof SyntaxError || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
      // Never the parser's message: V8 quotes part of the body, which may hold a password.
      const at = /position (\d+)/.exec(error.message);
      return reply.status(400).send({ code: 'BAD_REQUEST', message: `body is not valid JSON${at ? ` (at position ${at[1]})` : ''}` });
    }
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      // Fastify's own refusals: unsupported content type, body too large, empty JSON body.
      return reply.status(fe.statusCode).send({ code: fe.statusCode === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', message: fe.message });
    }
    logger.error({ method: request.method, path: request.url.split('?')[0], error: error.message, stack: error.stack }, 'management API request failed');
    return reply.status(500).send({ code: 'INTERNAL_ERROR', message: 'internal error; see the node log' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'NOT_FOUND', message: `Resource not found. path: ${request.url.split('?')[0]}` }),
  );
}
