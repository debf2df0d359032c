import type { TokenForAuth } from '../tokens/token.js';
import type { AuthFailureRules } from './failure-limiter.js';

/** A client address's failed-authentication count, as the database-backed limiter keeps it. */
export interface AuthFailureRecord {
  /** Failures counted in the window that began at `windowStart`. */
  failures: number;
  windowStart: number;
  /** Epoch ms until which the address is refused; 0 (or past) when it is not banned. */
  bannedUntil: number;
}

/** A token lookup that also reads the caller's failure record, in the same round trip. */
export interface TokenAndClientForAuth {
  token: TokenForAuth | undefined;
  client: AuthFailureRecord | undefined;
  dbNow: number;
}

/** The shared failure count in the database (PostgreSQL without Redis). */
export interface AuthFailureStore {
  /**
   * The token lookup by digest plus the failure record of `clientKey`, in one statement: how
   * the database-backed limiter learns of a ban (set through any instance) at no extra round trip.
   */
  findTokenAndClientForAuth(digest: Buffer, clientKey: string): Promise<TokenAndClientForAuth>;
  /**
   * Counts one failed authentication of `clientKey`, atomically and by the database clock:
   * failures inside `windowMs` accumulate, the `threshold`-th bans the key for `banMs` (and
   * restarts the count); while banned nothing changes. Also prunes records that have lapsed.
   */
  recordAuthFailure(clientKey: string, rules: AuthFailureRules): Promise<void>;
  /** A success: forgets the key's failures, unless it is banned. */
  clearAuthFailures(clientKey: string): Promise<void>;
}
