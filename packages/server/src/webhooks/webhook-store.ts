import type { AuditEventInput } from '../audit/audit-event.js';
import type { NoticeInput } from '../notices/notice.js';
import type {
  AttemptOutcome,
  DeliveryToAttempt,
  WebhookAttemptRecord,
  WebhookDeliveryRecord,
  WebhookRecord,
} from './webhook.js';

/** A token as an event's payload describes it (never its secret or digest). */
export interface EventToken {
  id: string;
  accountId: string;
  name: string;
  note: string | null;
  scopes: string[];
  expiresAt: number;
}

export interface NewDelivery {
  id: string;
  webhookId: string;
  messageId: string;
  event: string;
  eventKey: string;
  payload: string;
  createdAt: number;
}

export interface WebhookStore {
  /** Inserts an endpoint with its secret and its audit event, unless the account already holds `maxPerAccount` (false then). */
  insertWebhook(webhook: WebhookRecord, secret: string, limits: { maxPerAccount: number }, audit: AuditEventInput): Promise<boolean>;
  /** The account's endpoints, oldest first. */
  listWebhooks(accountId: string): Promise<WebhookRecord[]>;
  /** One of the account's endpoints; undefined for a missing or foreign one. */
  findWebhook(accountId: string, id: string): Promise<WebhookRecord | undefined>;
  /**
   * Writes the changed fields of one of the account's endpoints with the audit event; the updated
   * record, or undefined when there is none (and nothing is written).
   */
  updateWebhook(
    accountId: string,
    id: string,
    change: Partial<Pick<WebhookRecord, 'url' | 'events' | 'description' | 'disabledAt' | 'disabledReason' | 'failingSince'>>,
    updatedAt: number,
    audit: AuditEventInput,
  ): Promise<WebhookRecord | undefined>;
  /** Deletes one of the account's endpoints with its deliveries, and records the audit event; false when there was none. */
  deleteWebhook(accountId: string, id: string, audit: AuditEventInput): Promise<boolean>;

  /** The token an event is about, or undefined when it no longer exists. */
  findEventToken(tokenId: string): Promise<EventToken | undefined>;
  /**
   * The enabled endpoints an event about a token of `accountId` goes to: the account's own, and
   * every instance-wide endpoint whose owner is still an enabled administrator.
   */
  listEndpointsFor(accountId: string): Promise<WebhookRecord[]>;
  /**
   * Inserts deliveries, each at most once per endpoint and event key (a repeat is a no-op), and
   * answers the ids stored for them — the existing ones for repeats, so a retried fan-out
   * enqueues the same attempts.
   */
  insertDeliveries(deliveries: readonly NewDelivery[]): Promise<string[]>;
  /** The delivery with its endpoint, secret and body; undefined when it (or its endpoint) is gone. */
  findDeliveryToAttempt(deliveryId: string): Promise<DeliveryToAttempt | undefined>;
  /**
   * Records one attempt atomically: the attempt row, the delivery's last outcome and status
   * (`succeeded`, or `failed` when final), and the endpoint's failing streak (cleared by a
   * success, started by a failure). A failure that makes the streak `disableAfterMs` old disables
   * the endpoint and writes `disableNotice` in the same transaction; answers whether it did.
   */
  recordAttempt(
    deliveryId: string,
    outcome: AttemptOutcome,
    streak: { disableAfterMs: number; disableNotice: (webhook: WebhookRecord) => NoticeInput },
  ): Promise<{ disabled: boolean }>;
  /** Marks a pending delivery failed without an attempt (its endpoint was disabled meanwhile). */
  abandonDelivery(deliveryId: string, reason: string, at: number): Promise<void>;
  /**
   * Puts a delivery of the account's endpoint back to pending for a new series of attempts from
   * `at` (later than the series it replaces, which then ends); undefined when there is none.
   */
  restartDelivery(accountId: string, webhookId: string, deliveryId: string, at: number): Promise<WebhookDeliveryRecord | undefined>;
  /** Deletes at most `limit` deliveries finished before `before`, with their attempts; answers how many. */
  pruneFinishedDeliveries(before: number, limit: number): Promise<number>;
  /** The endpoint's deliveries, newest first, at most `limit`, each with its attempts (oldest first). */
  listDeliveries(
    webhookId: string,
    limit: number,
  ): Promise<Array<WebhookDeliveryRecord & { attemptLog: WebhookAttemptRecord[] }>>;
}
