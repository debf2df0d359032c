/** Namespaces the caller owns, from a token or a console session. */
import { createNamespaceRequestSchema, namespaceListSchema, namespaceSchema } from '@latchkey/contract';
import { z } from 'zod';
import { actorOf, namespaceRestrictionOf, principalOf } from '../http/principal.js';
import { iso } from '../http/timestamps.js';
import type { ZodApp } from '../http/zod-app.js';
import type { NamespaceRecord } from './namespace.js';
import type { NamespaceService } from './namespace-service.js';

const presentNamespace = (namespace: NamespaceRecord) => ({ id: namespace.id, name: namespace.name, createdAt: iso(namespace.createdAt) });

export function registerNamespaceRoutes(app: ZodApp, { namespaces }: { namespaces: NamespaceService }): void {
  app.get(
    '/api/v1/namespaces',
    {
      config: { auth: 'either', scope: 'namespaces:read' },
      schema: { summary: "List the caller's namespaces (a restricted token: those it may touch)", tags: ['namespaces'], response: { 200: namespaceListSchema } },
    },
    async (request) => {
      const listed = await namespaces.list(principalOf(request).account.id, namespaceRestrictionOf(request));
      return { namespaces: listed.map(presentNamespace) };
    },
  );

  app.post(
    '/api/v1/namespaces',
    {
      config: { auth: 'either', scope: 'namespaces:write' },
      schema: {
        summary: 'Create a namespace',
        tags: ['namespaces'],
        body: createNamespaceRequestSchema,
        response: { 201: namespaceSchema },
      },
    },
    async (request, reply) => {
      const namespace = await namespaces.create(
        principalOf(request).account.id,
        request.body.name,
        actorOf(request),
        namespaceRestrictionOf(request),
      );
      reply.code(201);
      return presentNamespace(namespace);
    },
  );

  app.delete(
    '/api/v1/namespaces/:name',
    {
      config: { auth: 'either', scope: 'namespaces:write' },
      schema: { summary: 'Delete one of the caller’s namespaces', tags: ['namespaces'], params: z.object({ name: z.string() }) },
    },
    async (request, reply) => {
      await namespaces.delete(principalOf(request).account.id, request.params.name, actorOf(request), namespaceRestrictionOf(request));
      return reply.code(204).send();
    },
  );
}
