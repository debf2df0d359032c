/**
 * The two failures of a store that a service can act on. They are raised once, where the
 * database driver answers (database/driver-errors.ts), so no store method wraps its queries;
 * anything else a driver throws is a bug and propagates as is (a 500, logged with its stack).
 */

/** A uniqueness rule of the schema, or a per-account limit a store enforces, refused a write. */
export type ConflictReason =
  | 'oidc_identity_taken'
  | 'token_name_taken'
  | 'token_limit_reached'
  | 'namespace_name_taken'
  | 'namespace_limit_reached'
  | 'email_taken';

export class StoreConflictError extends Error {
  constructor(readonly reason: ConflictReason) {
    super(`store conflict: ${reason}`);
    this.name = 'StoreConflictError';
  }
}

/**
 * The database cannot serve the request now (unreachable, busy past its timeout, full or
 * read-only): the HTTP boundary answers 503 with Retry-After.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
