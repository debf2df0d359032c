/**
 * The database tables as Kysely sees them: snake_case columns, epoch-millisecond timestamps
 * (`bigint`), 0/1 integers for flags (SQLite binds no booleans). Each capability maps its rows to
 * its own camelCase records in its Kysely store, selecting the columns listed here: one list
 * per table, so a column added to a table is added once.
 */
import type { Generated } from 'kysely';

export interface AccountsTable {
  id: string;
  email: string | null;
  name: string | null;
  is_admin: number;
  created_at: number;
  disabled_at: number | null;
  /** OpenID Connect identity: (issuer, subject) is unique. */
  oidc_issuer?: string | null;
  oidc_subject?: string | null;
  last_sign_in_at?: number | null;
  /** 'person' or 'service' (0012, default 'person'): a service account never signs in. */
  kind: Generated<string>;
  /** A service account's description (0012). */
  description?: string | null;
  /** The administrator who created a service account (0012); a plain id, kept after their deletion. */
  created_by?: string | null;
}

export interface TokensTable {
  id: string;
  account_id: string;
  name: string;
  /** Where the token is used, or null (0010_token_note). */
  note: string | null;
  /** The token's scopes, space-separated in TOKEN_SCOPES order (0011_token_scopes). */
  scopes: string;
  /** Namespace names or `prefix*` patterns, space-separated; null: every namespace. */
  namespaces: string | null;
  /** Addresses or CIDRs (canonical), space-separated; null: anywhere. */
  allowed_ips: string | null;
  /** SHA-256 of the token; the secret itself is never stored. */
  digest: Buffer;
  last4: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  last_used_ip: string | null;
  /** The token this one replaced by rotation (0015_token_rotation). */
  rotated_from?: string | null;
  /** The token that replaced this one by rotation. */
  replaced_by?: string | null;
  rotated_at?: number | null;
  /** The end of the old secret's grace window (its expiry was shortened to it). */
  grace_until?: number | null;
  /** Uses of this (replaced) token's secret since the rotation. */
  rotation_uses?: number;
}

/** The distinct addresses a token was used from, for its page (the last few are shown). */
export interface TokenAddressesTable {
  token_id: string;
  ip: string;
  last_used_at: number;
}

