/**
 * RFC 9457 problem+json responses for the closed set of error codes in the contract, with
 * the exact RFC 6750 `WWW-Authenticate` values of docs/security.md, error contract.
 */
import { ERRORS, type ErrorCode, type FieldError, type ProblemDetails } from '@latchkey/contract';
import type { FastifyReply } from 'fastify';

export const REALM = 'api';
/** Seconds a client should wait after R-UNAVAIL (503) before retrying. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

const bearerChallenge = (error: string, description: string) =>
  `Bearer realm="${REALM}", error="${error}", error_description="${description}"`;

/** The exact challenge per code; codes absent here carry no WWW-Authenticate. */
const CHALLENGES: Partial<Record<ErrorCode, string>> = {
  UNAUTHENTICATED: `Bearer realm="${REALM}"`,
  INVALID_REQUEST: bearerChallenge('invalid_request', 'Malformed Authorization header'),
  INVALID_TOKEN: bearerChallenge('invalid_token', 'The access token is invalid'),
  TOKEN_EXPIRED: bearerChallenge('invalid_token', 'The access token expired'),
  INSUFFICIENT_SCOPE: bearerChallenge('insufficient_scope', 'Not allowed with a personal access token'),
};

export interface ProblemOptions {
  detail?: string;
  errors?: FieldError[];
  retryAfterSeconds?: number;
  expiresAt?: string;
  /** INSUFFICIENT_SCOPE: the scope the route needs; the challenge names it. */
  requiredScope?: string;
  namespace?: string;
}

export function problemBody(code: ErrorCode, options: ProblemOptions = {}): ProblemDetails {
  const { status, type, title } = ERRORS[code];
  const body: ProblemDetails = { type, title, status, code };
  if (options.detail) body.detail = options.detail;
  if (options.errors) body.errors = options.errors;
  if (options.expiresAt) body.expiresAt = options.expiresAt;
  if (options.requiredScope) body.requiredScope = options.requiredScope;
  if (options.namespace) body.namespace = options.namespace;
  return body;
}

export function sendProblem(reply: FastifyReply, code: ErrorCode, options: ProblemOptions = {}): FastifyReply {
  const challenge = code === 'INSUFFICIENT_SCOPE' ? scopeChallenge(options) : CHALLENGES[code];
  if (challenge) reply.header('www-authenticate', challenge);
  const retryAfter =
    options.retryAfterSeconds ?? (code === 'UNAVAILABLE' ? UNAVAILABLE_RETRY_AFTER_SECONDS : undefined);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply
    .code(ERRORS[code].status)
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(code, options)));
}

/**
 * R-SCOPE's challenge: naming the scope that was missing (RFC 6750 §3.1); a namespace refused
 * without a scope, only the error; a console-only route, the description saying so.
 */
function scopeChallenge(options: ProblemOptions): string | undefined {
  if (options.requiredScope) return `Bearer realm="${REALM}", error="insufficient_scope", scope="${options.requiredScope}"`;
  if (options.namespace) return `Bearer realm="${REALM}", error="insufficient_scope"`;
  return CHALLENGES.INSUFFICIENT_SCOPE;
}
