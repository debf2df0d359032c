/**
 * Accounts: created by sign-in (or an administrator), disabled and re-enabled, deleted.
 * A disabled account's tokens and sessions stop working at once (every lookup joins the
 * account) and work again after re-enabling unless revoked or expired meanwhile; deleting an
 * account deletes its tokens, sessions and namespaces with it.
 */
import { auditEvent, type Actor } from '../audit/audit-event.js';
import { AppError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { newId } from '../kernel/ids.js';
import { StoreConflictError } from '../kernel/store-errors.js';
import type { AccountRecord, OidcIdentity } from './account.js';
import type { AccountStore } from './account-store.js';

export interface AccountService {
  /** Creates an account, optionally bound to an OpenID Connect identity. */
  create(
    input: { email?: string | null; name?: string | null; isAdmin?: boolean },
    actor: Actor,
    identity?: OidcIdentity,
  ): Promise<AccountRecord>;
  /** The account; NOT_FOUND when there is none. */
  get(id: string): Promise<AccountRecord>;
  find(id: string): Promise<AccountRecord | undefined>;
  findByEmail(email: string): Promise<AccountRecord | undefined>;
  /** The account with this email, created if there is none (`isAdmin` applies only then). */
  findOrCreateByEmail(input: { email: string; isAdmin?: boolean }, actor: Actor): Promise<AccountRecord>;
  /**
   * A new account with this email (an invite); undefined, with nothing written, when the email
   * already has an account.
   */
  createForEmail(input: { email: string; isAdmin?: boolean }, actor: Actor): Promise<AccountRecord | undefined>;
  findByOidcIdentity(identity: OidcIdentity): Promise<AccountRecord | undefined>;
  /**
   * Binds an identity to an account that has none yet (and, with `onlyIfNeverSignedIn`, has never
   * signed in); false, with nothing written, otherwise.
   */
  bindOidcIdentity(accountId: string, identity: OidcIdentity, options?: { onlyIfNeverSignedIn?: boolean }): Promise<boolean>;
  /** The first administrator, created if there is none. */
  firstAdmin(actor: Actor): Promise<AccountRecord>;
  /** Whether any administrator has ever completed a sign-in. */
  hasAdminSignedIn(): Promise<boolean>;
  disable(id: string, actor: Actor): Promise<void>;
  enable(id: string, actor: Actor): Promise<void>;
  delete(id: string, actor: Actor): Promise<void>;
}

export function createAccountService(deps: { store: AccountStore; clock: Clock }): AccountService {
  const { store, clock } = deps;

  async function setDisabled(id: string, disabled: boolean, actor: Actor): Promise<void> {
    const now = clock.now();
    const action = disabled ? 'account.disabled' : 'account.enabled';
    const changed = await store.setAccountDisabled(id, disabled ? now : null, auditEvent(now, action, actor, id));
    if (!changed) throw new AppError('NOT_FOUND', 'No such account.');
  }

  const service: AccountService = {
    async create(input, actor, identity) {
      const now = clock.now();
      const account: AccountRecord = {
        id: newId(),
        email: input.email ? input.email.trim().toLowerCase() : null,
        name: input.name ?? null,
        isAdmin: input.isAdmin ?? false,
        createdAt: now,
        disabledAt: null,
      };
      try {
        await store.insertAccount(account, auditEvent(now, 'account.created', actor, account.id), identity);
      } catch (error) {
        if (error instanceof StoreConflictError) {
          throw new AppError(
            'CONFLICT',
            error.reason === 'oidc_identity_taken'
              ? 'An account for this identity already exists.'
              : 'An account with this email already exists.',
          );
        }
        throw error;
      }
      return account;
    },

    async get(id) {
      const account = await store.findAccountById(id);
      if (!account) throw new AppError('NOT_FOUND', 'No such account.');
      return account;
    },

    find: (id) => store.findAccountById(id),
    findByEmail: (email) => store.findAccountByEmail(email.trim().toLowerCase()),
    async findOrCreateByEmail(input, actor) {
      return (await service.findByEmail(input.email)) ?? service.create({ email: input.email, isAdmin: input.isAdmin ?? false }, actor);
    },
    async createForEmail(input, actor) {
      if (await service.findByEmail(input.email)) return undefined;
      try {
        return await service.create({ email: input.email, isAdmin: input.isAdmin ?? false }, actor);
      } catch (error) {
        // Created by someone else meanwhile: the same answer as if it had been there before.
        if (error instanceof AppError && error.code === 'CONFLICT') return undefined;
        throw error;
      }
    },
    findByOidcIdentity: (identity) => store.findAccountByOidcIdentity(identity),
    async bindOidcIdentity(accountId, identity, options = {}) {
      try {
        return await store.bindOidcIdentity(accountId, identity, { onlyIfNeverSignedIn: options.onlyIfNeverSignedIn ?? false });
      } catch (error) {
        // Another account took this identity meanwhile (two first sign-ins at once).
        if (error instanceof StoreConflictError) throw new AppError('CONFLICT', 'An account for this identity already exists.');
        throw error;
      }
    },

    async firstAdmin(actor) {
      return (await store.findFirstAdmin()) ?? service.create({ name: 'Administrator', isAdmin: true }, actor);
    },

    hasAdminSignedIn: () => store.hasAdminSignedIn(),

    disable: (id, actor) => setDisabled(id, true, actor),
    enable: (id, actor) => setDisabled(id, false, actor),

    async delete(id, actor) {
      const now = clock.now();
      const deleted = await store.deleteAccount(id, auditEvent(now, 'account.deleted', actor, id));
      if (!deleted) throw new AppError('NOT_FOUND', 'No such account.');
    },
  };
  return service;
}
