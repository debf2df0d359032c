import type { AuditEventInput } from '../audit/audit-event.js';
import type { NamespaceRecord } from './namespace.js';

/** Where namespaces are kept; each change with its audit event, in one transaction. */
export interface NamespaceStore {
  /** Inserts a namespace and its audit event; a taken name (anyone's) → StoreConflictError. */
  insertNamespace(namespace: NamespaceRecord, audit: AuditEventInput): Promise<void>;
  /** The account's namespaces, by name. */
  listNamespaces(accountId: string): Promise<NamespaceRecord[]>;
  /**
   * Deletes the account's namespace by name, with its audit event (whose target becomes the
   * namespace's id); false when it has none such.
   */
  deleteNamespace(accountId: string, name: string, audit: AuditEventInput): Promise<boolean>;
}
