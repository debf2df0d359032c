import type { AuditEventInput } from '../audit/audit-event.js';
import type { NoticeInput } from '../notices/notice.js';
import type { AccountChanges, AccountListFilter, AccountRecord, AccountSummary, OidcIdentity } from './account.js';

/** Where accounts are kept. Every write that changes an account records its audit event with it. */
export interface AccountStore {
  /**
   * Inserts an account (optionally bound to an OpenID Connect identity) and its audit event
   * atomically. A taken email or identity → StoreConflictError.
   */
  insertAccount(account: AccountRecord, audit: AuditEventInput, identity?: OidcIdentity): Promise<void>;
  findAccountById(id: string): Promise<AccountRecord | undefined>;
  findAccountByEmail(email: string): Promise<AccountRecord | undefined>;
  findAccountByOidcIdentity(identity: OidcIdentity): Promise<AccountRecord | undefined>;
  /**
   * Binds an identity to an account that has none yet; false if it already has one. With
   * `onlyIfNeverSignedIn`, also false for an account that has ever signed in (checked in the same
   * statement, so a sign-in racing it cannot slip between the check and the write).
   */
  bindOidcIdentity(accountId: string, identity: OidcIdentity, options?: { onlyIfNeverSignedIn?: boolean }): Promise<boolean>;
  /** The oldest administrator account, if any. */
  findFirstAdmin(): Promise<AccountRecord | undefined>;
  /** Whether any administrator has ever completed a sign-in. */
  hasAdminSignedIn(): Promise<boolean>;
  /**
   * Disables (`disabledAt` set) or re-enables (`null`) an account, with its audit event, in one
   * transaction. Tokens and sessions of a disabled account stop authenticating at once because
   * every lookup joins the account. Returns false when the account does not exist.
   * With `enabledNotice` (an administrator's re-enable), the owner's notice is written in the same
   * transaction, and only when the account was disabled until then.
   */
  setAccountDisabled(id: string, disabledAt: number | null, audit: AuditEventInput, enabledNotice?: NoticeInput): Promise<boolean>;
  /**
   * Deletes the account and, by cascade in the same transaction, its tokens, sessions and
   * namespaces; the audit event (kept) records how many tokens died with it.
   * Returns false when the account does not exist.
   */
  deleteAccount(id: string, audit: AuditEventInput): Promise<boolean>;

  /**
   * A page of accounts, newest first (created_at desc, id), after `filter.after`, with their last
   * sign-in and live-token count; the search folds case here rather than in SQL, like the token
   * search, so both databases agree.
   */
  listAccounts(filter: AccountListFilter): Promise<AccountSummary[]>;
  /** One account with its last sign-in and live-token count, or undefined. */
  findAccountSummary(id: string, now: number): Promise<AccountSummary | undefined>;
  /**
   * Applies the changes with their audit events in one transaction (an authentication change:
   * whether the account is an administrator decides what its sessions and tokens may call).
   * Returns false when the account does not exist. `notices` (for the account's owner) are written
   * in the same transaction when the account exists.
   */
  updateAccount(id: string, changes: AccountChanges, audit: readonly AuditEventInput[], notices?: readonly NoticeInput[]): Promise<boolean>;
}
