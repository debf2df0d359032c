/**
 * The one boundary where failures become responses: ours (AppError), the stores', Fastify's
 * and zod's all end up as problem+json with a stable code. Unknown errors are logged with
 * their stack under the request id and answered with a bare 500.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { FieldError } from '@latchkey/contract';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError } from '../kernel/app-error.js';
import { StoreUnavailableError } from '../kernel/store-errors.js';
import { parseAuthorizationHeader } from './authorization-header.js';
import { authFailureLogFields, redactUrl } from './logging.js';
import { problemOptionsOf, sendProblem } from './problem.js';
import { unknownPropertyErrors } from './strict-body.js';

/** Fastify's own request errors that have a code of ours. */
const FRAMEWORK_ERRORS: Record<string, Parameters<typeof sendProblem>[1]> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_BODY',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'MALFORMED_BODY',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'MALFORMED_BODY',
};

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route, hook or error handler
 * runs (a path with malformed percent-encoding, a path parameter over 100 characters). Those
 * requests skip the onRequest hook, so the request id is set here; the body never echoes the
 * path (docs/security.md, item 58).
 */
export function handleFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  reply.header('x-request-id', request.id);
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      sendProblem(reply, 'BAD_REQUEST', { detail: 'The request URL is malformed.' });
      break;
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // No id, secret or name of ours is that long: the same answer as any unknown resource.
      sendProblem(reply, 'NOT_FOUND', { detail: 'No such resource.' });
      break;
    default:
      request.log.error({ err: error }, 'unhandled framework error');
      sendProblem(reply, 'INTERNAL');
  }
  // The request line the onResponse hook writes for every other request (hooks do not run here).
  request.log.info(
    { method: request.method, url: redactUrl(request.url), status: reply.statusCode, ip: request.ip, code: error.code },
    'request',
  );
}

/** R-UNAVAIL's detail when the database cannot be reached. */
export const DATABASE_UNAVAILABLE_DETAIL = 'The database is unavailable; try again shortly.';

const HEADERS_KEPT_ON_INTERNAL_ERROR = new Set(['x-request-id', 'strict-transport-security']);

export function registerErrorHandling(app: FastifyInstance): void {
  app.setNotFoundHandler((_request, reply) => sendProblem(reply, 'NOT_FOUND', { detail: 'No such resource.' }));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) return sendAppError(request, reply, error);
    if (error instanceof StoreUnavailableError) {
      request.log.warn({ err: error.cause ?? error }, 'database unavailable');
      return sendProblem(reply, 'UNAVAILABLE', { detail: DATABASE_UNAVAILABLE_DETAIL });
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const inQuery = error.validationContext === 'querystring';
      const errors: FieldError[] = error.validation.flatMap((issue): FieldError[] => {
        if (inQuery) return [{ parameter: issue.instancePath.slice(1), detail: issue.message ?? 'is invalid' }];
        const pointer = issue.instancePath === '/' ? '' : issue.instancePath;
        if (issue.keyword === 'unrecognized_keys') return unknownPropertyErrors(pointer, issue.params.keys);
        return [{ pointer, detail: issue.message ?? 'is invalid' }];
      });
      return sendProblem(reply, 'VALIDATION_FAILED', { detail: 'The request has invalid fields.', errors });
    }
    const frameworkCode = error.code ? FRAMEWORK_ERRORS[error.code] : undefined;
    if (frameworkCode) return sendProblem(reply, frameworkCode);
    if (error instanceof SyntaxError && error.statusCode === 400) return sendProblem(reply, 'MALFORMED_BODY');
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      request.log.info({ code: error.code, status: error.statusCode }, 'request refused by the framework');
      return sendProblem(reply, 'MALFORMED_BODY');
    }
    request.log.error({ err: error }, 'unhandled error');
    // The failed response's own headers may be what failed (an invalid Location, say): the
    // 500 carries none of them, only what identifies and secures it.
    for (const name of Object.keys(reply.getHeaders())) {
      if (!HEADERS_KEPT_ON_INTERNAL_ERROR.has(name)) reply.removeHeader(name);
    }
    return sendProblem(reply, 'INTERNAL');
  });
}

/**
 * The answer to an AppError. The authentication hook calls it directly for the refusals it
 * decides (the hot path of a flood), and the error handler for everything thrown elsewhere.
 */
export function sendAppError(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (error.logReason) logAuthFailure(request, error.logReason);
  return sendProblem(reply, error.code, problemOptionsOf(error));
}

/** One structured event per failed authentication (logging.ts, authFailureLogFields). */
function logAuthFailure(request: FastifyRequest, reason: string): void {
  // Hashing the presented value is the dearest part of refusing a flood: skip it unheard.
  if (!(request.log as unknown as Logger).isLevelEnabled('warn')) return;
  const header = parseAuthorizationHeader(request.headers.authorization);
  request.log.warn(authFailureLogFields(reason, request.ip, header.kind === 'bearer' ? header.token : undefined), 'authentication failed');
}
