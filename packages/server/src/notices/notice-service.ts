/**
 * Notices for an account's owner, shown in the console until dismissed (like GitHub's security
 * banners): today, tokens revoked because someone reported them as leaked.
 */
import { AppError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { isId } from '../kernel/ids.js';
import type { NoticeRecord } from './notice.js';
import type { NoticeStore } from './notice-store.js';

export interface NoticeService {
  /** The account's notices not yet dismissed, newest first. */
  list(accountId: string): Promise<NoticeRecord[]>;
  /** Dismisses one of the account's notices; NOT_FOUND for a missing, foreign or dismissed one. */
  dismiss(accountId: string, noticeId: string): Promise<void>;
}

export function createNoticeService(deps: { store: NoticeStore; clock: Clock }): NoticeService {
  const { store, clock } = deps;
  return {
    list: (accountId) => store.listNotices(accountId),
    async dismiss(accountId, noticeId) {
      const dismissed = isId(noticeId) && (await store.dismissNotice(accountId, noticeId, clock.now()));
      if (!dismissed) throw new AppError('NOT_FOUND', 'No such notice.');
    },
  };
}
