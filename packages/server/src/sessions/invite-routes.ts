/** Administrators invite people with a one-time sign-in link (built-in sign-in). */
import { createInviteRequestSchema, inviteSchema } from '@latchkey/contract';
import { actorOf, principalOf } from '../http/principal.js';
import { iso } from '../http/timestamps.js';
import type { ZodApp } from '../http/zod-app.js';
import { AppError } from '../kernel/app-error.js';
import type { SignInService } from './sign-in-service.js';

export function registerInviteRoutes(app: ZodApp, { signIn }: { signIn: SignInService }): void {
  app.post(
    '/api/v1/invites',
    {
      config: { auth: 'session' },
      schema: {
        summary: 'Invite someone: a new account and a one-time sign-in link for it (409 ACCOUNT_EXISTS if the email has an account)',
        tags: ['accounts'],
        body: createInviteRequestSchema,
        response: { 201: inviteSchema },
      },
    },
    async (request, reply) => {
      if (!principalOf(request).account.isAdmin) throw new AppError('FORBIDDEN', 'Only administrators can invite people.');
      const { account, link } = await signIn.invite(request.body, actorOf(request));
      reply.code(201).header('cache-control', 'no-store');
      return { accountId: account.id, email: account.email ?? request.body.email, url: link.url, expiresAt: iso(link.expiresAt) };
    },
  );
}
