/**
 * Namespace rules through the service: DNS-1123 names, unique across the instance, owned by one
 * account. Validation needs no database round trip, so it runs on SQLite only; ownership and
 * uniqueness run on both backends.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appError } from '../../test/support/app-error.js';
import { describeEachBackend } from '../../test/support/databases.js';
import { createStores, type Stores } from '../../test/support/stores.js';
import { createAccountService } from '../accounts/account-service.js';
import { SYSTEM_ACTOR, type Actor } from '../audit/audit-event.js';
import type { Database } from '../database/database.js';
import { openDatabase } from '../database/open-database.js';
import { createManualClock, type Clock } from '../kernel/clock.js';
import { createNamespaceService, DEFAULT_NAMESPACE_MAX_PER_ACCOUNT } from './namespace-service.js';

/** The services these tests drive: accounts (to own namespaces) and namespaces. */
function servicesOver(stores: Stores, clock: Clock) {
  return {
    accounts: createAccountService({ store: stores.accounts, clock }),
    namespaces: createNamespaceService({ store: stores.namespaces, clock }),
  };
}

describe('namespace names', () => {
  let database: Database;
  let services: ReturnType<typeof servicesOver>;
  let accountId: string;
  let queries: string[];

  beforeEach(async () => {
    queries = [];
    database = openDatabase('sqlite::memory:', { onQuery: (text) => queries.push(text) });
    await database.migrate();
    services = servicesOver(createStores(database), createManualClock());
    accountId = (await services.accounts.create({ email: 'owner@example.test' }, SYSTEM_ACTOR)).id;
  });
  afterEach(() => database.close());

  it.each(['a', '0', 'test-cindylopez', 'a1-b2-c3', '9lives', 'x'.repeat(63)])('accepts %j', async (name) => {
    const namespace = await services.namespaces.create(accountId, name, SYSTEM_ACTOR);
    expect(namespace).toMatchObject({ name, accountId });
    expect((await services.namespaces.list(accountId)).map((ns) => ns.name)).toEqual([name]);
  });

  it.each([
    '',
    'Test',
    'UPPER',
    '-leading',
    'trailing-',
    'under_score',
    'dot.ted',
    'sp ace',
    ' padded',
    'ümlaut',
    'x'.repeat(64),
    'a/b',
    'a\u0000',
  ])('refuses %j at /name without touching the database', async (name) => {
    queries.length = 0;
    const error = await appError(services.namespaces.create(accountId, name, SYSTEM_ACTOR));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.errors?.[0]?.pointer).toBe('/name');
    expect(queries).toEqual([]);
  });
});

describeEachBackend('namespaces', (ctx) => {
  let services: ReturnType<typeof servicesOver>;
  let alice: string;
  let bob: string;
  const actor = (accountId: string): Actor => ({ accountId, tokenId: null, ip: '192.0.2.1' });

  beforeEach(async () => {
    services = servicesOver(ctx.stores, createManualClock(Date.now()));
    alice = (await services.accounts.create({ email: 'alice@example.test' }, SYSTEM_ACTOR)).id;
    bob = (await services.accounts.create({ email: 'bob@example.test' }, SYSTEM_ACTOR)).id;
  });

  it('create audits the namespace; list shows only the account\'s own, by name', async () => {
    const second = await services.namespaces.create(alice, 'zeta', actor(alice));
    const first = await services.namespaces.create(alice, 'alpha', actor(alice));
    await services.namespaces.create(bob, 'bob-dev', actor(bob));
    expect(await services.namespaces.list(alice)).toEqual([first, second]);
    expect((await services.namespaces.list(bob)).map((ns) => ns.name)).toEqual(['bob-dev']);
    const events = await ctx.stores.audit.listAuditEvents({ accountId: alice, limit: 10 });
    expect(events.map((event) => [event.action, event.targetId, event.detail])).toEqual([
      ['namespace.created', first.id, { name: 'alpha' }],
      ['namespace.created', second.id, { name: 'zeta' }],
    ]);
  });

  it('a name taken by anyone is 409 CONFLICT', async () => {
    await services.namespaces.create(alice, 'test-cindylopez', actor(alice));
    const byOther = await appError(services.namespaces.create(bob, 'test-cindylopez', actor(bob)));
    expect(byOther.code).toBe('CONFLICT');
    const bySame = await appError(services.namespaces.create(alice, 'test-cindylopez', actor(alice)));
    expect(bySame.code).toBe('CONFLICT');
    expect(await services.namespaces.list(bob)).toEqual([]);
  });

  it('one namespace more than the account may hold is 409 CONFLICT saying so; other accounts are unaffected', async () => {
    const capped = {
      accounts: services.accounts,
      namespaces: createNamespaceService({ store: ctx.stores.namespaces, clock: createManualClock(), settings: { maxPerAccount: 2 } }),
    };
    await capped.namespaces.create(alice, 'first', actor(alice));
    await capped.namespaces.create(alice, 'second', actor(alice));
    const error = await appError(capped.namespaces.create(alice, 'third', actor(alice)));
    expect(error.code).toBe('CONFLICT');
    expect(error.detail).toBe('You already have 2 namespaces; delete one before creating another.');
    expect((await capped.namespaces.list(alice)).map((ns) => ns.name)).toEqual(['first', 'second']);
    await capped.namespaces.create(bob, 'third', actor(bob));
  });

  it('without a configured limit an account may hold 100 namespaces', async () => {
    for (let i = 0; i < DEFAULT_NAMESPACE_MAX_PER_ACCOUNT; i++) await services.namespaces.create(alice, `ns-${i}`, actor(alice));
    expect((await appError(services.namespaces.create(alice, 'one-more', actor(alice)))).code).toBe('CONFLICT');
    expect(await services.namespaces.list(alice)).toHaveLength(DEFAULT_NAMESPACE_MAX_PER_ACCOUNT);
  });

  it('deleting another account\'s namespace is NOT_FOUND and leaves it alone', async () => {
    const namespace = await services.namespaces.create(alice, 'prod', actor(alice));
    const error = await appError(services.namespaces.delete(bob, 'prod', actor(bob)));
    expect(error.code).toBe('NOT_FOUND');
    expect(await services.namespaces.list(alice)).toEqual([namespace]);
  });

  it('deleting an unknown namespace is NOT_FOUND', async () => {
    expect((await appError(services.namespaces.delete(alice, 'nothing-here', actor(alice)))).code).toBe('NOT_FOUND');
  });

  it('the owner deletes it (audited with its id); the name is then free for anyone', async () => {
    const namespace = await services.namespaces.create(alice, 'prod', actor(alice));
    await services.namespaces.delete(alice, 'prod', actor(alice));
    expect(await services.namespaces.list(alice)).toEqual([]);
    const [event] = await ctx.stores.audit.listAuditEvents({ limit: 1 });
    expect(event).toMatchObject({ action: 'namespace.deleted', targetId: namespace.id, actor: actor(alice), detail: { name: 'prod' } });
    expect((await appError(services.namespaces.delete(alice, 'prod', actor(alice)))).code).toBe('NOT_FOUND');
    await services.namespaces.create(bob, 'prod', actor(bob));
  });
});
