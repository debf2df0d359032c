/**
 * Signed webhooks (docs/webhooks.md): an endpoint receives the token lifecycle events it
 * subscribed to, each a delivery signed per the Standard Webhooks spec and retried with
 * back-off for a day. The model: endpoints, deliveries (one per event per endpoint) and attempts.
 */
import { randomBytes } from 'node:crypto';
import type { WebhookEvent } from '@latchkey/contract';

export interface WebhookRecord {
  id: string;
  accountId: string;
  /** Every account's events (an administrator's endpoint), not only its owner's tokens. */
  instanceWide: boolean;
  url: string;
  events: WebhookEvent[];
  description: string | null;
  createdAt: number;
  updatedAt: number;
  disabledAt: number | null;
  /** `owner`: disabled through the API; `failing`: after 3 days of failed attempts. */
  disabledReason: 'owner' | 'failing' | null;
  /** Start of the current unbroken streak of failed attempts; null after a success. */
  failingSince: number | null;
}

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface WebhookDeliveryRecord {
  id: string;
  webhookId: string;
  /** The `webhook-id` header: the same on every attempt and redelivery of this delivery. */
  messageId: string;
  event: WebhookEvent;
  eventKey: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  responseStatus: number | null;
  durationMs: number | null;
  error: string | null;
  responseExcerpt: string | null;
  createdAt: number;
  /** When the current series of attempts began: its 24 h retry window starts here. */
  retryFrom: number;
  lastAttemptAt: number | null;
  finishedAt: number | null;
}

export interface WebhookAttemptRecord {
  id: string;
  deliveryId: string;
  attempt: number;
  attemptedAt: number;
  succeeded: boolean;
  responseStatus: number | null;
  durationMs: number;
  error: string | null;
}

/** A delivery about to be attempted: its endpoint (with the secret to sign with) and its body. */
export interface DeliveryToAttempt {
  delivery: WebhookDeliveryRecord;
  webhook: WebhookRecord;
  secret: string;
  payload: string;
}

/** The outcome of one attempt, as recorded. */
export interface AttemptOutcome {
  attemptedAt: number;
  succeeded: boolean;
  responseStatus: number | null;
  durationMs: number;
  error: string | null;
  responseExcerpt: string | null;
  /** No attempt follows (retries exhausted): the delivery is `failed`. */
  final: boolean;
}

/** Finished deliveries (and their attempts) are kept this long for the owner to look at, then pruned. */
export const DELIVERY_RETENTION_MS = 30 * 86_400_000;

/** An unbroken streak of failures this long disables the endpoint (with a notice to its owner). */
export const DISABLE_AFTER_FAILING_MS = 3 * 86_400_000;

/** A signing secret in the Standard Webhooks form: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The `webhook-id` of a delivery. */
export function messageIdFor(deliveryId: string): string {
  return `msg_${deliveryId.replaceAll('-', '')}`;
}
