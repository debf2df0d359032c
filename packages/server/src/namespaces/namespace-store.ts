import type { AuditEventInput } from '../audit/audit-event.js';
import type { NamespaceRecord } from './namespace.js';

/** Where namespaces are kept; each change with its audit event, in one transaction. */
export interface NamespaceStore {
  /**
   * Inserts a namespace and its audit event, unless its account already holds
   * `limits.maxPerAccount` namespaces (`namespace_limit_reached`) or the name is taken by anyone
   * (`namespace_name_taken`): then StoreConflictError and nothing is written. The count and the
   * insert are one transaction that holds the owner's row (PostgreSQL) or the write lock (SQLite),
   * so concurrent creates on any number of instances never take an account past its limit.
   */
  insertNamespace(namespace: NamespaceRecord, limits: { maxPerAccount: number }, audit: AuditEventInput): Promise<void>;
  /** The account's namespaces, by name. */
  listNamespaces(accountId: string): Promise<NamespaceRecord[]>;
  /**
   * Deletes the account's namespace by name, with its audit event (whose target becomes the
   * namespace's id); false when it has none such.
   */
  deleteNamespace(accountId: string, name: string, audit: AuditEventInput): Promise<boolean>;
}
