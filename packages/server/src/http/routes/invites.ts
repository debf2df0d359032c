/** Administrators invite people with a one-time sign-in link (built-in sign-in). */
import { createInviteRequestSchema, inviteSchema } from '@latchkey/contract';
import type { Auth } from '../../auth/index.js';
import { auditEvent } from '../../domain/audit.js';
import type { Clock } from '../../domain/clock.js';
import { AppError, type Domain } from '../../domain/index.js';
import type { Store } from '../../store/store.js';
import { actorOf, principalOf } from '../authenticate.js';
import type { ZodApp } from '../zod-app.js';

export function registerInviteRoutes(app: ZodApp, deps: { auth: Auth; domain: Domain; store: Store; clock: Clock }): void {
  app.post(
    '/api/v1/invites',
    {
      config: { auth: 'session' },
      schema: {
        summary: 'Invite someone: a one-time sign-in link for their (new or existing) account',
        tags: ['accounts'],
        body: createInviteRequestSchema,
        response: { 201: inviteSchema },
      },
    },
    async (request, reply) => {
      if (!principalOf(request).account.isAdmin) throw new AppError('FORBIDDEN', 'Only administrators can invite people.');
      const actor = actorOf(request);
      const link = await deps.auth.links.issueFor({ email: request.body.email, isAdmin: request.body.isAdmin }, actor);
      const account = await deps.domain.accounts.findByEmail(request.body.email);
      if (!account) throw new Error('invited account vanished');
      await deps.store.insertAuditEvent(
        auditEvent(deps.clock.now(), 'invite.created', actor, account.id, { email: account.email }),
      );
      reply.code(201).header('cache-control', 'no-store');
      return { accountId: account.id, email: account.email ?? request.body.email, url: link.url, expiresAt: new Date(link.expiresAt).toISOString() };
    },
  );
}
