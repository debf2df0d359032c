/**
 * Public routes that write (store a sign-in flow, consume a one-time secret, start a session)
 * declare `config: { anonymousWrites: true }`; each request to one of them spends the client
 * address's budget for that route (docs/security.md, item 57). Over budget the request is answered
 * R-LIMIT in this hook, before its body is read or anything is written, and never reaches the
 * route's own error handling (the sign-in pages render their failures as HTML).
 */
import type { FastifyInstance } from 'fastify';
import type { AnonymousWriteLimiter } from '../retention/anonymous-write-limiter.js';
import { sendProblem } from './problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route writes without authentication: its requests spend the address's budget. */
    anonymousWrites?: boolean;
  }
}

export function registerAnonymousWriteLimit(app: FastifyInstance, { limiter }: { limiter: AnonymousWriteLimiter }): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!request.routeOptions.config.anonymousWrites) return;
    const retryAfterSeconds = await limiter.take(`${request.method} ${request.routeOptions.url}`, request.ip);
    if (retryAfterSeconds > 0) {
      return sendProblem(reply, 'RATE_LIMITED', { detail: 'Too many sign-in requests from your address.', retryAfterSeconds });
    }
  });
}
