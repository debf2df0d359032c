/** Namespaces: DNS-1123 labels, unique across the instance, owned by one account. */
import { NAMESPACE_NAME_PATTERN, namespaceNameSchema } from '@latchkey/contract';
import { namespacesAllow } from '@latchkey/contract/scopes';
import { auditEvent, type Actor } from '../audit/audit-event.js';
import { AppError, fieldError, insufficientScope } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { newId } from '../kernel/ids.js';
import { StoreConflictError } from '../kernel/store-errors.js';
import type { NamespaceRecord } from './namespace.js';
import type { NamespaceStore } from './namespace-store.js';

/**
 * The namespaces a caller may touch: a token's restriction (names and `prefix*` patterns), or
 * null for a console session or an unrestricted token. A name outside it is R-SCOPE naming it;
 * listing shows only what it covers.
 */
export type NamespaceRestriction = readonly string[] | null;

export interface NamespaceService {
  create(accountId: string, name: string, actor: Actor, restriction?: NamespaceRestriction): Promise<NamespaceRecord>;
  list(accountId: string, restriction?: NamespaceRestriction): Promise<NamespaceRecord[]>;
  /** Deletes the account's namespace; NOT_FOUND when it has none by that name. */
  delete(accountId: string, name: string, actor: Actor, restriction?: NamespaceRestriction): Promise<void>;
}

/** Namespaces an account may hold unless configured (NAMESPACE_MAX_PER_ACCOUNT). */
export const DEFAULT_NAMESPACE_MAX_PER_ACCOUNT = 100;

export interface NamespaceSettings {
  /** Namespaces one account may hold; one more is refused with CONFLICT. */
  maxPerAccount: number;
}

export function createNamespaceService(deps: { store: NamespaceStore; clock: Clock; settings?: NamespaceSettings }): NamespaceService {
  const { store, clock } = deps;
  const maxPerAccount = deps.settings?.maxPerAccount ?? DEFAULT_NAMESPACE_MAX_PER_ACCOUNT;
  return {
    async create(accountId, name, actor, restriction = null) {
      const parsed = namespaceNameSchema.safeParse(name);
      if (!parsed.success) throw fieldError('/name', parsed.error.issues[0]?.message ?? 'invalid name');
      if (!namespacesAllow(restriction, name)) throw insufficientScope('namespaces:write', name);
      const now = clock.now();
      const namespace: NamespaceRecord = { id: newId(), name, accountId, createdAt: now };
      try {
        await store.insertNamespace(namespace, { maxPerAccount }, auditEvent(now, 'namespace.created', actor, namespace.id, { name }));
      } catch (error) {
        if (error instanceof StoreConflictError && error.reason === 'namespace_limit_reached') {
          throw new AppError('CONFLICT', `You already have ${maxPerAccount} namespaces; delete one before creating another.`);
        }
        if (error instanceof StoreConflictError) {
          throw new AppError('CONFLICT', `The namespace "${name}" already exists.`);
        }
        throw error;
      }
      return namespace;
    },

    async list(accountId, restriction = null) {
      const namespaces = await store.listNamespaces(accountId);
      return restriction === null ? namespaces : namespaces.filter((namespace) => namespacesAllow(restriction, namespace.name));
    },

    async delete(accountId, name, actor, restriction = null) {
      // No namespace can have a name that is not a DNS label: answered without a query, so a
      // hostile path (a NUL byte, invalid text) never reaches the database, which may refuse it.
      if (!NAMESPACE_NAME_PATTERN.test(name)) throw new AppError('NOT_FOUND', 'No such namespace.');
      if (!namespacesAllow(restriction, name)) throw insufficientScope('namespaces:write', name);
      const now = clock.now();
      // The store fills in the namespace id as the audit target once it knows it.
      const deleted = await store.deleteNamespace(accountId, name, auditEvent(now, 'namespace.deleted', actor, '', { name }));
      if (!deleted) throw new AppError('NOT_FOUND', 'No such namespace.');
    },
  };
}
