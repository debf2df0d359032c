/** Namespaces the caller owns, from a token or a console session. */
import { createNamespaceRequestSchema, namespaceListSchema, namespaceSchema } from '@latchkey/contract';
import { z } from 'zod';
import type { Domain } from '../../domain/index.js';
import { actorOf, principalOf } from '../authenticate.js';
import { presentNamespace } from '../presenters.js';
import type { ZodApp } from '../zod-app.js';

export function registerNamespaceRoutes(app: ZodApp, { domain }: { domain: Domain }): void {
  app.get(
    '/api/v1/namespaces',
    {
      config: { auth: 'either' },
      schema: { summary: "List the caller's namespaces", tags: ['namespaces'], response: { 200: namespaceListSchema } },
    },
    async (request) => {
      const namespaces = await domain.namespaces.list(principalOf(request).account.id);
      return { namespaces: namespaces.map(presentNamespace) };
    },
  );

  app.post(
    '/api/v1/namespaces',
    {
      config: { auth: 'either' },
      schema: {
        summary: 'Create a namespace',
        tags: ['namespaces'],
        body: createNamespaceRequestSchema,
        response: { 201: namespaceSchema },
      },
    },
    async (request, reply) => {
      const namespace = await domain.namespaces.create(
        principalOf(request).account.id,
        request.body.name,
        actorOf(request),
      );
      reply.code(201);
      return presentNamespace(namespace);
    },
  );

  app.delete(
    '/api/v1/namespaces/:name',
    {
      config: { auth: 'either' },
      schema: { summary: 'Delete one of the caller’s namespaces', tags: ['namespaces'], params: z.object({ name: z.string() }) },
    },
    async (request, reply) => {
      await domain.namespaces.delete(principalOf(request).account.id, request.params.name, actorOf(request));
      return reply.code(204).send();
    },
  );
}
