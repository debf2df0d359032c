/** Personal access tokens: managed from a console session; a token may read or revoke itself. */
import {
  createTokenRequestSchemaFor,
  createTokenResponseSchema,
  listTokensQuerySchema,
  tokenListSchema,
  tokenSchema,
  tokenSettingsSchema,
} from '@latchkey/contract';
import { z } from 'zod';
import { actorOf, principalOf, tokenPrincipalOf } from '../http/principal.js';
import type { ZodApp } from '../http/zod-app.js';
import type { TokenService } from './token-service.js';
import { presentToken } from './token-view.js';

const tokenIdParams = z.object({ id: z.string() });

export function registerTokenRoutes(app: ZodApp, { tokens }: { tokens: TokenService }): void {
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
      const listed = await tokens.list(principalOf(request).account.id, request.query);
      return { tokens: listed.tokens.map((token) => presentToken(token, listed.dbNow)) };
    },
  );

  app.post(
    '/api/v1/tokens',
    {
      config: { auth: 'session' },
      schema: {
        summary: 'Create a token; the secret is in this response only',
        tags: ['tokens'],
        // The operator's lifetime choices, so the OpenAPI document lists exactly what is accepted.
        body: createTokenRequestSchemaFor(tokens.lifetimeSettings().lifetimeChoices),
        response: { 201: createTokenResponseSchema },
      },
    },
    async (request, reply) => {
      const { token, secret } = await tokens.create(principalOf(request).account.id, request.body, actorOf(request));
      reply.code(201).header('cache-control', 'no-store');
      return { token: presentToken(token, token.createdAt), secret };
    },
  );

  app.get(
    '/api/v1/token-settings',
    {
      config: { auth: 'either' },
      schema: {
        summary: 'The token lifetimes this server allows',
        tags: ['tokens'],
        response: { 200: tokenSettingsSchema },
      },
    },
    async () => tokens.lifetimeSettings(),
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
      await tokens.revoke(account.id, token.id, actorOf(request));
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
      const { token, dbNow } = await tokens.get(principalOf(request).account.id, request.params.id);
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
      await tokens.revoke(principalOf(request).account.id, request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );
}
