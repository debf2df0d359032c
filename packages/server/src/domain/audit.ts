import type { AuditAction, AuditEventInput } from '../store/store.js';
import { newId } from './ids.js';

/** Who is acting, from where: recorded with every audited change. */
export interface Actor {
  accountId: string | null;
  /** Set when the actor authenticated with a personal access token. */
  tokenId: string | null;
  ip: string | null;
}

/** The actor for work done on the server itself (CLI commands on the host, start-up). */
export const SYSTEM_ACTOR: Actor = { accountId: null, tokenId: null, ip: null };

export function auditEvent(
  occurredAt: number,
  action: AuditAction,
  actor: Actor,
  targetId: string,
  detail?: Record<string, unknown>,
): AuditEventInput {
  return { id: newId(), occurredAt, action, actor, targetId, detail };
}
