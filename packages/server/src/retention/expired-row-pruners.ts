/**
 * What the pruner deletes, and when each kind of row is dead: a session past its absolute expiry
 * or idle for the idle timeout (the same rules sessions/session-service.ts authenticates by);
 * a sign-in link, an OpenID Connect flow or a CLI grant past its expiry, used or not; a
 * revocation event a day old (the revocation stream's clients resume within that, or reset).
 */
import { SESSION_IDLE_TIMEOUT_MS } from '../sessions/session-service.js';
import type { SessionStore } from '../sessions/session-store.js';
import type { SignInStore } from '../sessions/sign-in-store.js';
import type { RevocationStore } from '../verification/revocation-store.js';
import { REVOCATION_FEED_RETENTION_MS } from '../verification/revocation-feed.js';
import type { ExpiredRowPruner } from './retention-service.js';

export function expiredRowPruners(stores: { sessions: SessionStore; signIn: SignInStore; revocations: RevocationStore }): ExpiredRowPruner[] {
  const { sessions, signIn, revocations } = stores;
  return [
    {
      name: 'sessions',
      prune: (now, limit) => sessions.pruneEndedSessions({ expiredBy: now, idleSince: now - SESSION_IDLE_TIMEOUT_MS }, limit),
    },
    { name: 'signin_links', prune: (now, limit) => signIn.pruneExpiredSignInLinks(now, limit) },
    { name: 'login_flows', prune: (now, limit) => signIn.pruneExpiredLoginFlows(now, limit) },
    { name: 'cli_grants', prune: (now, limit) => signIn.pruneExpiredCliGrants(now, limit) },
    // A stream client away longer than this resumes with a reset (drops its cache) instead.
    { name: 'revocation_events', prune: (now, limit) => revocations.pruneBefore(now - REVOCATION_FEED_RETENTION_MS, limit) },
  ];
}
