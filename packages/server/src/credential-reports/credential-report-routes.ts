/**
 * Revoke by possession (docs/security.md, item 35): whoever finds a leaked token reports it here,
 * unauthenticated, like GitHub's credential-revocation API. The answer is 202 whatever the list
 * holds, and it is sent before the list is looked at (see credential-report-service.ts), so
 * neither its content nor its timing says which tokens were valid.
 */
import { credentialReportRequestSchema } from '@latchkey/contract';
import { z } from 'zod';
import type { ZodApp } from '../http/zod-app.js';
import { AppError } from '../kernel/app-error.js';
import type { CredentialReports } from './credential-report-service.js';
import type { ReportLimiter } from './report-limiter.js';

/** 1,000 tokens of 57 characters as a JSON array take about 60 KB; room for whitespace on top. */
export const CREDENTIAL_REPORT_BODY_LIMIT_BYTES = 128 * 1024;

export function registerCredentialReportRoutes(
  app: ZodApp,
  { reports, limiter }: { reports: CredentialReports; limiter: ReportLimiter },
): void {
  app.post(
    '/api/v1/credentials/revoke',
    {
      bodyLimit: CREDENTIAL_REPORT_BODY_LIMIT_BYTES,
      // The budget is spent before the body is read: a flood of broken bodies costs it too.
      onRequest: async (request) => {
        const retryAfterSeconds = await limiter.take(request.ip);
        if (retryAfterSeconds > 0) {
          throw new AppError('RATE_LIMITED', 'Too many credential reports from your address.', { retryAfterSeconds });
        }
      },
      schema: {
        summary: 'Report leaked tokens: every valid one listed is revoked (no authentication)',
        description:
          'Always 202 Accepted, whether the tokens listed are valid, already revoked or not tokens at all; ' +
          'they are processed after the answer. Each owner finds a notice in the console. ' +
          'At most 1,000 credentials per call and 60 calls per hour per client address.',
        tags: ['credentials'],
        body: credentialReportRequestSchema,
        // A null schema documents "no body" in the OpenAPI document.
        response: { 202: z.null().describe('Accepted: the list will be processed. No body.') },
      },
    },
    async (request, reply) => {
      if (!reports.submit(request.body.credentials, request.ip)) {
        throw new AppError('UNAVAILABLE', 'Too many reports are waiting to be processed; try again shortly.');
      }
      reply.header('cache-control', 'no-store');
      // Nothing to say beyond the status; `undefined` sends an empty body (the schema types it null).
      return reply.code(202).send(undefined as unknown as null);
    },
  );
}
