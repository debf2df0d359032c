/**
 * Built-in sign-in, the embedded default: one-time links. No passwords. A link is a random
 * secret stored only as its SHA-256, valid for 15 minutes and a single use. Opening it shows a
 * page with a "Sign in" button; only that POST uses it, so link scanners and prefetchers that
 * follow GETs cannot burn it.
 */
import type { AccountService } from '../accounts/account-service.js';
import { SYSTEM_ACTOR, type Actor, type AuditEventInput } from '../audit/audit-event.js';
import { AppError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { newOneTimeSecret, sha256 } from '../kernel/secrets.js';
import type { SignInStore } from './sign-in-store.js';

export const SIGN_IN_LINK_TTL_MS = 15 * 60_000;
export const SIGN_IN_LINK_PATH = '/auth/link/';
const LINK_SECRET_SHAPE = /^lk_link_[0-9a-f]{64}$/;

export interface SignInLink {
  url: string;
  expiresAt: number;
}

export interface SignInLinkService {
  /** A fresh link for an existing account; `audit` (an invite) is recorded with it. */
  issue(accountId: string, audit?: AuditEventInput): Promise<SignInLink>;
  /**
   * A link for the account with this email, creating it if needed (`isAdmin` makes a new or
   * existing account an administrator only when creating it). Without an email: the first
   * administrator, created if there is none.
   */
  issueFor(input: { email?: string; isAdmin?: boolean }, actor?: Actor): Promise<SignInLink>;
  /** Uses a link once; the account id, or undefined for an unknown, used or expired link. */
  redeem(secret: string): Promise<string | undefined>;
}

export function createSignInLinkService(deps: {
  store: SignInStore;
  clock: Clock;
  accounts: AccountService;
  publicUrl: string;
}): SignInLinkService {
  const { store, clock, accounts, publicUrl } = deps;

  const service: SignInLinkService = {
    async issue(accountId, audit) {
      const secret = newOneTimeSecret('lk_link_');
      const now = clock.now();
      const expiresAt = now + SIGN_IN_LINK_TTL_MS;
      await store.insertSignInLink(sha256(secret), { accountId, createdAt: now, expiresAt }, audit);
      return { url: `${publicUrl}${SIGN_IN_LINK_PATH}${secret}`, expiresAt };
    },

    async issueFor(input, actor = SYSTEM_ACTOR) {
      const account = input.email
        ? await accounts.findOrCreateByEmail({ email: input.email, isAdmin: input.isAdmin }, actor)
        : await accounts.firstAdmin(actor);
      return service.issue(account.id);
    },

    async redeem(secret) {
      if (!LINK_SECRET_SHAPE.test(secret)) return undefined;
      return store.consumeSignInLink(sha256(secret), clock.now());
    },
  };
  return service;
}

/** For routes: a link that cannot be used is one error, whatever the reason. */
export function linkUnusable(): AppError {
  return new AppError('INVALID_GRANT', 'This sign-in link is invalid, used or expired. Ask for a new one.', {
    logReason: 'link unusable',
  });
}
