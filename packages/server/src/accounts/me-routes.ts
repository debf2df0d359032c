/** Who the caller is, and how they authenticated. */
import { meResponseSchema, type MeResponse } from '@latchkey/contract';
import type { AccountRecord } from './account.js';
import type { TokenRecord } from '../tokens/token.js';
import type { FastRoute } from '../http/fast-path.js';
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
      return principal.kind === 'token'
        ? meWithToken(principal.account, principal.token, principal.dbNow)
        : { account: presentAccount(principal.account), authenticatedWith: 'session', csrfToken: principal.csrfToken };
    },
  );
}

/** `GET /api/v1/me` as the fast path answers it for a token (http/fast-path.ts): the same body. */
export const meFastRoute: FastRoute = {
  path: '/api/v1/me',
  answer: (account, token, dbNow) => ({ status: 200, json: meWithToken(account, token, dbNow) }),
};

/** `/me`'s answer to a token. */
export function meWithToken(account: AccountRecord, token: TokenRecord, dbNow: number): MeResponse {
  return { account: presentAccount(account), authenticatedWith: 'token', token: presentToken(token, dbNow) };
}
