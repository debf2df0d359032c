/**
 * The idle rule (the instance policy's `idleRevokeDays`, docs/api.md): tokens unused for that
 * many days — by `last_used_at`, or `created_at` when never used — are revoked, each audited
 * `token.revoked` (actor: the server; detail reason 'idle'), and their owner is left one
 * `tokens_revoked_idle` notice per batch. It runs with the retention pass (at start and every
 * few minutes, on every instance, in batches; PostgreSQL skips rows another instance holds).
 * Off (null) by default. Expired tokens are left alone: they no longer work anyway.
 */
import { DAY_MS } from '@latchkey/contract';
import { auditEvent, SYSTEM_ACTOR } from '../audit/audit-event.js';
import type { Clock } from '../kernel/clock.js';
import { newId } from '../kernel/ids.js';
import type { RevokedIdleNoticeDetail } from '../notices/notice.js';
import type { PolicyService } from '../admin/policy-service.js';
import type { IdleTokenStore } from './idle-token-store.js';
import type { ExpiredRowPruner } from './retention-service.js';

export function createIdleTokenRevoker(deps: { store: IdleTokenStore; policy: Pick<PolicyService, 'current'>; clock: Clock }): ExpiredRowPruner {
  return {
    name: 'idle_tokens',
    async prune(_deadBy, limit) {
      const { idleRevokeDays } = await deps.policy.current();
      if (idleRevokeDays === null) return 0;
      const now = deps.clock.now();
      const revoked = await deps.store.revokeIdleTokens({ idleBefore: now - idleRevokeDays * DAY_MS, now, limit }, (tokens) => {
        const byOwner = new Map<string, RevokedIdleNoticeDetail['tokens']>();
        for (const token of tokens) {
          const list = byOwner.get(token.accountId) ?? [];
          list.push({ id: token.id, name: token.name, last4: token.last4 });
          byOwner.set(token.accountId, list);
        }
        return {
          audit: tokens.map((token) =>
            auditEvent(now, 'token.revoked', SYSTEM_ACTOR, token.id, { name: token.name, owner: token.accountId, reason: 'idle', idleDays: idleRevokeDays }),
          ),
          notices: [...byOwner].map(([accountId, owned]) => ({
            id: newId(),
            accountId,
            kind: 'tokens_revoked_idle' as const,
            createdAt: now,
            detail: { tokens: owned, idleDays: idleRevokeDays } satisfies RevokedIdleNoticeDetail,
          })),
        };
      });
      return revoked.length;
    },
  };
}
