/** Webhook endpoints, their deliveries and attempts (tables of 0017_webhooks). */
import type { Transaction } from 'kysely';
import { writeWithAudit } from '../audit/kysely-audit-store.js';
import { chunks } from '../database/chunks.js';
import type { Database } from '../database/database.js';
import {
  nullableNumber,
  prefixed,
  qualified,
  WEBHOOK_ATTEMPT_COLUMNS,
  WEBHOOK_COLUMNS,
  WEBHOOK_DELIVERY_COLUMNS,
  type Tables,
  type WebhookAttemptsTable,
  type WebhookDeliveriesTable,
  type WebhooksTable,
} from '../database/schema.js';
import type { NewJob } from '../jobs/job.js';
import { enqueueJobsIn } from '../jobs/kysely-job-store.js';
import { newId } from '../kernel/ids.js';
import { noticeRow } from '../notices/kysely-notice-store.js';
import type { WebhookAttemptRecord, WebhookDeliveryRecord, WebhookRecord } from './webhook.js';
import type { WebhookStore } from './webhook-store.js';

type WebhookRow = Pick<WebhooksTable, (typeof WEBHOOK_COLUMNS)[number]>;
type DeliveryRow = Pick<WebhookDeliveriesTable, (typeof WEBHOOK_DELIVERY_COLUMNS)[number]>;
type AttemptRow = Pick<WebhookAttemptsTable, (typeof WEBHOOK_ATTEMPT_COLUMNS)[number]>;

/** Jobs to enqueue with the rows that cause them: committed together, or not at all. */
export type DeliveryJobs = (deliveryId: string, retryFrom: number) => NewJob;

