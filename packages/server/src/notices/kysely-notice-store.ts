import type { Database } from '../database/database.js';
import { NOTICE_COLUMNS, nullableNumber } from '../database/schema.js';
import type { NoticeInput, NoticeRecord } from './notice.js';
import type { NoticeStore } from './notice-store.js';

export function createKyselyNoticeStore(database: Database): NoticeStore {
  const { kysely } = database;
  return {
    async listNotices(accountId) {
      const rows = await kysely
        .selectFrom('notices')
        .select(NOTICE_COLUMNS)
        .where('account_id', '=', accountId)
        .where('dismissed_at', 'is', null)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .execute();
      return rows.map((row) => ({
        id: row.id,
        accountId: row.account_id,
        kind: row.kind as NoticeRecord['kind'],
        createdAt: Number(row.created_at),
        detail: JSON.parse(row.detail) as Record<string, unknown>,
        dismissedAt: nullableNumber(row.dismissed_at),
      }));
    },

    async dismissNotice(accountId, noticeId, dismissedAt) {
      const result = await kysely
        .updateTable('notices')
        .set({ dismissed_at: dismissedAt })
        .where('id', '=', noticeId)
        .where('account_id', '=', accountId)
        .where('dismissed_at', 'is', null)
        .executeTakeFirst();
      return result.numUpdatedRows > 0n;
    },

    async addNotice(notice) {
      await kysely.insertInto('notices').values(noticeRow(notice)).execute();
    },
  };
}

/** A notice as a row, for the capability that writes it inside its own transaction. */
export function noticeRow(notice: NoticeInput) {
  return {
    id: notice.id,
    account_id: notice.accountId,
    kind: notice.kind,
    created_at: notice.createdAt,
    detail: JSON.stringify(notice.detail),
    dismissed_at: null,
  };
}
