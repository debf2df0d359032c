/** What a notice is about; the console words each kind. */
export type NoticeKind =
  | 'tokens_reported'
  | 'token_outside_allowlist'
  | 'token_revoked_by_admin'
  | 'tokens_revoked_idle'
  | 'account_changed_by_admin'
  | 'webhook_disabled';

/**
 * A message for an account's owner, shown in the console until dismissed. For
 * `tokens_reported`, `detail.tokens` lists the `{id, name, last4}` of the tokens revoked because
 * someone reported them as leaked.
 */
export interface NoticeRecord {
  id: string;
  accountId: string;
  kind: NoticeKind;
  createdAt: number;
  detail: Record<string, unknown>;
  dismissedAt: number | null;
}

export type NoticeInput = Omit<NoticeRecord, 'dismissedAt'>;

/** The detail of a `tokens_reported` notice. */
export interface ReportedTokensNoticeDetail {
  tokens: Array<{ id: string; name: string; last4: string }>;
}

/** The detail of a `token_outside_allowlist` notice: which token was refused, and from where. */
export interface OutsideAllowlistNoticeDetail {
  token: { id: string; name: string; last4: string; note: string | null };
  ip: string;
}

/** The detail of a `tokens_revoked_idle` notice: the owner's tokens the idle rule revoked in one pass. */
export interface RevokedIdleNoticeDetail {
  tokens: Array<{ id: string; name: string; last4: string }>;
  idleDays: number;
}

/** The detail of a `token_revoked_by_admin` notice: which token an administrator revoked. */
export interface RevokedByAdminNoticeDetail {
  token: { id: string; name: string; last4: string; note: string | null };
}

/**
 * The detail of an `account_changed_by_admin` notice: what an administrator changed about the
 * account (PATCH /api/v1/admin/accounts/:id, or re-enabling it after a disable). `name` is the new
 * name of a `renamed` change (null when it was cleared).
 */
export interface ChangedByAdminNoticeDetail {
  change: 'enabled' | 'admin_granted' | 'admin_revoked' | 'renamed';
  name?: string | null;
}

/** The detail of a `webhook_disabled` notice: an endpoint disabled after 3 days of failed deliveries. */
export interface WebhookDisabledNoticeDetail {
  webhook: { id: string; url: string; description: string | null };
  /** When its unbroken streak of failures began (epoch ms). */
  failingSince: number | null;
}
