/**
 * `/api/v1/webhooks`: the caller's webhook endpoints and their deliveries (docs/webhooks.md),
 * from a console session or a token (tokens:read to read, tokens:write to change: the events are
 * about the owner's tokens). The signing secret is in the create response only.
 */
import {
  createWebhookRequestSchema,
  createWebhookResponseSchema,
  updateWebhookRequestSchema,
  webhookDeliveryListSchema,
  webhookDeliverySchema,
  webhookListSchema,
  webhookSchema,
  type WebhookDeliveryView,
  type WebhookView,
} from '@latchkey/contract';
import { grantsScope } from '@latchkey/contract/scopes';
import { z } from 'zod';
import { actorOf, principalOf } from '../http/principal.js';
import { iso, isoOrNull } from '../http/timestamps.js';
import type { ZodApp } from '../http/zod-app.js';
import type { WebhookAttemptRecord, WebhookDeliveryRecord, WebhookRecord } from './webhook.js';
import type { WebhookCaller, WebhookService } from './webhook-service.js';

const READ = { auth: 'either', scope: 'tokens:read' } as const;
const WRITE = { auth: 'either', scope: 'tokens:write' } as const;
const idParams = z.object({ id: z.string() });
const deliveryParams = z.object({ id: z.string(), deliveryId: z.string() });

export function presentWebhook(webhook: WebhookRecord): WebhookView {
  return {
    id: webhook.id,
    url: webhook.url,
    events: webhook.events,
    description: webhook.description,
    instanceWide: webhook.instanceWide,
    createdAt: iso(webhook.createdAt),
    disabledAt: isoOrNull(webhook.disabledAt),
    disabledReason: webhook.disabledReason,
    failingSince: isoOrNull(webhook.failingSince),
  };
}

function presentDelivery(delivery: WebhookDeliveryRecord & { attemptLog?: WebhookAttemptRecord[] }): WebhookDeliveryView {
  return {
    id: delivery.id,
    messageId: delivery.messageId,
    event: delivery.event,
    status: delivery.status,
    attempts: delivery.attempts,
    responseStatus: delivery.responseStatus,
    durationMs: delivery.durationMs,
    error: delivery.error,
    responseExcerpt: delivery.responseExcerpt,
    createdAt: iso(delivery.createdAt),
    lastAttemptAt: isoOrNull(delivery.lastAttemptAt),
    attemptLog: (delivery.attemptLog ?? []).map((attempt) => ({
      attempt: attempt.attempt,
      at: iso(attempt.attemptedAt),
      succeeded: attempt.succeeded,
      responseStatus: attempt.responseStatus,
      durationMs: attempt.durationMs,
      error: attempt.error,
    })),
  };
}

export function registerWebhookRoutes(app: ZodApp, { webhooks }: { webhooks: WebhookService }): void {
  const caller = (request: Parameters<typeof principalOf>[0]): WebhookCaller => {
    const principal = principalOf(request);
    // A token acts for an administrator only with the admin:write scope, as on the admin API.
    const mayAdminister = principal.account.isAdmin && (principal.kind === 'session' || grantsScope(principal.token.scopes, 'admin:write'));
    return { accountId: principal.account.id, mayAdminister };
  };
  const accountOf = (request: Parameters<typeof principalOf>[0]) => principalOf(request).account.id;

  app.get(
    '/api/v1/webhooks',
    { config: READ, schema: { summary: "List the caller's webhooks", tags: ['webhooks'], response: { 200: webhookListSchema } } },
    async (request) => ({ webhooks: (await webhooks.list(accountOf(request))).map(presentWebhook) }),
  );

  app.post(
    '/api/v1/webhooks',
    {
      config: WRITE,
      schema: {
        summary: 'Create a webhook; the signing secret is in this response only',
        tags: ['webhooks'],
        body: createWebhookRequestSchema,
        response: { 201: createWebhookResponseSchema },
      },
    },
    async (request, reply) => {
      const { webhook, secret } = await webhooks.create(caller(request), request.body, actorOf(request));
      reply.code(201);
      return { ...presentWebhook(webhook), secret };
    },
  );

  app.get(
    '/api/v1/webhooks/:id',
    { config: READ, schema: { summary: 'One of the caller’s webhooks', tags: ['webhooks'], params: idParams, response: { 200: webhookSchema } } },
    async (request) => presentWebhook(await webhooks.get(accountOf(request), request.params.id)),
  );

  app.patch(
    '/api/v1/webhooks/:id',
    {
      config: WRITE,
      schema: {
        summary: 'Change a webhook’s URL, events or description, or disable or re-enable it',
        tags: ['webhooks'],
        params: idParams,
        body: updateWebhookRequestSchema,
        response: { 200: webhookSchema },
      },
    },
    async (request) => presentWebhook(await webhooks.update(accountOf(request), request.params.id, request.body, actorOf(request))),
  );

  app.delete(
    '/api/v1/webhooks/:id',
    { config: WRITE, schema: { summary: 'Delete a webhook and its deliveries', tags: ['webhooks'], params: idParams } },
    async (request, reply) => {
      await webhooks.delete(accountOf(request), request.params.id, actorOf(request));
      return reply.code(204).send();
    },
  );

  app.get(
    '/api/v1/webhooks/:id/deliveries',
    {
      config: READ,
      schema: {
        summary: 'A webhook’s deliveries, newest first, each with its attempts',
        tags: ['webhooks'],
        params: idParams,
        response: { 200: webhookDeliveryListSchema },
      },
    },
    async (request) => ({ deliveries: (await webhooks.deliveries(accountOf(request), request.params.id)).map(presentDelivery) }),
  );

  app.post(
    '/api/v1/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      config: WRITE,
      schema: {
        summary: 'Send a delivery again (same body and webhook-id), with a new series of retries',
        tags: ['webhooks'],
        params: deliveryParams,
        response: { 202: webhookDeliverySchema },
      },
    },
    async (request, reply) => {
      const delivery = await webhooks.redeliver(accountOf(request), request.params.id, request.params.deliveryId);
      reply.code(202);
      return presentDelivery(delivery);
    },
  );
}
