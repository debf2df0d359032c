/** Personal access tokens: managed from a console session; a token may read or revoke itself. */
import {
  createTokenRequestSchema,
  createTokenResponseSchema,
  listTokensQuerySchema,
  tokenListSchema,
  tokenSchema,
} from '@latchkey/contract';
import { z } from 'zod';
import type { TestFaultHooks } from '../../app.js';
import type { Domain } from '../../domain/index.js';
import { actorOf, principalOf, tokenPrincipalOf } from '../authenticate.js';
import { presentToken } from '../presenters.js';
import type { ZodApp } from '../zod-app.js';

const tokenIdParams = z.object({ id: z.string() });

export function registerTokenRoutes(
  app: ZodApp,
  { domain, faults = {} }: { domain: Domain; faults?: TestFaultHooks },
): void {
  app.get(
    '/api/v1/tokens',
    {
      config: { auth: 'session' },
      schema: {
        summary: "List the caller's tokens",
        tags: ['tokens'],
        querystring: listTokensQuerySchema,
        response: { 200: tokenListSchema },
      },
    },
    async (request) => {
      const { tokens, dbNow } = await domain.tokens.list(principalOf(request).account.id, request.query);
      return { tokens: tokens.map((token) => presentToken(token, dbNow)) };
    },
  );

  app.post(
    '/api/v1/tokens',
    {
      config: { auth: 'session' },
      schema: {
        summary: 'Create a token; the secret is in this response only',
        tags: ['tokens'],
        body: createTokenRequestSchema,
        response: { 201: createTokenResponseSchema },
      },
    },
    async (request, reply) => {
      const { token, secret } = await domain.tokens.create(
        principalOf(request).account.id,
        request.body,
        actorOf(request),
      );
      reply.code(201).header('cache-control', 'no-store');
      return { token: presentToken(token, token.createdAt), secret };
    },
  );

  app.get(
    '/api/v1/tokens/self',
    {
      config: { auth: 'token' },
      schema: { summary: 'The token presented', tags: ['tokens'], response: { 200: tokenSchema } },
    },
    async (request) => {
      const { token, dbNow } = tokenPrincipalOf(request);
      return presentToken(token, dbNow);
    },
  );

  app.delete(
    '/api/v1/tokens/self',
    {
      config: { auth: 'token' },
      schema: { summary: 'Revoke the token presented', tags: ['tokens'] },
    },
    async (request, reply) => {
      const { account, token } = tokenPrincipalOf(request);
      await domain.tokens.revoke(account.id, token.id, actorOf(request));
      faults.afterRevokeCommit?.();
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/tokens/:id',
    {
      config: { auth: 'session' },
      schema: { summary: 'One of the caller’s tokens', tags: ['tokens'], params: tokenIdParams, response: { 200: tokenSchema } },
    },
    async (request) => {
      const { token, dbNow } = await domain.tokens.get(principalOf(request).account.id, request.params.id);
      return presentToken(token, dbNow);
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { auth: 'session' },
      schema: { summary: 'Revoke one of the caller’s tokens, at once and for good', tags: ['tokens'], params: tokenIdParams },
    },
    async (request, reply) => {
      await domain.tokens.revoke(principalOf(request).account.id, request.params.id, actorOf(request));
      faults.afterRevokeCommit?.();
      return reply.code(204).send();
    },
  );
}
