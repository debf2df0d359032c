/**
 * What the pruner deletes, and when each kind of row is dead: a session past its absolute expiry
 * or idle for the idle timeout (the same rules sessions/session-service.ts authenticates by);
 * a sign-in link, an OpenID Connect flow or a CLI grant past its expiry, used or not.
 */
import { SESSION_IDLE_TIMEOUT_MS } from '../sessions/session-service.js';
import type { SessionStore } from '../sessions/session-store.js';
import type { SignInStore } from '../sessions/sign-in-store.js';
import type { ExpiredRowPruner } from './retention-service.js';

export function expiredRowPruners(stores: { sessions: SessionStore; signIn: SignInStore }): ExpiredRowPruner[] {
  const { sessions, signIn } = stores;
  return [
    {
      name: 'sessions',
      prune: (now, limit) => sessions.pruneEndedSessions({ expiredBy: now, idleSince: now - SESSION_IDLE_TIMEOUT_MS }, limit),
    },
    { name: 'signin_links', prune: (now, limit) => signIn.pruneExpiredSignInLinks(now, limit) },
    { name: 'login_flows', prune: (now, limit) => signIn.pruneExpiredLoginFlows(now, limit) },
    { name: 'cli_grants', prune: (now, limit) => signIn.pruneExpiredCliGrants(now, limit) },
  ];
}
