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
  /**
   * Finds or creates the account for a verified OpenID Connect identity. An identity seen for the
   * first time is joined by its verified email only to an account that was invited and has never
   * signed in (any account without an identity when `linkExistingAccounts` is set); another
   * account with that email → ACCOUNT_LINK_REFUSED, and nothing is written.
   */
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
   * An administrator invites someone: a new account with this email and a one-time sign-in link
   * for it, the invite audited with the link. An email that already has an account →
   * ACCOUNT_EXISTS, nothing written: an invite never signs anyone in as an existing account.
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
  /**
   * Operator opt-in: join a new OpenID Connect identity to any account with its verified email
   * that has no identity yet, even one that has already signed in. Off by default.
   */
  linkExistingAccounts?: boolean;
}): SignInService {
  const { clock, accounts, sessions, links } = deps;
  const linkExistingAccounts = deps.linkExistingAccounts ?? false;
  const adminEmails = new Set(deps.adminEmails.map((email) => email.trim().toLowerCase()));

  return {
    async accountForClaims(claims, actor) {
      const identity = { issuer: claims.issuer, subject: claims.subject };
      const known = await accounts.findByOidcIdentity(identity);
      if (known) return known;
      const email = claims.email && claims.emailVerified ? claims.email.trim().toLowerCase() : null;
      if (email) {
        const existing = await accounts.findByEmail(email);
        if (existing) {
          // An invited account that has never signed in is waiting for this person: bind the
          // identity to it. Any other account with this email belongs to someone who already
          // signs in another way; the same email at the provider is not proof it is them.
          const bound = await accounts.bindOidcIdentity(existing.id, identity, { onlyIfNeverSignedIn: !linkExistingAccounts });
          if (bound) return existing;
          throw new AppError(
            'ACCOUNT_LINK_REFUSED',
            'An account with this email already exists and signs in another way. Sign in as you usually do, or ask an administrator.',
            { logReason: 'oidc: email belongs to an account that cannot be linked' },
          );
        }
      }
      return accounts.create({ email, name: claims.name, isAdmin: email !== null && adminEmails.has(email) }, actor, identity);
    },

    async startSession(accountId, previousSessionId, actor) {
      const account = await accounts.find(accountId);
      if (!account || account.disabledAt !== null) {
        throw new AppError('FORBIDDEN', 'This account is disabled.');
      }
      // Every way in (sign-in link, OpenID Connect, and the CLI login, which needs a console
      // session) ends here: a service account holds tokens an administrator mints, never a session.
      if (account.kind === 'service') {
        throw new AppError('FORBIDDEN', 'Service accounts cannot sign in; an administrator mints their tokens.');
      }
      const audit = auditEvent(clock.now(), 'account.signed_in', { ...actor, accountId }, accountId);
      const session = await sessions.start(accountId, { replacing: previousSessionId, audit });
      return { sessionId: session.sessionId, expiresAt: session.expiresAt };
    },

    async invite(input, actor) {
      const account = await accounts.createForEmail({ email: input.email, isAdmin: input.isAdmin ?? false }, actor);
      if (!account) throw accountExists();
      const audit = auditEvent(clock.now(), 'invite.created', actor, account.id, { email: account.email });
      try {
        return { account, link: await links.issue(account.id, audit) };
      } catch (error) {
        // The account and its link are two writes: without the link, take the account back, or
        // the email would stay taken by an account nobody can reach and a new invite be refused.
        await accounts.delete(account.id, actor).catch(() => undefined);
        throw error;
      }
    },
  };
}

function accountExists(): AppError {
  return new AppError(
    'ACCOUNT_EXISTS',
    'An account with this email already exists; it signs in with its own sign-in link or identity provider.',
  );
}
