/**
 * Console sessions, stored server-side under the SHA-256 of their id so any instance serves
 * any session and a database leak yields no usable cookie. The sign-in flows that start them
 * are sign-in-service.ts and its neighbours.
 */
import type { AccountRecord } from '../accounts/account.js';
import type { AuditEventInput } from '../audit/audit-event.js';
import type { Clock } from '../kernel/clock.js';
import { newRandomSecret, sha256 } from '../kernel/secrets.js';
import type { SessionStore } from './session-store.js';

export const SESSION_IDLE_TIMEOUT_MS = 12 * 3_600_000;
export const SESSION_ABSOLUTE_TIMEOUT_MS = 14 * 86_400_000;
/** `last_seen_at` is moved forward at most this often, to keep reads from becoming writes. */
const SESSION_TOUCH_INTERVAL_MS = 60_000;
const SESSION_ID_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export interface AuthenticatedSession {
  account: AccountRecord;
  csrfToken: string;
  idDigest: Buffer;
}

export interface SessionService {
  /**
   * Starts a session; the returned id goes into the cookie and nowhere else. With `signIn`, the
   * session the browser arrived with ends and the sign-in is recorded, in the same transaction.
   */
  start(
    accountId: string,
    signIn?: { replacing: string | undefined; audit: AuditEventInput },
  ): Promise<{ sessionId: string; csrfToken: string; expiresAt: number }>;
  /** The live session for a cookie value, or undefined (unknown, expired, idle, account disabled). */
  authenticate(sessionId: string): Promise<AuthenticatedSession | undefined>;
  /** Ends a session server-side; the cookie is worthless on every instance afterwards. */
  end(sessionId: string): Promise<void>;
}

export function createSessionService(deps: { store: SessionStore; clock: Clock }): SessionService {
  const { store, clock } = deps;
  return {
    async start(accountId, signIn) {
      const sessionId = newRandomSecret();
      const csrfToken = newRandomSecret();
      const now = clock.now();
      const expiresAt = now + SESSION_ABSOLUTE_TIMEOUT_MS;
      await store.insertSession(
        sha256(sessionId),
        { accountId, csrfToken, createdAt: now, lastSeenAt: now, expiresAt },
        signIn && { replacing: signIn.replacing === undefined ? undefined : sha256(signIn.replacing), audit: signIn.audit },
      );
      return { sessionId, csrfToken, expiresAt };
    },

    async authenticate(sessionId) {
      if (!SESSION_ID_SHAPE.test(sessionId)) return undefined;
      const idDigest = sha256(sessionId);
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
      await store.deleteSession(sha256(sessionId));
    },
  };
}