export interface SessionsTable {
  /** SHA-256 of the session id carried by the cookie. */
  id_digest: Buffer;
  account_id: string;
  csrf_token: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export interface NamespacesTable {
  id: string;
  name: string;
  account_id: string;
  created_at: number;
}

export interface AuditEventsTable {
  seq: Generated<number>;
  id: string;
  occurred_at: number;
  action: string;
  actor_account_id: string | null;
  actor_token_id: string | null;
  actor_ip: string | null;
  target_id: string;
  detail: string;
}

/** One-time sign-in links, by the SHA-256 of their secret. */
export interface SignInLinksTable {
  digest: Buffer;
  account_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** OpenID Connect sign-ins in progress, by the SHA-256 of their `state`. */
export interface LoginFlowsTable {
  state_digest: Buffer;
  /** SHA-256 of the random value in the browser's flow cookie: binds the flow to that browser. */
  browser_digest: Buffer;
  code_verifier: string;
  nonce: string;
  return_to: string;
  created_at: number;
  expires_at: number;
}

/** CLI browser logins approved by a user, waiting for the CLI to exchange the code. */
export interface CliGrantsTable {
  code_digest: Buffer;
  account_id: string;
  code_challenge: string;
  redirect_uri: string;
  client_name: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** Messages for an account's owner, shown in the console until dismissed. */
export interface NoticesTable {
  id: string;
  account_id: string;
  kind: string;
  created_at: number;
  /** JSON: what the notice is about (for `tokens_reported`: the tokens' id, name and last4). */
  detail: string;
  dismissed_at: number | null;
}

/** Failed bearer authentications of one client key in one 30-second bucket (the database-backed limiter). */
export interface AuthFailuresTable {
  client_key: string;
  /** Epoch milliseconds divided by the bucket length, rounded down. */
  bucket: number;
  failures: number;
}

/** Leaked-token reports stored before their 202 and not processed yet (docs/security.md, item 59). */
export interface PendingCredentialReportsTable {
  id: string;
  received_at: number;
  reporter_ip: string | null;
  /** The reported tokens' SHA-256 digests, 32 bytes each, concatenated; never a token. */
  digests: Buffer;
  attempts: number;
  /** When an instance may next claim the report (epoch ms). */
  next_attempt_at: number;
}

/** The instance policy (0012): one row, id 1; absent until an administrator first saves it. */
export interface PolicyTable {
  id: number;
  max_lifetime_days: number;
  /** Null: service tokens have no maximum (up to TOKEN_LIFETIME_LIMIT_DAYS). */
  service_max_lifetime_days: number | null;
  /** Space-separated scope names. */
  personal_scopes: string;
  /** Null: idle tokens are never revoked. */
  idle_revoke_days: number | null;
  updated_at: number;
}

/** The revocation feed, written by triggers (0013_revocation_events). */
export interface RevocationEventsTable {
  seq: Generated<number>;
  /** `token` (revoked, or deleted with its account) or `account` (disabled or deleted). */
  kind: string;
  subject_id: string;
  occurred_at: number;
}

/** The job runner's queue (0014_jobs); see jobs/job.ts. */
export interface JobsTable {
  id: string;
  kind: string;
  /** JSON; never a secret. */
  payload: string;
  /** Unique when set: a second enqueue with the same key does nothing. */
  dedupe_key: string | null;
  /** pending | running | done | failed */
  state: string;
  run_at: number;
  attempts: number;
  /** The runner holding the lease, until `locked_until`. */
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  created_at: number;
  finished_at: number | null;
}

/** A webhook endpoint (0017_webhooks): an account's, or instance-wide (an administrator's, every account's events). */
export interface WebhooksTable {
  id: string;
  account_id: string;
  /** 1: every account's events (created by an administrator); 0: its owner's tokens only. */
  instance_wide: number;
  url: string;
  /** JSON array of event types. */
  events: string;
  description: string | null;
  /** The `whsec_…` signing secret: the server signs with it, so it is kept; never returned after creation. */
  secret: string;
  created_at: number;
  updated_at: number;
  disabled_at: number | null;
  disabled_reason: string | null;
  /** When the current unbroken streak of failed attempts began; null after a success. */
  failing_since: number | null;
}

/** One event sent to one endpoint: its body, kept so retries and redeliveries send the same bytes. */
export interface WebhookDeliveriesTable {
  id: string;
  webhook_id: string;
  /** The `webhook-id` header: the same on every attempt and redelivery. */
  message_id: string;
  event: string;
  /** The lifecycle event's key (unique per endpoint: an event is delivered once per endpoint). */
  event_key: string;
  payload: string;
  status: string;
  attempts: number;
  response_status: number | null;
  duration_ms: number | null;
  error: string | null;
  response_excerpt: string | null;
  created_at: number;
  /** When the current series of attempts began (creation, or the last redelivery): the 24 h window's start. */
  retry_from: number;
  last_attempt_at: number | null;
  finished_at: number | null;
}

/** Each attempt of a delivery, for the back-off timeline. */
export interface WebhookAttemptsTable {
  id: string;
  delivery_id: string;
  attempt: number;
  attempted_at: number;
  succeeded: number;
  response_status: number | null;
  duration_ms: number;
  error: string | null;
}

/** An account's email switches (0016_notification_preferences); no row: the defaults. */
export interface NotificationPreferencesTable {
  account_id: string;
  expiry: number;
  revoked: number;
  ip_refused: number;
  new_address: number;
  updated_at: number;
}

/** One row per email the notification channel decided on (0016), keyed by what it is about. */
export interface EmailNotificationsTable {
  key: string;
  /** The job that claimed the key: only it sends (again, when it is retried). */
  job_id: string;
  kind: string;
  token_id: string;
  account_id: string | null;
  /** claimed | sent | skipped (switched off) | no_recipient */
  state: string;
  created_at: number;
  sent_at: number | null;
}

export interface Tables {
  accounts: AccountsTable;
  tokens: TokensTable;
  token_addresses: TokenAddressesTable;
  sessions: SessionsTable;
  namespaces: NamespacesTable;
  audit_events: AuditEventsTable;
  signin_links: SignInLinksTable;
  login_flows: LoginFlowsTable;
  cli_grants: CliGrantsTable;
  notices: NoticesTable;
  pending_credential_reports: PendingCredentialReportsTable;
  auth_failures: AuthFailuresTable;
  policy: PolicyTable;
  revocation_events: RevocationEventsTable;
  jobs: JobsTable;
  notification_preferences: NotificationPreferencesTable;
  email_notifications: EmailNotificationsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
}

/** The columns every read of a table selects (the digest and sign-in bookkeeping stay out). */
export const ACCOUNT_COLUMNS = ['id', 'email', 'name', 'is_admin', 'created_at', 'disabled_at', 'kind'] as const satisfies ReadonlyArray<
  keyof AccountsTable
>;
export const TOKEN_COLUMNS = [
  'id',
  'account_id',
  'name',
  'note',
  'scopes',
  'namespaces',
  'allowed_ips',
  'last4',
  'created_at',
  'expires_at',
  'revoked_at',
  'last_used_at',
  'last_used_ip',
  'rotated_from',
  'replaced_by',
  'rotated_at',
  'grace_until',
  'rotation_uses',
] as const satisfies ReadonlyArray<keyof TokensTable>;
export const SESSION_COLUMNS = ['account_id', 'csrf_token', 'created_at', 'last_seen_at', 'expires_at'] as const satisfies ReadonlyArray<
  keyof SessionsTable
>;
export const NAMESPACE_COLUMNS = ['id', 'name', 'account_id', 'created_at'] as const satisfies ReadonlyArray<keyof NamespacesTable>;
export const NOTICE_COLUMNS = ['id', 'account_id', 'kind', 'created_at', 'detail', 'dismissed_at'] as const satisfies ReadonlyArray<
  keyof NoticesTable
>;
export const AUDIT_EVENT_COLUMNS = [
  'id',
  'occurred_at',
  'action',
  'actor_account_id',
  'actor_token_id',
  'actor_ip',
  'target_id',
  'detail',
] as const satisfies ReadonlyArray<keyof AuditEventsTable>;

export const JOB_COLUMNS = [
  'id',
  'kind',
  'payload',
  'dedupe_key',
  'state',
  'run_at',
  'attempts',
  'locked_by',
  'locked_until',
  'last_error',
  'created_at',
  'finished_at',
] as const satisfies ReadonlyArray<keyof JobsTable>;

export const WEBHOOK_COLUMNS = [
  'id',
  'account_id',
  'instance_wide',
  'url',
  'events',
  'description',
  'created_at',
  'updated_at',
  'disabled_at',
  'disabled_reason',
  'failing_since',
] as const satisfies ReadonlyArray<keyof WebhooksTable>;
export const WEBHOOK_DELIVERY_COLUMNS = [
  'id',
  'webhook_id',
  'message_id',
  'event',
  'event_key',
  'status',
  'attempts',
  'response_status',
  'duration_ms',
  'error',
  'response_excerpt',
  'created_at',
  'retry_from',
  'last_attempt_at',
  'finished_at',
] as const satisfies ReadonlyArray<keyof WebhookDeliveriesTable>;
export const WEBHOOK_ATTEMPT_COLUMNS = [
  'id',
  'delivery_id',
  'attempt',
  'attempted_at',
  'succeeded',
  'response_status',
  'duration_ms',
  'error',
] as const satisfies ReadonlyArray<keyof WebhookAttemptsTable>;

export const NOTIFICATION_PREFERENCE_COLUMNS = ['expiry', 'revoked', 'ip_refused', 'new_address'] as const satisfies ReadonlyArray<
  keyof NotificationPreferencesTable
>;
export const EMAIL_NOTIFICATION_COLUMNS = ['key', 'job_id', 'kind', 'token_id', 'account_id', 'state', 'created_at', 'sent_at'] as const satisfies ReadonlyArray<
  keyof EmailNotificationsTable
>;

/** `[alias.column, …]`, typed, for a select over a joined (aliased) table. */
export function qualified<A extends string, C extends string>(alias: A, columns: readonly C[]): Array<`${A}.${C}`> {
  return columns.map((column) => `${alias}.${column}` as const);
}

/** `[alias.column as prefix_column, …]`, typed: a joined table's columns under distinct names. */
export function prefixed<A extends string, C extends string, P extends string>(
  alias: A,
  columns: readonly C[],
  prefix: P,
): Array<{ [K in C]: `${A}.${K} as ${P}${K}` }[C]> {
  // The mapped type pairs each column with its own alias (a plain template over the union would
  // pair every column with every alias).
  return columns.map((column) => `${alias}.${column} as ${prefix}${column}` as { [K in C]: `${A}.${K} as ${P}${K}` }[C]);
}

/** Epoch milliseconds come back as numbers from SQLite and as int8 strings from PostgreSQL. */
export function nullableNumber(value: number | string | null): number | null {
  return value === null ? null : Number(value);
}
