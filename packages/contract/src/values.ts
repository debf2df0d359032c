/**
 * The contract's plain values — limits, patterns, header names, token states and the state rule —
 * in a module without zod, so the console, which needs only these and the types, ships without
 * the schemas (docs/performance.md, P7: the package's `sideEffects` lets the bundler leave out
 * every module whose exports go unused). Re-exported by the package index.
 */

/** A token is "expiring" (and the banner shows) when this much or less of its life is left. */
export const EXPIRING_WINDOW_DAYS = 7;
export const DAY_MS = 86_400_000;

/** `rotating`: replaced by rotation, its secret still valid until its grace window ends (then `expired`). */
export const TOKEN_STATES = ['active', 'expiring', 'rotating', 'expired', 'revoked'] as const;
export type TokenState = (typeof TOKEN_STATES)[number];

/**
 * A token's state at `now` (epoch ms): `expiring` once 7 days or less are left, `expired` from
 * `expiresAt` on (a token is valid iff now < expiresAt).
 */
export function tokenStateAt(token: { expiresAt: number; revokedAt: number | null; replacedBy?: string | null }, now: number): TokenState {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt <= now) return 'expired';
  // Rotation shortens the old token's expiry to the end of its grace window.
  if (token.replacedBy) return 'rotating';
  if (token.expiresAt - now <= EXPIRING_WINDOW_DAYS * DAY_MS) return 'expiring';
  return 'active';
}

/** Request header carrying the session's CSRF token on cookie-authenticated mutations. */
export const CSRF_HEADER = 'x-csrf-token';

/** A DNS-1123 label, as Kubernetes namespaces use. */
export const NAMESPACE_NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export const TOKEN_NAME_MAX_LENGTH = 64;
export const TOKEN_NOTE_MAX_LENGTH = 200;

export const ADMIN_ACCOUNT_STATES = ['active', 'disabled', 'all'] as const;
export const ACCOUNT_DISPLAY_NAME_MAX_LENGTH = 100;
/** `Accept` value asking GET /api/v1/admin/audit for every matching event, one JSON object a line. */
export const NDJSON_MEDIA_TYPE = 'application/x-ndjson';
/** The longest lifetime any token may be given, in days (ten years): also a service token's when the policy sets no maximum. */
export const TOKEN_LIFETIME_LIMIT_DAYS = 3650;
export const SERVICE_ACCOUNT_DESCRIPTION_MAX_LENGTH = 500;
