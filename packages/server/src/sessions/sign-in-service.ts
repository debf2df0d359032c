/**
 * Sign-in: how a browser gets a console session. Built-in one-time links (the embedded
 * default), OpenID Connect when configured, and the CLI's browser login on top of either;
 * administrators invite people with a link.
 */
import type { AccountRecord } from '../accounts/account.js';
import type { AccountService } from '../accounts/account-service.js';
import { auditEvent, type Actor } from '../audit/audit-event.js';
import { AppError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import type { SessionService } from './session-service.js';
import type { OidcClaims, OidcSignIn } from './oidc-sign-in.js';
import type { SignInLink, SignInLinkService } from './sign-in-link-service.js';

export interface SignInService {
  /** Finds or creates the account for a verified OpenID Connect identity. */
  accountForClaims(claims: OidcClaims, actor: Actor): Promise<AccountRecord>;
  /**
   * Starts a fresh session for the account (a new id at every sign-in: no fixation), ending the
   * session the browser arrived with, noting the sign-in and auditing it — in one transaction.
   * Refuses disabled accounts.
   */
  startSession(
    accountId: string,
    previousSessionId: string | undefined,
    actor: Actor,
  ): Promise<{ sessionId: string; expiresAt: number }>;
  /**
   * An administrator invites someone: a one-time sign-in link for the account with this email,
   * created if needed, and the invite audited with the link.
   */
  invite(input: { email: string; isAdmin?: boolean }, actor: Actor): Promise<{ account: AccountRecord; link: SignInLink }>;
}

export function createSignInService(deps: {
  clock: Clock;
  accounts: AccountService;
  sessions: SessionService;
  links: SignInLinkService;
  oidc: OidcSignIn | undefined;
  /** Accounts created for these (verified) emails by OpenID Connect sign-in are administrators. */
  adminEmails: readonly string[];
}): SignInService {
  const { clock, accounts, sessions, links } = deps;
  const adminEmails = new Set(deps.adminEmails.map((email) => email.trim().toLowerCase()));

  return {
    async accountForClaims(claims, actor) {
      const identity = { issuer: claims.issuer, subject: claims.subject };
      const known = await accounts.findByOidcIdentity(identity);
      if (known) return known;
      const email = claims.email && claims.emailVerified ? claims.email.trim().toLowerCase() : null;
      if (email) {
        // An account invited by email before its first OIDC sign-in: bind the identity to it.
        const invited = await accounts.findByEmail(email);
        if (invited && (await accounts.bindOidcIdentity(invited.id, identity))) return invited;
        if (invited) throw new AppError('CONFLICT', 'Another sign-in identity already uses this email.');
      }
      return accounts.create({ email, name: claims.name, isAdmin: email !== null && adminEmails.has(email) }, actor, identity);
    },

    async startSession(accountId, previousSessionId, actor) {
      const account = await accounts.find(accountId);
      if (!account || account.disabledAt !== null) {
        throw new AppError('FORBIDDEN', 'This account is disabled.');
      }
      const audit = auditEvent(clock.now(), 'account.signed_in', { ...actor, accountId }, accountId);
      const session = await sessions.start(accountId, { replacing: previousSessionId, audit });
      return { sessionId: session.sessionId, expiresAt: session.expiresAt };
    },

    async invite(input, actor) {
      const account = await accounts.findOrCreateByEmail(input, actor);
      const audit = auditEvent(clock.now(), 'invite.created', actor, account.id, { email: account.email });
      return { account, link: await links.issue(account.id, audit) };
    },
  };
}
