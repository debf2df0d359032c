/**
 * The database tables as Kysely sees them: snake_case columns, epoch-millisecond timestamps
 * (`bigint`), 0/1 integers for flags (SQLite binds no booleans). Mapped to the camelCase
 * records of `store.ts` in `kysely-store.ts` only.
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
}

export interface TokensTable {
  id: string;
  account_id: string;
  name: string;
  /** SHA-256 of the token; the secret itself is never stored. */
  digest: Buffer;
  last4: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  last_used_ip: string | null;
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

/** Failed bearer authentications of one client address (the database-backed limiter). */
export interface AuthFailuresTable {
  client_key: string;
  failures: number;
  window_start: number;
  banned_until: number;
}

export interface Database {
  accounts: AccountsTable;
  tokens: TokensTable;
  sessions: SessionsTable;
  namespaces: NamespacesTable;
  audit_events: AuditEventsTable;
  signin_links: SignInLinksTable;
  login_flows: LoginFlowsTable;
  cli_grants: CliGrantsTable;
  notices: NoticesTable;
  auth_failures: AuthFailuresTable;
}
