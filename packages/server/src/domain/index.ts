/**
 * The domain: pure rules over a Store and a Clock. Knows nothing of HTTP, Fastify or Kysely.
 */
import type { Clock } from './clock.js';
import type { Store } from '../store/store.js';
import { createAccountService, type AccountService } from './accounts.js';
import { createNamespaceService, type NamespaceService } from './namespaces.js';
import { createSessionService, type SessionService } from './sessions.js';
import { createTokenService, type TokenService, type TokenSettings } from './tokens.js';

export interface Domain {
  accounts: AccountService;
  tokens: TokenService;
  sessions: SessionService;
  namespaces: NamespaceService;
}

export function createDomain(deps: {
  store: Store;
  clock: Clock;
  settings: TokenSettings;
  onBackgroundError?: (error: unknown) => void;
}): Domain {
  return {
    accounts: createAccountService(deps),
    tokens: createTokenService(deps),
    sessions: createSessionService(deps),
    namespaces: createNamespaceService(deps),
  };
}

export { AppError, fieldError } from './app-error.js';
export type { Actor } from './audit.js';
export { SYSTEM_ACTOR } from './audit.js';
export type { Clock } from './clock.js';
export { systemClock, createManualClock } from './clock.js';
export type { TokenSettings, AuthenticatedToken, TokenService } from './tokens.js';
export type { AccountService } from './accounts.js';
export type { AuthenticatedSession } from './sessions.js';
