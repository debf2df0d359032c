/**
 * The audit trail's vocabulary: every change a person or the system makes is recorded as an
 * event, in the same transaction as the change itself (see kysely-audit-store.ts).
 */
import { newId } from '../kernel/ids.js';

export type AuditAction =
  | 'token.created'
  | 'token.revoked'
  | 'token.rotated'
  | 'namespace.created'
  | 'namespace.deleted'
  | 'account.created'
  | 'account.disabled'
  | 'account.enabled'
  | 'account.deleted'
  | 'account.admin_granted'
  | 'account.admin_revoked'
  | 'account.updated'
  | 'account.signed_in'
  | 'invite.created'
  | 'service_account.created'
  | 'service_account.deleted'
  | 'policy.updated'
  | 'throttle.lifted'
  | 'webhook.created'
  | 'webhook.updated'
  | 'webhook.deleted';

/** Who is acting, from where: recorded with every audited change. */
export interface Actor {
  accountId: string | null;
  /** Set when the actor authenticated with a personal access token. */
  tokenId: string | null;
  ip: string | null;
}

/** The actor for work done on the server itself (CLI commands on the host, start-up). */
export const SYSTEM_ACTOR: Actor = { accountId: null, tokenId: null, ip: null };

export interface AuditEventInput {
  id: string;
  occurredAt: number;
  action: AuditAction;
  actor: Actor;
  targetId: string;
  detail?: Record<string, unknown>;
}

export interface AuditEventRecord extends AuditEventInput {
  detail: Record<string, unknown>;
}

export function auditEvent(
  occurredAt: number,
  action: AuditAction,
  actor: Actor,
  targetId: string,
  detail?: Record<string, unknown>,
): AuditEventInput {
  return { id: newId(), occurredAt, action, actor, targetId, detail };
}

/** An event with its place in the trail (`seq`, ascending as events are recorded). */
export interface SequencedAuditEvent extends AuditEventRecord {
  seq: number;
}

/** The administration API's audit filters; `beforeSeq` continues a page. */
export interface AuditEventFilter {
  actorAccountId?: string;
  /** The token's trail: events made with it, and events about it (created, rotated, revoked). */
  tokenId?: string;
  action?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, exclusive. */
  until?: number;
  beforeSeq?: number;
  limit: number;
}