export function createKyselyWebhookStore(database: Database, jobs: { deliveryJob: DeliveryJobs }): WebhookStore {
  const { kysely } = database;

  const findIn = (db: typeof kysely | Transaction<Tables>, accountId: string, id: string) =>
    db.selectFrom('webhooks').select(WEBHOOK_COLUMNS).where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();

  return {
    insertWebhook(webhook, secret, limits, audit) {
      return writeWithAudit(database, async (trx) => {
        // PostgreSQL: the owner's row lock makes concurrent creates for one account take turns.
        if (database.dialect === 'postgres') {
          await trx.selectFrom('accounts').select('id').where('id', '=', webhook.accountId).forUpdate().execute();
        }
        const { held } = await trx
          .selectFrom('webhooks')
          .select((eb) => eb.fn.countAll<number>().as('held'))
          .where('account_id', '=', webhook.accountId)
          .executeTakeFirstOrThrow();
        if (Number(held) >= limits.maxPerAccount) return { result: false, audit: null };
        await trx.insertInto('webhooks').values({ ...webhookRow(webhook), secret }).execute();
        return { result: true, audit };
      });
    },

    async listWebhooks(accountId) {
      const rows = await kysely
        .selectFrom('webhooks')
        .select(WEBHOOK_COLUMNS)
        .where('account_id', '=', accountId)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      return rows.map(toWebhook);
    },

    async findWebhook(accountId, id) {
      const row = await findIn(kysely, accountId, id);
      return row && toWebhook(row);
    },

    updateWebhook(accountId, id, change, updatedAt, audit) {
      return writeWithAudit(database, async (trx) => {
        const set: Partial<WebhooksTable> = { updated_at: updatedAt };
        if (change.url !== undefined) set.url = change.url;
        if (change.events !== undefined) set.events = JSON.stringify(change.events);
        if (change.description !== undefined) set.description = change.description;
        if (change.disabledAt !== undefined) set.disabled_at = change.disabledAt;
        if (change.disabledReason !== undefined) set.disabled_reason = change.disabledReason;
        if (change.failingSince !== undefined) set.failing_since = change.failingSince;
        const updated = await trx.updateTable('webhooks').set(set).where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
        if (updated.numUpdatedRows === 0n) return { result: undefined, audit: null };
        const row = await findIn(trx, accountId, id);
        return { result: row && toWebhook(row), audit };
      });
    },

    deleteWebhook(accountId, id, audit) {
      return writeWithAudit(database, async (trx) => {
        const result = await trx.deleteFrom('webhooks').where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
        const deleted = result.numDeletedRows > 0n;
        return { result: deleted, audit: deleted ? audit : null };
      });
    },

    async findEventToken(tokenId) {
      const row = await kysely
        .selectFrom('tokens')
        .select(['id', 'account_id', 'name', 'note', 'scopes', 'expires_at'])
        .where('id', '=', tokenId)
        .executeTakeFirst();
      if (!row) return undefined;
      return {
        id: row.id,
        accountId: row.account_id,
        name: row.name,
        note: row.note,
        scopes: row.scopes.split(' ').filter(Boolean),
        expiresAt: Number(row.expires_at),
      };
    },

    async listEndpointsFor(accountId) {
      const rows = await kysely
        .selectFrom('webhooks as w')
        .innerJoin('accounts as a', 'a.id', 'w.account_id')
        .select([...qualified('w', WEBHOOK_COLUMNS), 'a.is_admin as owner_is_admin', 'a.disabled_at as owner_disabled_at'])
        .where('w.disabled_at', 'is', null)
        .where((eb) => eb.or([eb('w.account_id', '=', accountId), eb('w.instance_wide', '=', 1)]))
        .orderBy('w.created_at')
        .orderBy('w.id')
        .execute();
      return rows
        .filter((row) => row.account_id === accountId || (Boolean(row.owner_is_admin) && row.owner_disabled_at === null))
        .map(toWebhook);
    },

    async insertDeliveries(deliveries) {
      if (deliveries.length === 0) return [];
      const ids = await kysely.transaction().execute(async (trx) => {
        for (const chunk of chunks(deliveries)) {
          await trx
            .insertInto('webhook_deliveries')
            .values(
              chunk.map((delivery) => ({
                id: delivery.id,
                webhook_id: delivery.webhookId,
                message_id: delivery.messageId,
                event: delivery.event,
                event_key: delivery.eventKey,
                payload: delivery.payload,
                status: 'pending',
                attempts: 0,
                created_at: delivery.createdAt,
                retry_from: delivery.createdAt,
              })),
            )
            .onConflict((conflict) => conflict.columns(['webhook_id', 'event_key']).doNothing())
            .execute();
        }
        // The rows as stored: a repeat keeps the first insert's id and series.
        const stored: Array<{ id: string; webhook_id: string; event_key: string; retry_from: number; status: string }> = [];
        for (const delivery of deliveries) {
          const row = await trx
            .selectFrom('webhook_deliveries')
            .select(['id', 'webhook_id', 'event_key', 'retry_from', 'status'])
            .where('webhook_id', '=', delivery.webhookId)
            .where('event_key', '=', delivery.eventKey)
            .executeTakeFirstOrThrow();
          stored.push(row);
        }
        const pending = stored.filter((row) => row.status === 'pending');
        const now = deliveries[0]!.createdAt;
        await enqueueJobsIn(
          trx,
          pending.map((row) => jobs.deliveryJob(row.id, Number(row.retry_from))),
          now,
        );
        return stored.map((row) => row.id);
      });
      database.committedJobs.announce();
      return ids;
    },

    async findDeliveryToAttempt(deliveryId) {
      const row = await kysely
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
        .select([...qualified('d', WEBHOOK_DELIVERY_COLUMNS), 'd.payload', 'w.secret'])
        .select(prefixed('w', WEBHOOK_COLUMNS, 'w_'))
        .where('d.id', '=', deliveryId)
        .executeTakeFirst();
      if (!row) return undefined;
      const webhook = toWebhook({
        id: row.w_id,
        account_id: row.w_account_id,
        instance_wide: row.w_instance_wide,
        url: row.w_url,
        events: row.w_events,
        description: row.w_description,
        created_at: row.w_created_at,
        updated_at: row.w_updated_at,
        disabled_at: row.w_disabled_at,
        disabled_reason: row.w_disabled_reason,
        failing_since: row.w_failing_since,
      });
      return { delivery: toDelivery(row), webhook, secret: row.secret, payload: row.payload };
    },

    recordAttempt(deliveryId, outcome, streak) {
      return kysely.transaction().execute(async (trx) => {
        const delivery = await trx
          .selectFrom('webhook_deliveries')
          .select(['webhook_id', 'attempts'])
          .where('id', '=', deliveryId)
          .executeTakeFirst();
        if (!delivery) return { disabled: false };
        const attempt = Number(delivery.attempts) + 1;
        await trx
          .insertInto('webhook_attempts')
          .values({
            id: newId(),
            delivery_id: deliveryId,
            attempt,
            attempted_at: outcome.attemptedAt,
            succeeded: outcome.succeeded ? 1 : 0,
            response_status: outcome.responseStatus,
            duration_ms: outcome.durationMs,
            error: outcome.error,
          })
          .execute();
        const done = outcome.succeeded || outcome.final;
        await trx
          .updateTable('webhook_deliveries')
          .set({
            attempts: attempt,
            status: outcome.succeeded ? 'succeeded' : outcome.final ? 'failed' : 'pending',
            response_status: outcome.responseStatus,
            duration_ms: outcome.durationMs,
            error: outcome.error,
            response_excerpt: outcome.responseExcerpt,
            last_attempt_at: outcome.attemptedAt,
            finished_at: done ? outcome.attemptedAt : null,
          })
          .where('id', '=', deliveryId)
          .execute();
        if (outcome.succeeded) {
          await trx.updateTable('webhooks').set({ failing_since: null }).where('id', '=', delivery.webhook_id).execute();
          return { disabled: false };
        }
        // The streak starts at the first failure after a success (or ever).
        await trx
          .updateTable('webhooks')
          .set({ failing_since: outcome.attemptedAt })
          .where('id', '=', delivery.webhook_id)
          .where('failing_since', 'is', null)
          .execute();
        const disabledRow = await trx
          .updateTable('webhooks')
          .set({ disabled_at: outcome.attemptedAt, disabled_reason: 'failing', updated_at: outcome.attemptedAt })
          .where('id', '=', delivery.webhook_id)
          .where('disabled_at', 'is', null)
          .where('failing_since', '<=', outcome.attemptedAt - streak.disableAfterMs)
          .returning(WEBHOOK_COLUMNS)
          .executeTakeFirst();
        if (!disabledRow) return { disabled: false };
        await trx.insertInto('notices').values(noticeRow(streak.disableNotice(toWebhook(disabledRow)))).execute();
        return { disabled: true };
      });
    },

    async abandonDelivery(deliveryId, reason, at) {
      await kysely
        .updateTable('webhook_deliveries')
        .set({ status: 'failed', error: reason, finished_at: at })
        .where('id', '=', deliveryId)
        .where('status', '=', 'pending')
        .execute();
    },

    restartDelivery(accountId, webhookId, deliveryId, at) {
      return kysely.transaction().execute(async (trx) => {
        const owned = await findIn(trx, accountId, webhookId);
        if (!owned) return undefined;
        const current = await trx
          .selectFrom('webhook_deliveries')
          .select('retry_from')
          .where('id', '=', deliveryId)
          .where('webhook_id', '=', webhookId)
          .executeTakeFirst();
        if (!current) return undefined;
        // A series is known by its start: the new one's must differ from the one it replaces.
        const retryFrom = Math.max(at, Number(current.retry_from) + 1);
        const row = await trx
          .updateTable('webhook_deliveries')
          .set({ status: 'pending', retry_from: retryFrom, finished_at: null })
          .where('id', '=', deliveryId)
          .where('webhook_id', '=', webhookId)
          .returning(WEBHOOK_DELIVERY_COLUMNS)
          .executeTakeFirst();
        return row && toDelivery(row);
      });
    },

    async pruneFinishedDeliveries(before, limit) {
      const batch = kysely.selectFrom('webhook_deliveries').select('id').where('finished_at', '<', before).limit(limit);
      const result = await kysely.deleteFrom('webhook_deliveries').where('id', 'in', batch).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async listDeliveries(webhookId, limit) {
      const rows = await kysely
        .selectFrom('webhook_deliveries')
        .select(WEBHOOK_DELIVERY_COLUMNS)
        .where('webhook_id', '=', webhookId)
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(limit)
        .execute();
      const attempts = new Map<string, WebhookAttemptRecord[]>();
      for (const chunk of chunks(rows.map((row) => row.id))) {
        const attemptRows = await kysely
          .selectFrom('webhook_attempts')
          .select(WEBHOOK_ATTEMPT_COLUMNS)
          .where('delivery_id', 'in', chunk)
          .orderBy('attempted_at')
          .orderBy('attempt')
          .execute();
        for (const attemptRow of attemptRows) {
          const list = attempts.get(attemptRow.delivery_id) ?? [];
          list.push(toAttempt(attemptRow));
          attempts.set(attemptRow.delivery_id, list);
        }
      }
      return rows.map((row) => ({ ...toDelivery(row), attemptLog: attempts.get(row.id) ?? [] }));
    },
  };
}

function webhookRow(webhook: WebhookRecord): WebhookRow {
  return {
    id: webhook.id,
    account_id: webhook.accountId,
    instance_wide: webhook.instanceWide ? 1 : 0,
    url: webhook.url,
    events: JSON.stringify(webhook.events),
    description: webhook.description,
    created_at: webhook.createdAt,
    updated_at: webhook.updatedAt,
    disabled_at: webhook.disabledAt,
    disabled_reason: webhook.disabledReason,
    failing_since: webhook.failingSince,
  };
}

function toWebhook(row: WebhookRow): WebhookRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    instanceWide: Number(row.instance_wide) === 1,
    url: row.url,
    events: JSON.parse(row.events) as WebhookRecord['events'],
    description: row.description,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    disabledAt: nullableNumber(row.disabled_at),
    disabledReason: row.disabled_reason as WebhookRecord['disabledReason'],
    failingSince: nullableNumber(row.failing_since),
  };
}

function toDelivery(row: DeliveryRow): WebhookDeliveryRecord {
  return {
    id: row.id,
    webhookId: row.webhook_id,
    messageId: row.message_id,
    event: row.event as WebhookDeliveryRecord['event'],
    eventKey: row.event_key,
    status: row.status as WebhookDeliveryRecord['status'],
    attempts: Number(row.attempts),
    responseStatus: nullableNumber(row.response_status),
    durationMs: nullableNumber(row.duration_ms),
    error: row.error,
    responseExcerpt: row.response_excerpt,
    createdAt: Number(row.created_at),
    retryFrom: Number(row.retry_from),
    lastAttemptAt: nullableNumber(row.last_attempt_at),
    finishedAt: nullableNumber(row.finished_at),
  };
}

function toAttempt(row: AttemptRow): WebhookAttemptRecord {
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    attempt: Number(row.attempt),
    attemptedAt: Number(row.attempted_at),
    succeeded: Number(row.succeeded) === 1,
    responseStatus: nullableNumber(row.response_status),
    durationMs: Number(row.duration_ms),
    error: row.error,
  };
}
