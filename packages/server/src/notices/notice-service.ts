/**
 * Notices for an account's owner, shown in the console until dismissed (like GitHub's security
 * banners): tokens revoked because someone reported them as leaked, and tokens presented from
 * outside their IP allowlist.
 */
import { AppError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { isId, newId } from '../kernel/ids.js';
import { LruMap } from '../kernel/lru-map.js';
import type { NoticeRecord, OutsideAllowlistNoticeDetail } from './notice.js';
import type { NoticeStore } from './notice-store.js';

export interface NoticeService {
  /** The account's notices not yet dismissed, newest first. */
  list(accountId: string): Promise<NoticeRecord[]>;
  /** Dismisses one of the account's notices; NOT_FOUND for a missing, foreign or dismissed one. */
  dismiss(accountId: string, noticeId: string): Promise<void>;
  /**
   * Tells the owner a token was presented from `ip`, outside its allowlist: one undismissed
   * notice per token and address, however often it is tried (the owner learns of the address,
   * not of every attempt).
   */
  tokenUsedOutsideAllowlist(accountId: string, detail: OutsideAllowlistNoticeDetail): Promise<void>;
}

/** An instance asks the database about the same token and address at most this often. */
const OUTSIDE_ALLOWLIST_RECHECK_MS = 10 * 60_000;

export function createNoticeService(deps: { store: NoticeStore; clock: Clock }): NoticeService {
  const { store, clock } = deps;
  const recentlyNoticed = new LruMap<string, number>(10_000);
  return {
    list: (accountId) => store.listNotices(accountId),
    async dismiss(accountId, noticeId) {
      const dismissed = isId(noticeId) && (await store.dismissNotice(accountId, noticeId, clock.now()));
      if (!dismissed) throw new AppError('NOT_FOUND', 'No such notice.');
    },
    async tokenUsedOutsideAllowlist(accountId, detail) {
      const key = `${detail.token.id} ${detail.ip}`;
      const now = clock.now();
      const noticedAt = recentlyNoticed.peek(key);
      if (noticedAt !== undefined && now - noticedAt < OUTSIDE_ALLOWLIST_RECHECK_MS) return;
      recentlyNoticed.touch(key, now);
      const open = await store.listNotices(accountId);
      const already = open.some((notice) => {
        if (notice.kind !== 'token_outside_allowlist') return false;
        const { token, ip } = notice.detail as unknown as OutsideAllowlistNoticeDetail;
        return token.id === detail.token.id && ip === detail.ip;
      });
      if (already) return;
      await store.addNotice({ id: newId(), accountId, kind: 'token_outside_allowlist', createdAt: now, detail: { ...detail } });
    },
  };
}
