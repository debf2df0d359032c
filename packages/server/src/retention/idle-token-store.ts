import type { AuditEventInput } from '../audit/audit-event.js';
import type { NoticeInput } from '../notices/notice.js';

/** A token the idle rule revokes. */
export interface IdleToken {
  id: string;
  accountId: string;
  name: string;
  last4: string;
}

/** Where the idle rule finds and revokes tokens. */
export interface IdleTokenStore {
  /**
   * Revokes at most `limit` unrevoked, unexpired tokens last used (or, never used, created)
   * before `idleBefore`, in one transaction with an audit event each and one notice per owner
   * (made by `events`); answers them. On PostgreSQL the rows another instance holds are skipped.
   */
  revokeIdleTokens(
    options: { idleBefore: number; now: number; limit: number },
    events: (tokens: IdleToken[]) => { audit: AuditEventInput[]; notices: NoticeInput[] },
  ): Promise<IdleToken[]>;
}
