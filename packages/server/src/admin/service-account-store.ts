import type { AuditEventInput } from '../audit/audit-event.js';
import type { AccountPosition } from '../accounts/account.js';

/** Who created a service account (the administrator), as listed. */
export interface ServiceAccountCreator {
  id: string;
  email: string | null;
  name: string | null;
}

/** A service account (`accounts.kind` 'service') as the administration API lists it. */
export interface ServiceAccountRecord {
  id: string;
  name: string;
  description: string | null;
  createdAt: number;
  /** Null once the creating administrator's account is deleted. */
  createdBy: ServiceAccountCreator | null;
  /** Tokens neither revoked nor expired at the `now` asked for. */
  activeTokens: number;
}

export interface NewServiceAccount {
  id: string;
  name: string;
  description: string | null;
  createdAt: number;
  createdBy: string | null;
}

/** Where service accounts are kept: rows of `accounts` with kind 'service'. Deleting one is AccountStore.deleteAccount. */
export interface ServiceAccountStore {
  /** Inserts the account (kind 'service', no email, never an administrator) with its audit event. */
  insertServiceAccount(account: NewServiceAccount, audit: AuditEventInput): Promise<void>;
  /** Newest first (created_at desc, id), after `after`. */
  listServiceAccounts(filter: { after?: AccountPosition; limit: number; now: number }): Promise<ServiceAccountRecord[]>;
  findServiceAccount(id: string, now: number): Promise<ServiceAccountRecord | undefined>;
}
