/**
 * Lifecycle events and their fan-out to notification channels (docs/jobs.md). Every event is
 * an `event` job whose dedupe key is the event's own key; running it enqueues one job per
 * registered channel (`notify.<channel>`, dedupe key `<channel>:<event key>`), so one event
 * feeds email and webhooks alike, each exactly once, with retries of its own.
 */
import type { Actor, AuditEventInput } from '../audit/audit-event.js';
import { LruMap } from '../kernel/lru-map.js';
import type { NewJob, RetryPolicy } from './job.js';
import type { JobContext, JobRunner } from './job-runner.js';

export const EVENT_JOB_KIND = 'event';

/**
 * The audit actions that are also events: `writeWithAudit` enqueues an event job for each in
 * the same transaction as the change, so no producer has to. Add an action here to make it an
 * event (the channels decide what they send for it).
 */
export const EVENT_AUDIT_ACTIONS: ReadonlySet<string> = new Set(['token.created', 'token.revoked', 'token.rotated']);

export interface LifecycleEvent {
  /** An audit action from EVENT_AUDIT_ACTIONS, or `token.expiring` / `token.expired` (the expiry scan). */
  event: string;
  /** Unique per event, stable across retries: its job's dedupe key, and the base of each channel's. */
  key: string;
  occurredAt: number;
  /** The token concerned (every event so far is about one). */
  tokenId: string;
  /** The token's owner, when the producer knows it (the expiry scan does; audit events may not). */
  accountId?: string;
  /** Expiry events: `30d`, `7d`, `1d` or `0d` (the day it expires), and when it expires. */
  threshold?: string;
  expiresAt?: number;
  /** `token.new_address` (and any event about one request): the client address. */
  ip?: string;
  /** Audit events: who acted, and the audit detail (never a secret). */
  actor?: Actor;
  detail?: Record<string, unknown>;
}

/**
 * A token used from an address it had not been used from before (the notification service
 * enqueues it when the address is first recorded; key `token-new-address:<tokenId>:<ip>`). Email
 * sends it to owners who opted in; webhooks ignore it.
 */
export const NEW_ADDRESS_EVENT = 'token.new_address';

/**
 * A token presented from outside its IP allowlist and refused (webhooks send `token.ip_refused`).
 * Keyed per token, address and hour (`token-ip-refused:<tokenId>:<ip>:<hour start>`): a burst of
 * refusals is one event.
 */
export const IP_REFUSED_EVENT = 'token.ip_refused';
const IP_REFUSED_WINDOW_MS = 3_600_000;

export function ipRefusedEvent(token: { id: string; accountId: string }, ip: string, now: number): LifecycleEvent {
  const hour = Math.floor(now / IP_REFUSED_WINDOW_MS) * IP_REFUSED_WINDOW_MS;
  return { event: IP_REFUSED_EVENT, key: `token-ip-refused:${token.id}:${ip}:${hour}`, occurredAt: now, tokenId: token.id, accountId: token.accountId, ip };
}

/**
 * Enqueues `ipRefusedEvent` for each refusal, skipping (in memory) a token and address already
 * enqueued this hour, so a flood of refused requests is not a flood of inserts.
 */
export function createIpRefusedEvents(deps: { enqueue: (job: NewJob) => Promise<unknown>; clock: { now(): number } }) {
  const recent = new LruMap<string, string>(10_000);
  return async (token: { id: string; accountId: string }, ip: string): Promise<void> => {
    const event = ipRefusedEvent(token, ip, deps.clock.now());
    const seen = `${token.id} ${ip}`;
    if (recent.peek(seen) === event.key) return;
    recent.touch(seen, event.key);
    await deps.enqueue(eventJob(event));
  };
}

export function eventJob(event: LifecycleEvent): NewJob {
  return { kind: EVENT_JOB_KIND, payload: event, dedupeKey: event.key, runAt: event.occurredAt };
}

/** The event job for an audit event whose action is an event; undefined for the others. */
export function auditEventJob(audit: AuditEventInput): NewJob | undefined {
  if (!EVENT_AUDIT_ACTIONS.has(audit.action)) return undefined;
  return eventJob({
    event: audit.action,
    key: `audit:${audit.id}`,
    occurredAt: audit.occurredAt,
    tokenId: audit.targetId,
    actor: audit.actor,
    detail: audit.detail,
  });
}

export function channelJobKind(channel: string): string {
  return `notify.${channel}`;
}

export type ChannelHandler = (event: LifecycleEvent, context: JobContext) => Promise<void>;

export interface EventChannels {
  /**
   * Delivers every event from now on to `handler` as a `notify.<channel>` job of its own,
   * retried by `options.retry`. The handler decides whether the event concerns it (preferences,
   * subscriptions) and must be idempotent: a job may run again after a crash.
   */
  add(channel: string, handler: ChannelHandler, options?: { retry?: RetryPolicy; concurrency?: number; leaseMs?: number }): void;
  /** The channels registered (tests, start-up log). */
  list(): string[];
}

/** Registers the `event` kind on `runner`: each event is copied to every channel added. */
export function createEventChannels(runner: JobRunner): EventChannels {
  const channels = new Set<string>();
  runner.register(
    EVENT_JOB_KIND,
    async ({ payload }) => {
      const event = payload as LifecycleEvent;
      // A retry after a crash re-enqueues only the channel jobs not enqueued yet (dedupe).
      await runner.enqueue(
        [...channels].map((channel) => ({ kind: channelJobKind(channel), payload: event, dedupeKey: `${channel}:${event.key}` })),
      );
    },
    // Every token creation is an event: claim them in bigger batches, fewer write transactions.
    { concurrency: 16 },
  );
  return {
    add(channel, handler, options) {
      if (channels.has(channel)) throw new Error(`channel ${channel} is already registered`);
      channels.add(channel);
      runner.register(channelJobKind(channel), (context) => handler(context.payload as LifecycleEvent, context), options);
    },
    list: () => [...channels],
  };
}
