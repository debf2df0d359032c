/**
 * Personal access tokens: managed from a console session or by a token holding `tokens:read`
 * / `tokens:write` (never creating one broader than itself); any token may read or revoke itself.
 */
import {
  createTokenRequestSchema,
  createTokenResponseSchema,
  listTokensQuerySchema,
  rotateTokenRequestSchema,
  tokenListSchema,
  tokenActivitySchema,
  tokenSchema,
  tokenSettingsSchema,
} from '@latchkey/contract';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf, principalOf, tokenPrincipalOf } from '../http/principal.js';
import type { ZodApp } from '../http/zod-app.js';
import { iso } from '../http/timestamps.js';
import type { TokenGrantor, TokenService } from './token-service.js';
import { presentToken } from './token-view.js';

const tokenIdParams = z.object({ id: z.string() });

export function registerTokenRoutes(app: ZodApp, { tokens }: { tokens: TokenService }): void {
  app.get(
    '/api/v1/tokens',
    {
      config: { auth: 'either', scope: 'tokens:read' },
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
      config: { auth: 'either', scope: 'tokens:write' },
      schema: {
        summary: 'Create a token; the secret is in this response only',
        tags: ['tokens'],
        // The lifetime choices follow the instance policy, which may change at run time: the
        // service checks expiresInDays against it (R-422 naming /expiresInDays), and
        // GET /api/v1/token-settings lists them.
        body: createTokenRequestSchema,
        response: { 201: createTokenResponseSchema },
      },
    },
    async (request, reply) => {
      const { token, secret } = await tokens.create(principalOf(request).account.id, request.body, actorOf(request), grantorOf(request));
      reply.code(201).header('cache-control', 'no-store');
      return { token: presentToken(token, token.createdAt), secret };
    },
  );

  app.get(
    '/api/v1/token-settings',
    {
      config: { auth: 'either', scope: 'any' },
      schema: {
        summary: 'The token lifetimes and scopes the instance policy allows now',
        tags: ['tokens'],
        response: { 200: tokenSettingsSchema },
      },
    },
    async () => tokens.lifetimeSettings(),
  );

  app.get(
    '/api/v1/tokens/self',
    {
      config: { auth: 'token', scope: 'any' },
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
      config: { auth: 'token', scope: 'any' },
      schema: { summary: 'Revoke the token presented', tags: ['tokens'] },
    },
    async (request, reply) => {
      const { account, token } = tokenPrincipalOf(request);
      await tokens.revoke(account.id, token.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  app.post(
    '/api/v1/tokens/self/rotate',
    {
      config: { auth: 'token', scope: 'any' },
      preValidation: emptyBodyAsObject,
      schema: {
        summary: 'Replace the token presented by a new one (same name, scopes, restrictions); the new secret is in this response only',
        tags: ['tokens'],
        body: rotateTokenRequestSchema,
        response: { 201: createTokenResponseSchema },
      },
    },
    async (request, reply) => {
      const { account, token } = tokenPrincipalOf(request);
      const rotated = await tokens.rotate(account.id, token.id, request.body, actorOf(request), grantorOf(request));
      reply.code(201).header('cache-control', 'no-store');
      return { token: presentToken(rotated.token, rotated.token.createdAt), secret: rotated.secret };
    },
  );

  app.post(
    '/api/v1/tokens/:id/rotate',
    {
      config: { auth: 'either', scope: 'tokens:write' },
      preValidation: emptyBodyAsObject,
      schema: {
        summary: 'Replace one of the caller’s tokens by a new one (same name, scopes, restrictions); the new secret is in this response only',
        tags: ['tokens'],
        params: tokenIdParams,
        body: rotateTokenRequestSchema,
        response: { 201: createTokenResponseSchema },
      },
    },
    async (request, reply) => {
      const rotated = await tokens.rotate(principalOf(request).account.id, request.params.id, request.body, actorOf(request), grantorOf(request));
      reply.code(201).header('cache-control', 'no-store');
      return { token: presentToken(rotated.token, rotated.token.createdAt), secret: rotated.secret };
    },
  );

  app.get(
    '/api/v1/tokens/:id',
    {
      config: { auth: 'either', scope: 'tokens:read' },
      schema: { summary: 'One of the caller’s tokens', tags: ['tokens'], params: tokenIdParams, response: { 200: tokenSchema } },
    },
    async (request) => {
      const { token, dbNow } = await tokens.get(principalOf(request).account.id, request.params.id);
      return presentToken(token, dbNow);
    },
  );

  app.get(
    '/api/v1/tokens/:id/activity',
    {
      config: { auth: 'either', scope: 'tokens:read' },
      schema: {
        summary: 'Where one of the caller’s tokens was used (its last distinct addresses) and what it did',
        tags: ['tokens'],
        params: tokenIdParams,
        response: { 200: tokenActivitySchema },
      },
    },
    async (request) => {
      const { addresses, events } = await tokens.activity(principalOf(request).account.id, request.params.id);
      return {
        addresses: addresses.map((address) => ({ ip: address.ip, lastUsedAt: iso(address.lastUsedAt) })),
        events: events.map((event) => ({
          action: event.action,
          occurredAt: iso(event.occurredAt),
          ip: event.actor.ip,
          targetId: event.targetId,
          target: typeof event.detail.name === 'string' ? event.detail.name : null,
        })),
      };
    },
  );

  app.delete(
    '/api/v1/tokens/:id',
    {
      config: { auth: 'either', scope: 'tokens:write' },
      schema: { summary: 'Revoke one of the caller’s tokens, at once and for good', tags: ['tokens'], params: tokenIdParams },
    },
    async (request, reply) => {
      await tokens.revoke(principalOf(request).account.id, request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );
}

/** A rotation asks nothing by default: `POST …/rotate` without a body is `{}` (no grace, the default lifetime). */
async function emptyBodyAsObject(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

/** What bounds a token the caller creates: the creating token when there is one, and whether the owner is an administrator. */
function grantorOf(request: FastifyRequest): TokenGrantor {
  const principal = principalOf(request);
  const service = principal.account.kind === 'service' ? { service: true } : {};
  return principal.kind === 'token'
    ? { isAdmin: principal.account.isAdmin, token: principal.token, ...service }
    : { isAdmin: principal.account.isAdmin, ...service };
}
