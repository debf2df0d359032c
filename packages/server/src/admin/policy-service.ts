/**
 * The instance policy (docs/api.md, "Administration API"): the longest lifetime of personal and
 * of service-account tokens, the scopes personal tokens may carry, and the idle rule. It is one
 * database row, read at each token creation (creation is not the hot path), so a change applies
 * to new tokens at once on every instance; until an administrator first saves it, the defaults
 * come from the environment (TOKEN_MAX_LIFETIME_DAYS; every scope; service tokens up to
 * TOKEN_LIFETIME_LIMIT_DAYS; no idle rule). A change is audited `policy.updated` with before and after.
 */
import { TOKEN_SCOPES, type AdminUpdatePolicyRequest } from '@latchkey/contract';
import { canonicalScopes, type TokenScope } from '@latchkey/contract/scopes';
import { auditEvent, type Actor, type AuditEventInput } from '../audit/audit-event.js';
import type { Clock } from '../kernel/clock.js';
import type { TokenPolicy } from '../tokens/token-service.js';

export interface Policy extends TokenPolicy {
  personalScopes: TokenScope[];
  /** Tokens unused for this many days are revoked by the idle job; null: never. */
  idleRevokeDays: number | null;
  /** When an administrator last saved it; null while the defaults apply. */
  updatedAt: number | null;
}

export interface PolicyStore {
  /** The saved policy, or undefined before the first save. */
  readPolicy(): Promise<Policy | undefined>;
  /** Saves the whole policy with its audit event, in one transaction. */
  writePolicy(policy: Policy & { updatedAt: number }, audit: AuditEventInput): Promise<void>;
}

export interface PolicyService {
  current(): Promise<Policy>;
  update(request: AdminUpdatePolicyRequest, actor: Actor): Promise<Policy>;
}

export function createPolicyService(deps: {
  store: PolicyStore;
  clock: Clock;
  /** TOKEN_MAX_LIFETIME_DAYS: the personal maximum until a policy is saved. */
  defaultMaxLifetimeDays: number;
}): PolicyService {
  const { store, clock } = deps;
  const defaults: Policy = {
    maxLifetimeDays: deps.defaultMaxLifetimeDays,
    serviceMaxLifetimeDays: null,
    personalScopes: [...TOKEN_SCOPES],
    idleRevokeDays: null,
    updatedAt: null,
  };

  async function current(): Promise<Policy> {
    return (await store.readPolicy()) ?? defaults;
  }

  return {
    current,
    async update(request, actor) {
      const before = await current();
      const now = clock.now();
      const after = {
        maxLifetimeDays: request.maxLifetimeDays,
        serviceMaxLifetimeDays: request.serviceMaxLifetimeDays,
        personalScopes: canonicalScopes(request.personalScopes),
        idleRevokeDays: request.idleRevokeDays,
        updatedAt: now,
      };
      const { updatedAt: _before, ...beforeFields } = before;
      const { updatedAt: _after, ...afterFields } = after;
      await store.writePolicy(after, auditEvent(now, 'policy.updated', actor, 'policy', { before: beforeFields, after: afterFields }));
      return after;
    },
  };
}
