/** Who the caller is, and how they authenticated. */
import { meResponseSchema, type MeResponse } from '@latchkey/contract';
import { principalOf } from '../http/principal.js';
import type { ZodApp } from '../http/zod-app.js';
import { presentToken } from '../tokens/token-view.js';
import { presentAccount } from './account-view.js';

export function registerMeRoutes(app: ZodApp): void {
  app.get(
    '/api/v1/me',
    {
      config: { auth: 'either', scope: 'any' },
      schema: { summary: 'The account of the caller', tags: ['account'], response: { 200: meResponseSchema } },
    },
    async (request): Promise<MeResponse> => {
      const principal = principalOf(request);
      const account = presentAccount(principal.account);
      return principal.kind === 'token'
        ? { account, authenticatedWith: 'token', token: presentToken(principal.token, principal.dbNow) }
        : { account, authenticatedWith: 'session', csrfToken: principal.csrfToken };
    },
  );
}
