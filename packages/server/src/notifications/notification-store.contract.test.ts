/**
 * The notification store's written guarantees (notification-store.ts), on SQLite and on a real
 * PostgreSQL: the switches, who a token's emails go to, the claim that lets one job alone send
 * an email, and what a token's recorded addresses say.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { storeFixtures } from '../../test/support/store-fixtures.js';
import { createKyselyNotificationStore } from './kysely-notification-store.js';

describeEachBackend('Notification store contract', (ctx) => {
  const { tick, givenAccount, givenToken, audit } = storeFixtures(ctx);
  const store = () => createKyselyNotificationStore(ctx.database);

  it('keeps no switches until saved, then the last ones saved, per account, gone with the account', async () => {
    const alice = await givenAccount();
    const bob = await givenAccount();
    expect(await store().findPreferences(alice.id)).toBeUndefined();
    await store().savePreferences(alice.id, { expiry: false, revoked: true, ipRefused: true, newAddress: false }, tick());
    await store().savePreferences(alice.id, { expiry: false, revoked: true, ipRefused: false, newAddress: true }, tick());
    expect(await store().findPreferences(alice.id)).toEqual({ expiry: false, revoked: true, ipRefused: false, newAddress: true });
    expect(await store().findPreferences(bob.id)).toBeUndefined();
    expect(await store().findAccountEmail(alice.id)).toBe(alice.email);
    expect(await store().findAccountEmail('00000000-0000-4000-8000-000000000000')).toBeUndefined();
    expect(await ctx.stores.accounts.deleteAccount(alice.id, audit('account.deleted', alice.id))).toBe(true);
    expect(await store().findPreferences(alice.id)).toBeUndefined();
  });

  it("names a person's token's owner, and for a service account's token the administrator who created it", async () => {
    const admin = await givenAccount({ isAdmin: true });
    const person = await givenAccount();
    const service = await givenAccount({ email: null, name: 'ci-deploy' });
    await ctx.exec(sql`update accounts set kind = 'service', created_by = ${admin.id} where id = ${service.id}`);
    const own = await givenToken(person.id, { note: 'laptop' });
    const theirs = await givenToken(service.id);

    const personal = await store().findTokenRecipients(own.record.id);
    expect(personal).toEqual({
      token: {
        id: own.record.id,
        name: own.record.name,
        note: 'laptop',
        last4: own.record.last4,
        expiresAt: own.record.expiresAt,
        accountId: person.id,
        serviceAccount: false,
        serviceAccountName: null,
        retired: false,
      },
      owner: { id: person.id, email: person.email, disabled: false },
      creator: null,
    });
    const serviceToken = await store().findTokenRecipients(theirs.record.id);
    expect(serviceToken?.token).toMatchObject({ serviceAccount: true, serviceAccountName: 'ci-deploy' });
    expect(serviceToken?.creator).toEqual({ id: admin.id, email: admin.email, disabled: false });

    await ctx.stores.tokens.revokeToken(person.id, own.record.id, tick(), audit('token.revoked', own.record.id, person.id));
    expect((await store().findTokenRecipients(own.record.id))?.token.retired).toBe(true);
    expect(await store().findTokenRecipients('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('lets one job hold an email key: the same job again (a retry) until it is settled, never another', async () => {
    const owner = await givenAccount();
    const { record } = await givenToken(owner.id);
    const claim = (jobId: string) => store().claimEmail({ key: `revoked:${record.id}`, jobId, kind: 'revoked_by_admin', tokenId: record.id, now: tick() });
    expect(await claim('job-1')).toBe(true);
    expect(await claim('job-2')).toBe(false);
    expect(await claim('job-1')).toBe(true);
    // Only the holder settles it.
    await store().settleEmail(`revoked:${record.id}`, 'job-2', 'sent', owner.id, tick());
    expect(await store().listEmailOutcomes(record.id)).toEqual([{ key: `revoked:${record.id}`, kind: 'revoked_by_admin', state: 'claimed' }]);
    await store().settleEmail(`revoked:${record.id}`, 'job-1', 'sent', owner.id, tick());
    expect(await claim('job-1')).toBe(false);
    expect(await store().listEmailOutcomes(record.id)).toEqual([{ key: `revoked:${record.id}`, kind: 'revoked_by_admin', state: 'sent' }]);
  });

  it("tells whether a token was used before and from which addresses", async () => {
    const owner = await givenAccount();
    const { record } = await givenToken(owner.id);
    expect(await store().findTokenAddress(record.id, '192.0.2.1')).toEqual({ known: false, usedBefore: false });
    await ctx.stores.tokens.recordTokenAddress(record.id, '192.0.2.1', tick());
    expect(await store().findTokenAddress(record.id, '192.0.2.1')).toEqual({ known: true, usedBefore: true });
    expect(await store().findTokenAddress(record.id, '192.0.2.2')).toEqual({ known: false, usedBefore: true });
  });
});
