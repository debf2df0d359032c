/**
 * Revoke by possession (docs/security.md, items 35 and 59): whoever finds a leaked token reports
 * it here, unauthenticated, like GitHub's credential-revocation API. The answer is 202 once the
 * report is stored (credential-report-service.ts), whatever the list holds: the request does the
 * same work, one INSERT, for live tokens and for garbage, and the tokens are looked at only
 * afterwards. A database that cannot store the report is a 503, never a 202.
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
          'Always 202 Accepted once the report is stored, whether the tokens listed are valid, already revoked or not tokens at all; ' +
          'they are processed after the answer, even if the server restarts in between. Each owner finds a notice in the console. ' +
          'If the database cannot store the report: 503, and nothing was accepted. ' +
          'At most 1,000 credentials per call and 60 calls per hour per client address.',
        tags: ['credentials'],
        body: credentialReportRequestSchema,
        // A null schema documents "no body" in the OpenAPI document.
        response: { 202: z.null().describe('Accepted: the report is stored and will be processed. No body.') },
      },
    },
    async (request, reply) => {
      // A store failure propagates: the error handler answers it 503 (R-UNAVAIL).
      await reports.submit(request.body.credentials, request.ip);
      reply.header('cache-control', 'no-store');
      // Nothing to say beyond the status; `undefined` sends an empty body (the schema types it null).
      return reply.code(202).send(undefined as unknown as null);
    },
  );
}
