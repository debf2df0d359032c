import type { NoticeInput, NoticeRecord } from './notice.js';

/**
 * Notices are written by the capability they are about — credential reports inside their own
 * transaction, refused allowlist uses here — and read and dismissed here.
 */
export interface NoticeStore {
  /** The account's notices not yet dismissed, newest first. */
  listNotices(accountId: string): Promise<NoticeRecord[]>;
  /**
   * Dismisses one of the account's notices; false when there is no such undismissed notice of
   * this account (another account's id included), so a repeat reports "not found".
   */
  dismissNotice(accountId: string, noticeId: string, dismissedAt: number): Promise<boolean>;
  addNotice(notice: NoticeInput): Promise<void>;
}
