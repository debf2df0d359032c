/**
 * Turning lifecycle events into signed deliveries, and attempting them (docs/webhooks.md). The
 * `webhook` channel of the event fan-out (jobs/events.ts) stores one delivery per subscribed
 * endpoint and enqueues its `webhook.deliver` job in the same transaction; each run of that job
 * is one attempt: signed (Standard Webhooks), sent through the SSRF-safe sender, recorded, and
 * retried by the runner with back-off while the 24 h window lasts.
 */
import { WEBHOOK_EVENTS, type WebhookEvent } from '@latchkey/contract';
import { Webhook } from 'standardwebhooks';
import type { Clock } from '../kernel/clock.js';
import { newId } from '../kernel/ids.js';
import type { LifecycleEvent } from '../jobs/events.js';
import { nextAttemptAt, type NewJob, type RetryPolicy } from '../jobs/job.js';
import type { NoticeInput } from '../notices/notice.js';
import { DISABLE_AFTER_FAILING_MS, messageIdFor, type WebhookRecord } from './webhook.js';
import type { WebhookSender } from './webhook-sender.js';
import type { EventToken, WebhookStore } from './webhook-store.js';

export const WEBHOOK_DELIVER_JOB = 'webhook.deliver';

/**
 * The job of one series of attempts of a delivery, starting at `retryFrom`: the first (`series`
 * 'first', so a repeated fan-out enqueues it once) or a redelivery (a fresh series id each time).
 */
export function deliveryJob(deliveryId: string, retryFrom: number, series = 'first'): NewJob {
  return { kind: WEBHOOK_DELIVER_JOB, payload: { deliveryId, retryFrom }, dedupeKey: `${WEBHOOK_DELIVER_JOB}:${deliveryId}:${series}`, runAt: retryFrom };
}

/** The JSON body of a delivery: the Standard Webhooks shape. Never a secret. */
export interface WebhookPayload {
  type: WebhookEvent;
  timestamp: string;
  data: Record<string, unknown>;
}

export interface WebhookDelivery {
  /** The `webhook` channel's handler: one delivery per endpoint subscribed to the event. */
  fanOut(event: LifecycleEvent): Promise<void>;
  /**
   * One attempt of the series of a delivery that began at `retryFrom` (`attempt` counts its runs,
   * 1 first); a series a redelivery replaced ends without sending. Throws when it failed and
   * another attempt is due, so the runner retries it with back-off.
   */
  attempt(deliveryId: string, retryFrom: number, attempt: number): Promise<void>;
}

export function createWebhookDelivery(deps: {
  store: WebhookStore;
  clock: Clock;
  send: WebhookSender;
  retry: RetryPolicy;
  /** The time a request is signed with: the wall clock, as receivers check it against theirs. */
  signingTime?: () => Date;
}): WebhookDelivery {
  const { store, clock, send, retry } = deps;
  const signingTime = deps.signingTime ?? (() => new Date());

  return {
    async fanOut(event) {
      const type = webhookEventOf(event);
      if (!type) return;
      const token = await store.findEventToken(event.tokenId);
      if (!token) return;
      const endpoints = (await store.listEndpointsFor(token.accountId)).filter((webhook) => webhook.events.includes(type));
      if (endpoints.length === 0) return;
      const payload = JSON.stringify(payloadFor(type, event, token));
      const now = clock.now();
      await store.insertDeliveries(
        endpoints.map((webhook) => {
          const id = newId();
          return { id, webhookId: webhook.id, messageId: messageIdFor(id), event: type, eventKey: event.key, payload, createdAt: now };
        }),
      );
    },

    async attempt(deliveryId, retryFrom, attempt) {
      const found = await store.findDeliveryToAttempt(deliveryId);
      if (!found || found.delivery.status !== 'pending' || found.delivery.retryFrom !== retryFrom) return;
      const { delivery, webhook } = found;
      if (webhook.disabledAt !== null) {
        await store.abandonDelivery(deliveryId, 'endpoint disabled', clock.now());
        return;
      }
      const signedAt = signingTime();
      const headers = {
        'webhook-id': delivery.messageId,
        'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)),
        'webhook-signature': new Webhook(found.secret).sign(delivery.messageId, signedAt, found.payload),
      };
      const attemptedAt = clock.now();
      const response = await send({ url: webhook.url, body: found.payload, headers });
      const succeeded = response.error === null;
      // Final when even the earliest next attempt would fall outside the policy (the runner's
      // jitter only ever moves it later), so the runner never retries a delivery recorded failed.
      const final = !succeeded && nextAttemptAt(retry, { attempts: attempt, createdAt: delivery.retryFrom }, attemptedAt + response.durationMs, 1) === null;
      const { disabled } = await store.recordAttempt(
        deliveryId,
        { attemptedAt, succeeded, responseStatus: response.status, durationMs: response.durationMs, error: response.error, responseExcerpt: response.excerpt, final },
        { disableAfterMs: DISABLE_AFTER_FAILING_MS, disableNotice },
      );
      if (disabled) {
        await store.abandonDelivery(deliveryId, 'endpoint disabled after 3 days of failures', attemptedAt);
        return;
      }
      if (!succeeded && !final) throw new Error(`webhook delivery attempt ${attempt} failed: ${response.error}`);
    },
  };

  function disableNotice(webhook: WebhookRecord): NoticeInput {
    return {
      id: newId(),
      accountId: webhook.accountId,
      kind: 'webhook_disabled',
      createdAt: webhook.disabledAt ?? clock.now(),
      detail: { webhook: { id: webhook.id, url: webhook.url, description: webhook.description }, failingSince: webhook.failingSince },
    };
  }
}

/** The webhook event type of a lifecycle event: a revocation by a leak report is `token.leaked`. */
function webhookEventOf(event: LifecycleEvent): WebhookEvent | undefined {
  const type = event.event === 'token.revoked' && event.detail?.via === 'credential-report' ? 'token.leaked' : event.event;
  return (WEBHOOK_EVENTS as readonly string[]).includes(type) ? (type as WebhookEvent) : undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** What a receiver learns: the token (never its secret) and what happened to it. */
export function payloadFor(type: WebhookEvent, event: LifecycleEvent, token: EventToken): WebhookPayload {
  const detail = event.detail ?? {};
  const data: Record<string, unknown> = {
    tokenId: token.id,
    name: token.name,
    accountId: token.accountId,
    note: token.note,
    scopes: token.scopes,
    expiresAt: iso(event.expiresAt ?? token.expiresAt),
  };
  if (type === 'token.expiring') data.thresholdDays = Number.parseInt(event.threshold ?? '', 10);
  if (type === 'token.rotated') {
    if (typeof detail.replacedBy === 'string') data.replacedBy = detail.replacedBy;
    if (typeof detail.graceUntil === 'number') data.graceUntil = iso(detail.graceUntil);
  }
  if (type === 'token.revoked') {
    data.revokedAt = iso(event.occurredAt);
    data.revokedBy = detail.byAdministrator === true ? 'administrator' : detail.reason === 'idle' ? 'idle_rule' : 'owner';
  }
  if (type === 'token.leaked') data.revokedAt = iso(event.occurredAt);
  if (type === 'token.ip_refused' && event.ip !== undefined) data.address = event.ip;
  return { type, timestamp: iso(event.occurredAt), data };
}
