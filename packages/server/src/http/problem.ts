/**
 * RFC 9457 problem+json responses for the closed set of error codes in the contract, with
 * the exact RFC 6750 `WWW-Authenticate` values of docs/security.md, error contract.
 */
import { ERRORS, type ErrorCode, type FieldError, type ProblemDetails } from '@latchkey/contract';
import { challengeFor } from '@latchkey/contract/challenges';
import type { FastifyReply } from 'fastify';
import type { AppError } from '../kernel/app-error.js';

/** Seconds a client should wait after R-UNAVAIL (503) before retrying. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

export interface ProblemOptions {
  detail?: string;
  errors?: FieldError[];
  retryAfterSeconds?: number;
  expiresAt?: string;
  /** INSUFFICIENT_SCOPE: the scope the route needs; the challenge names it. */
  requiredScope?: string;
  namespace?: string;
  /** TOKEN_NOT_ROTATABLE: why the token cannot be rotated. */
  reason?: string;
}

export function problemBody(code: ErrorCode, options: ProblemOptions = {}): ProblemDetails {
  const { status, type, title } = ERRORS[code];
  const body: ProblemDetails = { type, title, status, code };
  if (options.detail) body.detail = options.detail;
  if (options.errors) body.errors = options.errors;
  if (options.expiresAt) body.expiresAt = options.expiresAt;
  if (options.requiredScope) body.requiredScope = options.requiredScope;
  if (options.namespace) body.namespace = options.namespace;
  if (options.reason) body.reason = options.reason;
  return body;
}

/** What an AppError's answer carries: its detail, field errors, Retry-After and extensions. */
export function problemOptionsOf(error: AppError): ProblemOptions {
  return { detail: error.detail, errors: error.errors, retryAfterSeconds: error.retryAfterSeconds, ...error.extensions };
}

/** A problem+json answer as status, headers and body: what `sendProblem` sends, for callers outside Fastify too. */
export interface ProblemResponse {
  status: number;
  /** Header names in lower case, each once. */
  headers: Record<string, string>;
  body: string;
}

export function problemResponse(code: ErrorCode, options: ProblemOptions = {}): ProblemResponse {
  const headers: Record<string, string> = {};
  const challenge = challengeFor(code, options);
  if (challenge) headers['www-authenticate'] = challenge;
  const retryAfter =
    options.retryAfterSeconds ?? (code === 'UNAVAILABLE' ? UNAVAILABLE_RETRY_AFTER_SECONDS : undefined);
  if (retryAfter !== undefined) headers['retry-after'] = String(retryAfter);
  headers['cache-control'] = 'no-store';
  headers['x-content-type-options'] = 'nosniff';
  // As Fastify sends a string body: with its charset.
  headers['content-type'] = 'application/problem+json; charset=utf-8';
  return { status: ERRORS[code].status, headers, body: JSON.stringify(problemBody(code, options)) };
}

export function sendProblem(reply: FastifyReply, code: ErrorCode, options: ProblemOptions = {}): FastifyReply {
  const { status, headers, body } = problemResponse(code, options);
  return reply.code(status).headers(headers).send(body);
}
