/**
 * Email notifications (docs/notifications.md): the `email` channel of the lifecycle events
 * (jobs/events.ts) and each account's switches. An event becomes at most one email, keyed by
 * what it is about (`expiry:<token>:<threshold>`, `revoked:<token>`, …): the job that claims the
 * key sends it, so a retried job, a second instance or a second producer of the same news never
 * sends it twice. A switched-off kind, or a token with nobody to tell, is recorded and not sent.
 */
import {
  DEFAULT_NOTIFICATION_PREFERENCES,
  type NotificationPreferences,
  type NotificationSettings,
  type UpdateNotificationPreferences,
} from '@latchkey/contract';
import type { Clock } from '../kernel/clock.js';
import { AppError } from '../kernel/app-error.js';
import { NEW_ADDRESS_EVENT, type LifecycleEvent } from '../jobs/events.js';
import { renderEmail } from './email-templates.js';
import type { Mailer } from './mailer.js';
import { EMAIL_PREFERENCE, type EmailDecision, type Recipient, type TokenRecipients } from './notification.js';
import type { NotificationStore } from './notification-store.js';

export interface NotificationService {
  /** Whether this server sends email (SMTP_URL is set). */
  readonly emailConfigured: boolean;
  settings(accountId: string): Promise<NotificationSettings>;
  /** Changes the switches named in `update`; the others keep their value. */
  updatePreferences(accountId: string, update: UpdateNotificationPreferences): Promise<NotificationSettings>;
  /**
   * The email channel's handler: sends the email `event` calls for, at most once per key;
   * throws when the SMTP server fails, so the job is retried (by the job that holds the key).
   */
  deliver(event: LifecycleEvent, job: { jobId: string }): Promise<void>;
  /**
   * Called before a token's address is recorded: when the token was used before but never from
   * `ip`, the `token.new_address` event is enqueued (idempotent per token and address).
   */
  noteAddress(tokenId: string, ip: string, usedAt: number): Promise<void>;
  /** The emails decided on about a token and how each ended, oldest first (support, tests). */
  outcomes(tokenId: string): Promise<Array<{ key: string; kind: string; state: string }>>;
}

export interface NotificationDeps {
  store: NotificationStore;
  clock: Clock;
  /** Absent without SMTP_URL: nothing is sent and the preferences say so. */
  mailer?: Mailer;
  /** The console's origin, for the links in each email. */
  publicUrl: string;
  /** Enqueues a lifecycle event (jobs/events.ts) for every channel. */
  enqueueEvent: (event: LifecycleEvent) => Promise<void>;
  /** Emails decided on (sent, skipped, no recipient): for the log. Never a secret. */
  onOutcome?: (outcome: { key: string; kind: string; tokenId: string; outcome: string }) => void;
}

