/**
 * Sign-in: how a browser gets a console session. Built-in one-time links (the embedded
 * default), OpenID Connect when configured, and the CLI's browser login on top of either.
 */
import type { Clock } from '../domain/clock.js';
import { AppError, type Actor, type Domain } from '../domain/index.js';
import { auditEvent } from '../domain/audit.js';
import type { AccountRecord, Store } from '../store/store.js';
import { createCliLoginService, type CliLoginService } from './cli-login.js';
import { createOidcSignIn, type OidcClaims, type OidcSettings, type OidcSignIn } from './oidc.js';
import { createSignInLinkService, type SignInLinkService } from './sign-in-links.js';

export interface OidcOptions extends OidcSettings {
  /** Accounts created for these (verified) emails are administrators. */
  adminEmails: string[];
}

export interface Auth {
  links: SignInLinkService;
  oidc: OidcSignIn | undefined;
  cliLogin: CliLoginService;
  /** Finds or creates the account for a verified OpenID Connect identity. */
  accountForClaims(claims: OidcClaims, actor: Actor): Promise<AccountRecord>;
  /**
   * Starts a fresh session for the account (a new id at every sign-in: no fixation) and ends
   * the session the browser arrived with, if any. Refuses disabled accounts.
   */
  startSession(
    accountId: string,
    previousSessionId: string | undefined,
    actor: Actor,
  ): Promise<{ sessionId: string; expiresAt: number }>;
}

export function createAuth(deps: {
  store: Store;
  clock: Clock;
  domain: Domain;
  publicUrl: string;
  oidc?: OidcOptions;
}): Auth {
  const { store, clock, domain, publicUrl } = deps;
  const adminEmails = new Set((deps.oidc?.adminEmails ?? []).map((email) => email.trim().toLowerCase()));

  return {
    links: createSignInLinkService({ store, clock, accounts: domain.accounts, publicUrl }),
    oidc: deps.oidc ? createOidcSignIn({ store, clock, settings: deps.oidc }) : undefined,
    cliLogin: createCliLoginService({ store, clock, tokens: domain.tokens }),

    async accountForClaims(claims, actor) {
      const identity = { issuer: claims.issuer, subject: claims.subject };
      const known = await store.findAccountByOidcIdentity(identity);
      if (known) return known;
      const email = claims.email && claims.emailVerified ? claims.email.trim().toLowerCase() : null;
      if (email) {
        // An account invited by email before its first OIDC sign-in: bind the identity to it.
        const invited = await domain.accounts.findByEmail(email);
        if (invited && (await store.bindOidcIdentity(invited.id, identity))) return invited;
        if (invited) throw new AppError('CONFLICT', 'Another sign-in identity already uses this email.');
      }
      return domain.accounts.create(
        { email, name: claims.name, isAdmin: email !== null && adminEmails.has(email) },
        actor,
        identity,
      );
    },

    async startSession(accountId, previousSessionId, actor) {
      const account = await store.findAccountById(accountId);
      if (!account || account.disabledAt !== null) {
        throw new AppError('FORBIDDEN', 'This account is disabled.');
      }
      if (previousSessionId) await domain.sessions.end(previousSessionId);
      const session = await domain.sessions.start(accountId);
      const now = clock.now();
      await store.recordSignIn(accountId, now);
      await store.insertAuditEvent(auditEvent(now, 'account.signed_in', { ...actor, accountId }, accountId));
      return { sessionId: session.sessionId, expiresAt: session.expiresAt };
    },
  };
}
