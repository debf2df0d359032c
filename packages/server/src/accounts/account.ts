export type AccountKind = 'person' | 'service';

/** An account: a person that signs in, or a service account (never signs in), owning tokens and namespaces. */
export interface AccountRecord {
  id: string;
  email: string | null;
  name: string | null;
  isAdmin: boolean;
  createdAt: number;
  /** Set while the account is disabled: its tokens and sessions are refused meanwhile. */
  disabledAt: number | null;
  /** 'service' for a service account (created by an administrator, never signs in); absent or 'person' otherwise. */
  kind?: AccountKind;
}

/** An identity at an OpenID Connect provider. */
export interface OidcIdentity {
  issuer: string;
  subject: string;
}

/** An account as the administration API lists it: with its last sign-in and its live tokens. */
export interface AccountSummary extends AccountRecord {
  lastSignInAt: number | null;
  /** Tokens neither revoked nor expired (at the `now` the listing was asked for). */
  activeTokens: number;
}

/** Where a page of accounts (newest first: created_at desc, then id) continues: after this one. */
export interface AccountPosition {
  createdAt: number;
  id: string;
}

export interface AccountListFilter {
  /** Case-insensitive substring of the email or the name; no wildcards. */
  search?: string;
  state: 'active' | 'disabled' | 'all';
  after?: AccountPosition;
  limit: number;
  /** What "active token" is measured against (epoch ms). */
  now: number;
}

/** What an administrator may change on an account. */
export interface AccountChanges {
  isAdmin?: boolean;
  name?: string | null;
}
