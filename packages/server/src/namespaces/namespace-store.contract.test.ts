/**
 * The namespace store's written guarantees (namespace-store.ts), on SQLite and on a real
 * PostgreSQL: names unique across the instance, listing and deletion scoped to the owner.
 */
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { conflict, expectNoTokenSecretSentAfterEach, storeFixtures } from '../../test/support/store-fixtures.js';

describeEachBackend('Namespace store contract', (ctx) => {
  const { tick, audit, givenAccount, count, auditCount } = storeFixtures(ctx);
  expectNoTokenSecretSentAfterEach(ctx);

  const UNLIMITED = { maxPerAccount: 1_000 };
  const namespace = (accountId: string, name: string) => ({ id: randomUUID(), name, accountId, createdAt: tick() });

  it('a name is unique across accounts: namespace_name_taken, nothing written', async () => {
    const owner = await givenAccount();
    const other = await givenAccount();
    await ctx.stores.namespaces.insertNamespace(namespace(owner.id, 'test-cindylopez'), UNLIMITED, audit('namespace.created', 'x', owner.id));
    const reason = await conflict(
      ctx.stores.namespaces.insertNamespace(namespace(other.id, 'test-cindylopez'), UNLIMITED, audit('namespace.created', 'y', other.id)),
    );
    expect(reason).toBe('namespace_name_taken');
    expect(
      await conflict(ctx.stores.namespaces.insertNamespace(namespace(owner.id, 'test-cindylopez'), UNLIMITED, audit('namespace.created', 'z', owner.id))),
    ).toBe('namespace_name_taken');
    expect(await count('namespaces')).toBe(1);
    expect(await auditCount('namespace.created')).toBe(1);
  });

  it('an account at its limit gets namespace_limit_reached and nothing is written; deleting one frees a slot', async () => {
    const owner = await givenAccount();
    const other = await givenAccount();
    const limits = { maxPerAccount: 3 };
    for (const name of ['one', 'two', 'three']) {
      await ctx.stores.namespaces.insertNamespace(namespace(owner.id, name), limits, audit('namespace.created', name, owner.id));
    }
    expect(await conflict(ctx.stores.namespaces.insertNamespace(namespace(owner.id, 'four'), limits, audit('namespace.created', 'four', owner.id)))).toBe(
      'namespace_limit_reached',
    );
    expect(await count('namespaces')).toBe(3);
    expect(await auditCount('namespace.created')).toBe(3);

    // Another account's count is its own.
    await ctx.stores.namespaces.insertNamespace(namespace(other.id, 'four'), limits, audit('namespace.created', 'o4', other.id));
    await ctx.stores.namespaces.deleteNamespace(owner.id, 'one', audit('namespace.deleted', '', owner.id));
    await ctx.stores.namespaces.insertNamespace(namespace(owner.id, 'five'), limits, audit('namespace.created', 'five', owner.id));
    expect((await ctx.stores.namespaces.listNamespaces(owner.id)).map((ns) => ns.name)).toEqual(['five', 'three', 'two']);
  });

  it('concurrent creates near the limit never take an account past it, and the refused ones write nothing', async () => {
    const owner = await givenAccount();
    const limits = { maxPerAccount: 5 };
    for (const name of ['held-1', 'held-2', 'held-3']) {
      await ctx.stores.namespaces.insertNamespace(namespace(owner.id, name), limits, audit('namespace.created', name, owner.id));
    }
    const attempts = Array.from({ length: 24 }, (_, i) =>
      ctx.stores.namespaces.insertNamespace(namespace(owner.id, `burst-${i}`), limits, audit('namespace.created', `b${i}`, owner.id)).then(
        () => 'created',
        (error: unknown) => (error as { reason?: string }).reason ?? String(error),
      ),
    );
    const outcomes = await Promise.all(attempts);
    expect(outcomes.filter((outcome) => outcome === 'created')).toHaveLength(2);
    expect(outcomes.filter((outcome) => outcome !== 'created')).toEqual(Array(22).fill('namespace_limit_reached'));
    expect(await count('namespaces')).toBe(5);
    expect(await auditCount('namespace.created')).toBe(5);
  });

  it('lists only the account\'s own namespaces, by name', async () => {
    const owner = await givenAccount();
    const other = await givenAccount();
    const b = namespace(owner.id, 'beta');
    const a = namespace(owner.id, 'alpha');
    for (const ns of [b, a]) await ctx.stores.namespaces.insertNamespace(ns, UNLIMITED, audit('namespace.created', ns.id, owner.id));
    await ctx.stores.namespaces.insertNamespace(namespace(other.id, 'gamma'), UNLIMITED, audit('namespace.created', 'g', other.id));
    expect(await ctx.stores.namespaces.listNamespaces(owner.id)).toEqual([a, b]);
    expect((await ctx.stores.namespaces.listNamespaces(other.id)).map((ns) => ns.name)).toEqual(['gamma']);
    expect(await ctx.stores.namespaces.listNamespaces(randomUUID())).toEqual([]);
  });

  it('delete is scoped to the owner and audits with the namespace id as target', async () => {
    const owner = await givenAccount();
    const other = await givenAccount();
    const ns = namespace(owner.id, 'prod');
    await ctx.stores.namespaces.insertNamespace(ns, UNLIMITED, audit('namespace.created', ns.id, owner.id));

    expect(await ctx.stores.namespaces.deleteNamespace(other.id, 'prod', audit('namespace.deleted', '', other.id))).toBe(false);
    expect(await ctx.stores.namespaces.listNamespaces(owner.id)).toEqual([ns]);
    expect(await auditCount('namespace.deleted')).toBe(0);

    expect(await ctx.stores.namespaces.deleteNamespace(owner.id, 'prod', audit('namespace.deleted', '', owner.id))).toBe(true);
    expect(await ctx.stores.namespaces.listNamespaces(owner.id)).toEqual([]);
    const [event] = await ctx.stores.audit.listAuditEvents({ limit: 1 });
    expect(event).toMatchObject({ action: 'namespace.deleted', targetId: ns.id });

    expect(await ctx.stores.namespaces.deleteNamespace(owner.id, 'prod', audit('namespace.deleted', '', owner.id))).toBe(false);
    expect(await auditCount('namespace.deleted')).toBe(1);

    // The name is free again, for anyone.
    await ctx.stores.namespaces.insertNamespace(namespace(other.id, 'prod'), UNLIMITED, audit('namespace.created', 'p', other.id));
  });
});
