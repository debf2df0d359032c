/**
 * The webhook store's written guarantees (webhook-store.ts), on SQLite and on a real PostgreSQL:
 * the per-account limit, ownership on every read and write, who an event goes to (own and
 * instance-wide endpoints of enabled administrators), deliveries inserted once per endpoint and
 * event with their job in the same transaction, attempts recorded with the failing streak and the
 * disable-with-notice, restarts, and deletion with the deliveries.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { storeFixtures } from '../../test/support/store-fixtures.js';
import { auditEvent, SYSTEM_ACTOR } from '../audit/audit-event.js';
import { newId } from '../kernel/ids.js';
import { createKyselyNoticeStore } from '../notices/kysely-notice-store.js';
import { createKyselyWebhookStore } from './kysely-webhook-store.js';
import type { AttemptOutcome, WebhookRecord } from './webhook.js';
import { deliveryJob } from './webhook-delivery.js';

const T0 = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;

describeEachBackend('Webhook store contract', (ctx) => {
  const { givenAccount, givenToken } = storeFixtures(ctx);
  const store = () => createKyselyWebhookStore(ctx.database, { deliveryJob });
  const webhook = (accountId: string, over: Partial<WebhookRecord> = {}): WebhookRecord => ({
    id: newId(),
    accountId,
    instanceWide: false,
    url: 'https://hooks.example.com/a',
    events: ['token.created'],
    description: null,
    createdAt: T0,
    updatedAt: T0,
    disabledAt: null,
    disabledReason: null,
    failingSince: null,
    ...over,
  });
  const delivery = (webhookId: string, eventKey = 'audit:1') => ({
    id: newId(),
    webhookId,
    messageId: `msg_${eventKey}`,
    event: 'token.created',
    eventKey,
    payload: '{"type":"token.created"}',
    createdAt: T0,
  });
  const failure = (attemptedAt: number, final = false): AttemptOutcome => ({
    attemptedAt,
    succeeded: false,
    responseStatus: 503,
    durationMs: 12,
    error: 'answered 503',
    responseExcerpt: 'down',
    final,
  });
  const streak = { disableAfterMs: 3 * DAY, disableNotice: (hook: WebhookRecord) => ({ id: newId(), accountId: hook.accountId, kind: 'webhook_disabled' as const, createdAt: hook.disabledAt!, detail: { webhook: { id: hook.id } } }) };
  const audited = (action: 'webhook.created' | 'webhook.updated' | 'webhook.deleted') => auditEvent(T0, action, SYSTEM_ACTOR, 'webhook');
  const auditActions = async () => ((await ctx.exec(sql`select action from audit_events where action like 'webhook.%' order by action`)) as Array<{ action: string }>).map((row) => row.action);
  const jobs = async () => (await ctx.exec(sql`select kind, dedupe_key from jobs order by dedupe_key`)) as Array<{ kind: string; dedupe_key: string }>;

  it('inserts endpoints up to the per-account limit, never shows or changes one for another account, and audits each change', async () => {
    const owner = await givenAccount();
    const other = await givenAccount();
    const first = webhook(owner.id);
    expect(await store().insertWebhook(first, 'whsec_a', { maxPerAccount: 2 }, audited('webhook.created'))).toBe(true);
    expect(await store().insertWebhook(webhook(owner.id), 'whsec_b', { maxPerAccount: 2 }, audited('webhook.created'))).toBe(true);
    expect(await store().insertWebhook(webhook(owner.id), 'whsec_c', { maxPerAccount: 2 }, audited('webhook.created'))).toBe(false);
    expect(await store().insertWebhook(webhook(other.id), 'whsec_d', { maxPerAccount: 2 }, audited('webhook.created'))).toBe(true);
    expect(await store().listWebhooks(owner.id)).toHaveLength(2);
    expect(await store().findWebhook(other.id, first.id)).toBeUndefined();
    expect(await store().updateWebhook(other.id, first.id, { description: 'taken' }, T0 + 1, audited('webhook.updated'))).toBeUndefined();
    expect(await store().deleteWebhook(other.id, first.id, audited('webhook.deleted'))).toBe(false);
    expect(await store().findWebhook(owner.id, first.id)).toEqual(first);
    expect(await store().updateWebhook(owner.id, first.id, { description: 'mine', events: ['token.revoked'] }, T0 + 1, audited('webhook.updated'))).toMatchObject({ description: 'mine', events: ['token.revoked'], updatedAt: T0 + 1 });
    // An audit event with each change made, none with a change refused (the limit, another account's endpoint).
    expect(await auditActions()).toEqual(['webhook.created', 'webhook.created', 'webhook.created', 'webhook.updated']);
  });

  it('sends an event to the owner’s enabled endpoints and to instance-wide ones of enabled administrators only', async () => {
    const member = await givenAccount();
    const admin = await givenAccount({ isAdmin: true });
    const demoted = await givenAccount();
    const own = webhook(member.id);
    const disabled = webhook(member.id, { disabledAt: T0, disabledReason: 'owner' });
    const instance = webhook(admin.id, { instanceWide: true });
    const notAdmin = webhook(demoted.id, { instanceWide: true });
    const adminsOwn = webhook(admin.id);
    for (const hook of [own, disabled, instance, notAdmin, adminsOwn]) await store().insertWebhook(hook, 'whsec_x', { maxPerAccount: 10 }, audited('webhook.created'));
    expect((await store().listEndpointsFor(member.id)).map((hook) => hook.id).sort()).toEqual([own.id, instance.id].sort());
    expect((await store().listEndpointsFor(admin.id)).map((hook) => hook.id).sort()).toEqual([instance.id, adminsOwn.id].sort());
  });

  it('inserts a delivery once per endpoint and event, with its job in the same transaction', async () => {
    const owner = await givenAccount();
    const hook = webhook(owner.id);
    await store().insertWebhook(hook, 'whsec_x', { maxPerAccount: 10 }, audited('webhook.created'));
    const first = delivery(hook.id);
    expect(await store().insertDeliveries([first])).toEqual([first.id]);
    // A retried fan-out: the same event again keeps the first delivery and enqueues nothing new.
    expect(await store().insertDeliveries([delivery(hook.id)])).toEqual([first.id]);
    expect((await jobs()).filter((job) => job.kind === 'webhook.deliver')).toEqual([{ kind: 'webhook.deliver', dedupe_key: `webhook.deliver:${first.id}:first` }]);
    const found = await store().findDeliveryToAttempt(first.id);
    expect(found).toMatchObject({ secret: 'whsec_x', payload: first.payload, webhook: { id: hook.id }, delivery: { status: 'pending', attempts: 0, messageId: first.messageId } });
  });

  it('records attempts: a failure starts the streak, a success clears it and completes the delivery', async () => {
    const owner = await givenAccount();
    const hook = webhook(owner.id);
    await store().insertWebhook(hook, 'whsec_x', { maxPerAccount: 10 }, audited('webhook.created'));
    const { id } = delivery(hook.id);
    await store().insertDeliveries([{ ...delivery(hook.id), id }]);
    expect(await store().recordAttempt(id, failure(T0 + 10), streak)).toEqual({ disabled: false });
    expect(await store().findWebhook(owner.id, hook.id)).toMatchObject({ failingSince: T0 + 10 });
    await store().recordAttempt(id, failure(T0 + 50), streak);
    expect(await store().findWebhook(owner.id, hook.id)).toMatchObject({ failingSince: T0 + 10 });
    await store().recordAttempt(id, { attemptedAt: T0 + 90, succeeded: true, responseStatus: 204, durationMs: 5, error: null, responseExcerpt: null, final: false }, streak);
    expect(await store().findWebhook(owner.id, hook.id)).toMatchObject({ failingSince: null, disabledAt: null });
    const [listed] = await store().listDeliveries(hook.id, 10);
    expect(listed).toMatchObject({ status: 'succeeded', attempts: 3, responseStatus: 204, lastAttemptAt: T0 + 90, finishedAt: T0 + 90 });
    expect(listed!.attemptLog.map((attempt) => [attempt.attempt, attempt.succeeded, attempt.responseStatus])).toEqual([
      [1, false, 503],
      [2, false, 503],
      [3, true, 204],
    ]);
  });

  it('disables an endpoint whose streak reaches three days, once, with the owner’s notice in the same transaction', async () => {
    const owner = await givenAccount();
    const hook = webhook(owner.id);
    await store().insertWebhook(hook, 'whsec_x', { maxPerAccount: 10 }, audited('webhook.created'));
    const first = delivery(hook.id, 'audit:1');
    const later = delivery(hook.id, 'audit:2');
    await store().insertDeliveries([first, later]);
    await store().recordAttempt(first.id, failure(T0, true), streak);
    expect(await store().recordAttempt(later.id, failure(T0 + 3 * DAY - 1), streak)).toEqual({ disabled: false });
    expect(await store().recordAttempt(later.id, failure(T0 + 3 * DAY), streak)).toEqual({ disabled: true });
    expect(await store().recordAttempt(later.id, failure(T0 + 3 * DAY + 5), streak)).toEqual({ disabled: false });
    expect(await store().findWebhook(owner.id, hook.id)).toMatchObject({ disabledAt: T0 + 3 * DAY, disabledReason: 'failing', failingSince: T0 });
    const notices = await createKyselyNoticeStore(ctx.database).listNotices(owner.id);
    expect(notices.map((notice) => [notice.kind, notice.detail])).toEqual([['webhook_disabled', { webhook: { id: hook.id } }]]);
    expect((await store().listDeliveries(hook.id, 10)).find((listed) => listed.id === first.id)).toMatchObject({ status: 'failed' });
  });

  it('restarts a delivery of the owner’s endpoint only, and deletes deliveries with their endpoint', async () => {
    const owner = await givenAccount();
    const other = await givenAccount();
    const hook = webhook(owner.id);
    await store().insertWebhook(hook, 'whsec_x', { maxPerAccount: 10 }, audited('webhook.created'));
    const { id } = delivery(hook.id);
    await store().insertDeliveries([{ ...delivery(hook.id), id }]);
    await store().recordAttempt(id, failure(T0 + 1, true), streak);
    expect(await store().restartDelivery(other.id, hook.id, id, T0 + 100)).toBeUndefined();
    expect(await store().restartDelivery(owner.id, hook.id, id, T0 + 100)).toMatchObject({ status: 'pending', retryFrom: T0 + 100, attempts: 1, finishedAt: null });
    await store().abandonDelivery(id, 'endpoint disabled', T0 + 200);
    expect((await store().listDeliveries(hook.id, 10))[0]).toMatchObject({ status: 'failed', error: 'endpoint disabled' });
    expect(await store().deleteWebhook(owner.id, hook.id, audited('webhook.deleted'))).toBe(true);
    expect(await store().findDeliveryToAttempt(id)).toBeUndefined();
    expect(await ctx.exec(sql`select id from webhook_attempts`)).toEqual([]);
  });

  it('prunes deliveries finished before a time, with their attempts, in batches; never a pending one', async () => {
    const owner = await givenAccount();
    const hook = webhook(owner.id);
    await store().insertWebhook(hook, 'whsec_x', { maxPerAccount: 10 }, audited('webhook.created'));
    const [old1, old2, recent, pending] = ['audit:1', 'audit:2', 'audit:3', 'audit:4'].map((key) => delivery(hook.id, key));
    await store().insertDeliveries([old1!, old2!, recent!, pending!]);
    await store().recordAttempt(old1!.id, failure(T0 + 10, true), streak);
    await store().recordAttempt(old2!.id, { ...failure(T0 + 20), succeeded: true, error: null }, streak);
    await store().recordAttempt(recent!.id, failure(T0 + 5 * DAY, true), streak);
    await store().recordAttempt(pending!.id, failure(T0 + 30), streak);
    expect(await store().pruneFinishedDeliveries(T0 + DAY, 1)).toBe(1);
    expect(await store().pruneFinishedDeliveries(T0 + DAY, 10)).toBe(1);
    expect(await store().pruneFinishedDeliveries(T0 + DAY, 10)).toBe(0);
    expect((await store().listDeliveries(hook.id, 10)).map((listed) => listed.id).sort()).toEqual([recent!.id, pending!.id].sort());
    expect(await ctx.exec(sql`select delivery_id from webhook_attempts where delivery_id in (${old1!.id}, ${old2!.id})`)).toEqual([]);
  });

  it('describes an event’s token without its secret, and nothing for a token that is gone', async () => {
    const owner = await givenAccount();
    const { record: token } = await givenToken(owner.id, { name: 'ci', note: 'deploys' });
    expect(await store().findEventToken(token.id)).toEqual({
      id: token.id,
      accountId: owner.id,
      name: 'ci',
      note: 'deploys',
      scopes: token.scopes,
      expiresAt: token.expiresAt,
    });
    expect(await store().findEventToken(newId())).toBeUndefined();
  });
});