export function createNotificationService(deps: NotificationDeps): NotificationService {
  const { store, clock, mailer } = deps;

  async function settings(accountId: string): Promise<NotificationSettings> {
    const [preferences, sendTo] = await Promise.all([store.findPreferences(accountId), store.findAccountEmail(accountId)]);
    if (sendTo === undefined) throw new AppError('NOT_FOUND', 'Account not found');
    return { preferences: preferences ?? DEFAULT_NOTIFICATION_PREFERENCES, emailConfigured: mailer !== undefined, sendTo };
  }

  function links(token: TokenRecipients['token']) {
    return {
      tokenPage: token.serviceAccount ? `${deps.publicUrl}/admin/service-accounts` : `${deps.publicUrl}/settings/tokens/${encodeURIComponent(token.id)}`,
      preferences: `${deps.publicUrl}/settings/notifications`,
    };
  }

  return {
    emailConfigured: mailer !== undefined,
    settings,

    async updatePreferences(accountId, update) {
      const current = await settings(accountId);
      const preferences: NotificationPreferences = { ...current.preferences, ...definedOnly(update) };
      await store.savePreferences(accountId, preferences, clock.now());
      return { ...current, preferences };
    },

    async deliver(event, job) {
      if (!mailer) return;
      const found = await store.findTokenRecipients(event.tokenId);
      if (!found) return;
      const decision = decide(event, found);
      if (!decision) return;
      if (!(await store.claimEmail({ key: decision.key, jobId: job.jobId, kind: decision.kind, tokenId: decision.tokenId, now: clock.now() }))) return;
      const settle = async (outcome: 'sent' | 'skipped' | 'no_recipient', accountId: string | null) => {
        await store.settleEmail(decision.key, job.jobId, outcome, accountId, clock.now());
        deps.onOutcome?.({ key: decision.key, kind: decision.kind, tokenId: decision.tokenId, outcome });
      };
      const recipient = recipientOf(found);
      if (!recipient) return settle('no_recipient', null);
      const preferences = (await store.findPreferences(recipient.accountId)) ?? DEFAULT_NOTIFICATION_PREFERENCES;
      if (!preferences[EMAIL_PREFERENCE[decision.kind]]) return settle('skipped', recipient.accountId);
      const email = renderEmail(decision, found.token, links(found.token));
      await mailer.send({ to: recipient.email, ...email });
      await settle('sent', recipient.accountId);
    },

    async noteAddress(tokenId, ip, usedAt) {
      const { known, usedBefore } = await store.findTokenAddress(tokenId, ip);
      if (known || !usedBefore) return;
      await deps.enqueueEvent({ event: NEW_ADDRESS_EVENT, key: `token-new-address:${tokenId}:${ip}`, occurredAt: usedAt, tokenId, ip });
    },

    outcomes: (tokenId) => store.listEmailOutcomes(tokenId),
  };
}

/** The email an event calls for, if any. */
function decide(event: LifecycleEvent, found: TokenRecipients): EmailDecision | undefined {
  const base = { tokenId: event.tokenId, occurredAt: event.occurredAt };
  const ip = addressOf(event);
  switch (event.event) {
    case 'token.expiring':
    case 'token.expired': {
      // Revoked or rotated since the scan: the warning is moot.
      if (found.token.retired) return undefined;
      const threshold = event.threshold ?? '0d';
      return { ...base, kind: 'expiry', threshold, key: `expiry:${event.tokenId}:${threshold}` };
    }
    case 'token.revoked': {
      const detail = event.detail ?? {};
      if (detail.via === 'credential-report') return { ...base, kind: 'revoked_leaked', key: `revoked:${event.tokenId}` };
      // An administrator revoking their own token through the admin API is not news to them.
      if (detail.byAdministrator === true && event.actor?.accountId !== found.token.accountId) {
        return { ...base, kind: 'revoked_by_admin', key: `revoked:${event.tokenId}` };
      }
      return undefined;
    }
    case 'token.leaked':
      return { ...base, kind: 'revoked_leaked', key: `revoked:${event.tokenId}` };
    case 'token.ip_refused':
      return ip ? { ...base, kind: 'ip_refused', ip, key: `ip-refused:${event.tokenId}:${ip}` } : undefined;
    case NEW_ADDRESS_EVENT:
      return ip ? { ...base, kind: 'new_address', ip, key: `new-address:${event.tokenId}:${ip}` } : undefined;
    default:
      return undefined;
  }
}

/** The client address an event is about, wherever its producer put it. */
function addressOf(event: LifecycleEvent): string | undefined {
  const candidates: unknown[] = [event.ip, event.detail?.ip, event.detail?.address];
  return candidates.find((value): value is string => typeof value === 'string' && value.length > 0);
}

/**
 * A person's tokens tell the person; a service account has no mailbox, so its tokens tell the
 * administrator who created it. Nobody, when that account has no email address or is disabled.
 */
function recipientOf(found: TokenRecipients): Recipient | undefined {
  const account = found.token.serviceAccount ? found.creator : found.owner;
  if (!account || account.disabled || !account.email) return undefined;
  return { accountId: account.id, email: account.email };
}

function definedOnly(update: UpdateNotificationPreferences): Partial<NotificationPreferences> {
  return Object.fromEntries(Object.entries(update).filter(([, value]) => value !== undefined));
}
