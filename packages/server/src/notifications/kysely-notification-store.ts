import type { NotificationPreferences } from '@latchkey/contract';
import type { Database } from '../database/database.js';
import { NOTIFICATION_PREFERENCE_COLUMNS } from '../database/schema.js';
import type { NotificationStore } from './notification-store.js';

export function createKyselyNotificationStore(database: Database): NotificationStore {
  const { kysely } = database;
  return {
    async findPreferences(accountId) {
      const row = await kysely
        .selectFrom('notification_preferences')
        .select(NOTIFICATION_PREFERENCE_COLUMNS)
        .where('account_id', '=', accountId)
        .executeTakeFirst();
      if (!row) return undefined;
      return { expiry: row.expiry === 1, revoked: row.revoked === 1, ipRefused: row.ip_refused === 1, newAddress: row.new_address === 1 };
    },

    async savePreferences(accountId, preferences: NotificationPreferences, now) {
      const values = {
        expiry: flag(preferences.expiry),
        revoked: flag(preferences.revoked),
        ip_refused: flag(preferences.ipRefused),
        new_address: flag(preferences.newAddress),
        updated_at: now,
      };
      await kysely
        .insertInto('notification_preferences')
        .values({ account_id: accountId, ...values })
        .onConflict((conflict) => conflict.column('account_id').doUpdateSet(values))
        .execute();
    },

    async findAccountEmail(accountId) {
      const row = await kysely.selectFrom('accounts').select('email').where('id', '=', accountId).executeTakeFirst();
      return row ? row.email : undefined;
    },

    async findTokenRecipients(tokenId) {
      const row = await kysely
        .selectFrom('tokens as t')
        .innerJoin('accounts as o', 'o.id', 't.account_id')
        .leftJoin('accounts as c', 'c.id', 'o.created_by')
        .select([
          't.id',
          't.name',
          't.note',
          't.last4',
          't.expires_at',
          't.account_id',
          't.revoked_at',
          't.replaced_by',
          'o.kind as owner_kind',
          'o.name as owner_name',
          'o.email as owner_email',
          'o.disabled_at as owner_disabled_at',
          'c.id as creator_id',
          'c.email as creator_email',
          'c.disabled_at as creator_disabled_at',
        ])
        .where('t.id', '=', tokenId)
        .executeTakeFirst();
      if (!row) return undefined;
      const serviceAccount = row.owner_kind === 'service';
      return {
        token: {
          id: row.id,
          name: row.name,
          note: row.note,
          last4: row.last4,
          expiresAt: Number(row.expires_at),
          accountId: row.account_id,
          serviceAccount,
          serviceAccountName: serviceAccount ? row.owner_name : null,
          retired: row.revoked_at !== null || Boolean(row.replaced_by),
        },
        owner: { id: row.account_id, email: row.owner_email, disabled: row.owner_disabled_at !== null },
        creator:
          serviceAccount && row.creator_id
            ? { id: row.creator_id, email: row.creator_email, disabled: row.creator_disabled_at !== null }
            : null,
      };
    },

    async claimEmail({ key, jobId, kind, tokenId, now }) {
      await kysely
        .insertInto('email_notifications')
        .values({ key, job_id: jobId, kind, token_id: tokenId, account_id: null, state: 'claimed', created_at: now, sent_at: null })
        .onConflict((conflict) => conflict.column('key').doNothing())
        .execute();
      const row = await kysely.selectFrom('email_notifications').select(['job_id', 'state']).where('key', '=', key).executeTakeFirst();
      return row?.job_id === jobId && row.state === 'claimed';
    },

    async settleEmail(key, jobId, outcome, accountId, now) {
      await kysely
        .updateTable('email_notifications')
        .set({ state: outcome, account_id: accountId, sent_at: outcome === 'sent' ? now : null })
        .where('key', '=', key)
        .where('job_id', '=', jobId)
        .where('state', '=', 'claimed')
        .execute();
    },

    async listEmailOutcomes(tokenId) {
      return kysely
        .selectFrom('email_notifications')
        .select(['key', 'kind', 'state'])
        .where('token_id', '=', tokenId)
        .orderBy('created_at')
        .orderBy('key')
        .execute();
    },

    async findTokenAddress(tokenId, ip) {
      const rows = await kysely.selectFrom('token_addresses').select('ip').where('token_id', '=', tokenId).execute();
      return { known: rows.some((row) => row.ip === ip), usedBefore: rows.length > 0 };
    },
  };
}

function flag(value: boolean): number {
  return value ? 1 : 0;
}
