/**
 * The rules of webhook endpoints: who may create which (instance-wide ones are for
 * administrators), which URLs are refused, the per-account limit, the secret shown once, and
 * redelivery. Deliveries themselves are webhook-delivery.ts.
 */
import { MAX_WEBHOOKS_PER_ACCOUNT, type CreateWebhookRequest, type UpdateWebhookRequest } from '@latchkey/contract';
import { auditEvent, type Actor } from '../audit/audit-event.js';
import { AppError, fieldError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { isId, newId } from '../kernel/ids.js';
import { newWebhookSecret, type WebhookAttemptRecord, type WebhookDeliveryRecord, type WebhookRecord } from './webhook.js';
import type { NewJob } from '../jobs/job.js';
import { deliveryJob } from './webhook-delivery.js';
import { isRefusedHost } from './webhook-sender.js';
import type { WebhookStore } from './webhook-store.js';

/** Deliveries listed per endpoint, newest first. */
export const DELIVERIES_LISTED = 100;

/** Who is asking: an administrator (with the admin:write power, for a token) may make instance-wide endpoints. */
export interface WebhookCaller {
  accountId: string;
  mayAdminister: boolean;
}

export interface WebhookService {
  /** A new endpoint and its signing secret: the only time the secret is given out. */
  create(caller: WebhookCaller, request: CreateWebhookRequest, actor: Actor): Promise<{ webhook: WebhookRecord; secret: string }>;
  list(accountId: string): Promise<WebhookRecord[]>;
  /** NOT_FOUND for a missing or foreign endpoint. */
  get(accountId: string, id: string): Promise<WebhookRecord>;
  update(accountId: string, id: string, request: UpdateWebhookRequest, actor: Actor): Promise<WebhookRecord>;
  delete(accountId: string, id: string, actor: Actor): Promise<void>;
  deliveries(accountId: string, id: string): Promise<Array<WebhookDeliveryRecord & { attemptLog: WebhookAttemptRecord[] }>>;
  /** Sends a delivery again (same body, same `webhook-id`), as a new series of attempts. */
  redeliver(accountId: string, id: string, deliveryId: string): Promise<WebhookDeliveryRecord>;
}

export function createWebhookService(deps: {
  store: WebhookStore;
  clock: Clock;
  /** WEBHOOK_ALLOW_PRIVATE: private and loopback URLs are accepted. */
  allowPrivate: boolean;
  /** Enqueues (and wakes the runner for) a redelivery's job. */
  enqueue: (job: NewJob) => Promise<unknown>;
}): WebhookService {
  const { store, clock } = deps;
  const notFound = () => new AppError('NOT_FOUND', 'No such webhook.');

  const checkUrl = (url: string) => {
    if (!deps.allowPrivate && isRefusedHost(new URL(url).hostname)) {
      throw fieldError('/url', 'must not point to a private, loopback, link-local, multicast or metadata address');
    }
  };

  const owned = async (accountId: string, id: string) => {
    const webhook = isId(id) ? await store.findWebhook(accountId, id) : undefined;
    if (!webhook) throw notFound();
    return webhook;
  };

  return {
    async create(caller, request, actor) {
      checkUrl(request.url);
      if (request.instanceWide && !caller.mayAdminister) {
        throw new AppError('FORBIDDEN', 'Only an administrator may create an instance-wide webhook.');
      }
      const now = clock.now();
      const webhook: WebhookRecord = {
        id: newId(),
        accountId: caller.accountId,
        instanceWide: request.instanceWide === true,
        url: request.url,
        events: [...new Set(request.events)],
        description: request.description ?? null,
        createdAt: now,
        updatedAt: now,
        disabledAt: null,
        disabledReason: null,
        failingSince: null,
      };
      const secret = newWebhookSecret();
      const audit = auditEvent(now, 'webhook.created', actor, webhook.id, {
        target: originOf(webhook.url),
        events: webhook.events,
        instanceWide: webhook.instanceWide,
      });
      if (!(await store.insertWebhook(webhook, secret, { maxPerAccount: MAX_WEBHOOKS_PER_ACCOUNT }, audit))) {
        throw new AppError('CONFLICT', `An account may hold at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks.`);
      }
      return { webhook, secret };
    },

    list: (accountId) => store.listWebhooks(accountId),

    get: owned,

    async update(accountId, id, request, actor) {
      await owned(accountId, id);
      if (request.url !== undefined) checkUrl(request.url);
      const now = clock.now();
      const disabling =
        request.disabled === undefined
          ? {}
          : request.disabled
            ? { disabledAt: now, disabledReason: 'owner' as const }
            : // Re-enabled: its failing streak starts afresh.
              { disabledAt: null, disabledReason: null, failingSince: null };
      const updated = await store.updateWebhook(
        accountId,
        id,
        {
          ...(request.url !== undefined && { url: request.url }),
          ...(request.events !== undefined && { events: [...new Set(request.events)] }),
          ...(request.description !== undefined && { description: request.description }),
          ...disabling,
        },
        now,
        auditEvent(now, 'webhook.updated', actor, id, {
          changed: Object.keys(request).sort(),
          ...(request.url !== undefined && { target: originOf(request.url) }),
          ...(request.disabled !== undefined && { disabled: request.disabled }),
        }),
      );
      if (!updated) throw notFound();
      return updated;
    },

    async delete(accountId, id, actor) {
      const webhook = await owned(accountId, id);
      const audit = auditEvent(clock.now(), 'webhook.deleted', actor, id, { target: originOf(webhook.url) });
      if (!(await store.deleteWebhook(accountId, id, audit))) throw notFound();
    },

    async deliveries(accountId, id) {
      const webhook = await owned(accountId, id);
      return store.listDeliveries(webhook.id, DELIVERIES_LISTED);
    },

    async redeliver(accountId, id, deliveryId) {
      // One answer for a missing webhook and a missing delivery, foreign ones included.
      const restarted = isId(id) && isId(deliveryId) ? await store.restartDelivery(accountId, id, deliveryId, clock.now()) : undefined;
      if (!restarted) throw new AppError('NOT_FOUND', 'No such delivery.');
      // After the update: should this enqueue fail, the request fails and may simply be repeated.
      await deps.enqueue(deliveryJob(restarted.id, restarted.retryFrom, `redeliver:${newId()}`));
      return restarted;
    },
  };
}

/** What the audit trail keeps of a URL: its origin (a path or query may carry the receiver's own secret). */
function originOf(url: string): string {
  return new URL(url).origin;
}
