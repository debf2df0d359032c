/**
 * Console sessions, stored server-side under the SHA-256 of their id so any instance serves
 * any session and a database leak yields no usable cookie. The sign-in flows that start them
 * live in src/auth/.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from './clock.js';
import type { AccountRecord, Store } from '../store/store.js';

export const SESSION_IDLE_TIMEOUT_MS = 12 * 3_600_000;
export const SESSION_ABSOLUTE_TIMEOUT_MS = 14 * 86_400_000;
/** `last_seen_at` is moved forward at most this often, to keep reads from becoming writes. */
const SESSION_TOUCH_INTERVAL_MS = 60_000;

export interface AuthenticatedSession {
  account: AccountRecord;
  csrfToken: string;
  idDigest: Buffer;
}

export interface SessionService {
  /** Starts a session; the returned id goes into the cookie and nowhere else. */
  start(accountId: string): Promise<{ sessionId: string; csrfToken: string; expiresAt: number }>;
  /** The live session for a cookie value, or undefined (unknown, expired, idle, account disabled). */
  authenticate(sessionId: string): Promise<AuthenticatedSession | undefined>;
  /** Ends a session server-side; the cookie is worthless on every instance afterwards. */
  end(sessionId: string): Promise<void>;
}

export function createSessionService(deps: { store: Store; clock: Clock }): SessionService {
  const { store, clock } = deps;
  return {
    async start(accountId) {
      const sessionId = randomBytes(32).toString('base64url');
      const csrfToken = randomBytes(32).toString('base64url');
      const now = clock.now();
      const expiresAt = now + SESSION_ABSOLUTE_TIMEOUT_MS;
      await store.insertSession(digestSessionId(sessionId), {
        accountId,
        csrfToken,
        createdAt: now,
        lastSeenAt: now,
        expiresAt,
      });
      return { sessionId, csrfToken, expiresAt };
    },

    async authenticate(sessionId) {
      if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return undefined;
      const idDigest = digestSessionId(sessionId);
      const found = await store.findSessionForAuth(idDigest);
      if (!found || found.account.disabledAt !== null) return undefined;
      if (found.expiresAt <= found.dbNow || found.lastSeenAt + SESSION_IDLE_TIMEOUT_MS <= found.dbNow) {
        return undefined;
      }
      const now = clock.now();
      if (now - found.lastSeenAt >= SESSION_TOUCH_INTERVAL_MS) await store.touchSession(idDigest, now);
      return { account: found.account, csrfToken: found.csrfToken, idDigest };
    },

    async end(sessionId) {
      await store.deleteSession(digestSessionId(sessionId));
    },
  };
}

export function digestSessionId(sessionId: string): Buffer {
  return createHash('sha256').update(sessionId).digest();
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfTokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
