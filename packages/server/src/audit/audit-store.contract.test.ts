/**
 * The audit trail's written guarantees, on SQLite and on a real PostgreSQL: `writeWithAudit`
 * (kysely-audit-store.ts) commits a change and its events together or not at all, and
 * `listAuditEvents` (audit-store.ts) reads them back newest first.
 */
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { expectNoTokenSecretSentAfterEach, rejection, storeFixtures } from '../../test/support/store-fixtures.js';
import type { Tables } from '../database/schema.js';
import type { AuditEventInput } from './audit-event.js';
import { writeWithAudit } from './kysely-audit-store.js';

describeEachBackend('Audit store contract', (ctx) => {
  const { tick, audit, count } = storeFixtures(ctx);
  expectNoTokenSecretSentAfterEach(ctx);

  /** The change a test audits: an account row, inserted inside the write's transaction. */
  async function insertAccountRow(trx: Transaction<Tables>): Promise<string> {
    const id = randomUUID();
    await trx.insertInto('accounts').values({ id, email: null, name: null, is_admin: 0, created_at: tick(), disabled_at: null }).execute();
    return id;
  }

  const record = (events: AuditEventInput | readonly AuditEventInput[]) =>
    writeWithAudit(ctx.database, async () => ({ result: undefined, audit: events }));

  it('lists newest first, up to the limit, optionally by account, with actor and detail intact', async () => {
    const alice = randomUUID();
    const bob = randomUUID();
    const events = [
      audit('account.signed_in', alice, alice, { method: 'link' }),
      audit('invite.created', 'invite-1', bob, { email: 'x@example.test', nested: { n: 1, list: [1, 'two'] } }),
      audit('account.signed_in', alice, alice),
      audit('account.signed_in', bob, bob),
    ];
    for (const event of events) await record(event);

    const all = await ctx.stores.audit.listAuditEvents({ limit: 10 });
    expect(all.map((event) => event.id)).toEqual([...events].reverse().map((event) => event.id));
    expect(all[2]).toEqual({ ...events[1]!, detail: events[1]!.detail });
    expect(all[1]!.detail).toEqual({});

    expect((await ctx.stores.audit.listAuditEvents({ limit: 2 })).map((event) => event.id)).toEqual([events[3]!.id, events[2]!.id]);
    expect((await ctx.stores.audit.listAuditEvents({ accountId: alice, limit: 10 })).map((event) => event.id)).toEqual([
      events[2]!.id,
      events[0]!.id,
    ]);
  });

  it('a write\'s change and every event it returns are committed together, in the order given', async () => {
    const events = [audit('account.created', 'first'), audit('account.disabled', 'second')];
    const id = await writeWithAudit(ctx.database, async (trx) => ({ result: await insertAccountRow(trx), audit: events }));
    expect(await ctx.stores.accounts.findAccountById(id)).toBeDefined();
    expect((await ctx.stores.audit.listAuditEvents({ limit: 10 })).map((event) => event.id)).toEqual([events[1]!.id, events[0]!.id]);
  });

  it('a write that returns no event records none', async () => {
    await writeWithAudit(ctx.database, async (trx) => ({ result: await insertAccountRow(trx), audit: null }));
    await writeWithAudit(ctx.database, async () => ({ result: undefined, audit: [] }));
    expect(await count('accounts')).toBe(1);
    expect(await count('audit_events')).toBe(0);
  });

  it('a write that fails leaves neither its change nor its events', async () => {
    const error = await rejection(
      writeWithAudit(ctx.database, async (trx) => {
        await insertAccountRow(trx);
        throw new Error('the write failed');
      }),
    );
    expect((error as Error).message).toBe('the write failed');
    expect(await count('accounts')).toBe(0);
    expect(await count('audit_events')).toBe(0);
  });

  it('when an event cannot be recorded, the change is undone', async () => {
    const first = audit('account.created', 'first');
    await record(first);
    // An event id already recorded.
    await rejection(writeWithAudit(ctx.database, async (trx) => ({ result: await insertAccountRow(trx), audit: { ...first } })));
    expect(await count('accounts')).toBe(0);
    expect(await count('audit_events')).toBe(1);
  });

  it('records more events than one statement holds, all of them, in order', async () => {
    const events = Array.from({ length: 1100 }, (_, index) => audit('token.revoked', `token-${index}`));
    await record(events);
    expect(await count('audit_events')).toBe(1100);
    const newest = await ctx.stores.audit.listAuditEvents({ limit: 1100 });
    expect(newest.map((event) => event.targetId)).toEqual([...events].reverse().map((event) => event.targetId));
  });

  it('pages by seq, newest first, filtered by actor, token (what it did and what was done to it), action and time (since inclusive, until exclusive)', async () => {
    const alice = randomUUID();
    const tokenId = randomUUID();
    const byToken = { ...audit('token.created', 'made-with-token', alice), actor: { accountId: alice, tokenId, ip: null } };
    const events = [
      audit('account.signed_in', alice, alice),
      byToken,
      audit('account.disabled', 'someone', alice),
      audit('account.disabled', 'other', null),
      audit('token.revoked', 'x', alice),
      audit('token.rotated', tokenId, alice),
    ];
    for (const event of events) await record(event);
    const ids = async (filter: Partial<Parameters<typeof ctx.stores.audit.listAuditPage>[0]>) =>
      (await ctx.stores.audit.listAuditPage({ limit: 100, ...filter })).map((event) => event.id);
    const newestFirst = [...events].reverse().map((event) => event.id);

    expect(await ids({})).toEqual(newestFirst);
    expect(await ids({ actorAccountId: alice })).toEqual(newestFirst.filter((id) => id !== events[3]!.id));
    expect(await ids({ tokenId })).toEqual([events[5]!.id, byToken.id]);
    expect(await ids({ action: 'account.disabled' })).toEqual([events[3]!.id, events[2]!.id]);
    expect(await ids({ since: events[2]!.occurredAt })).toEqual(newestFirst.slice(0, 4));
    expect(await ids({ until: events[2]!.occurredAt })).toEqual(newestFirst.slice(4));
    expect(await ids({ action: 'account.disabled', actorAccountId: alice })).toEqual([events[2]!.id]);

    const paged: string[] = [];
    let beforeSeq: number | undefined;
    for (;;) {
      const page = await ctx.stores.audit.listAuditPage({ limit: 2, beforeSeq });
      paged.push(...page.map((event) => event.id));
      if (page.length < 2) break;
      beforeSeq = page.at(-1)!.seq;
    }
    expect(paged).toEqual(newestFirst);
    const [, second] = await ctx.stores.audit.listAuditPage({ limit: 2, tokenId });
    expect(second).toEqual({ ...byToken, detail: {}, seq: expect.any(Number) });
  });
});
