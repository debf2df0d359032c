/**
 * Namespace rules through the domain: DNS-1123 names, unique across the instance, owned by one
 * account. Validation needs no database round trip, so it runs on SQLite only; ownership and
 * uniqueness run on both backends.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { AppError } from './app-error.js';
import { SYSTEM_ACTOR, type Actor } from './audit.js';
import { createManualClock } from './clock.js';
import { createDomain, type Domain } from './index.js';
import { appError } from '../../test/support/app-error.js';

const SETTINGS = { maxLifetimeDays: 180, maxTokensPerAccount: 100 };


describe('namespace names', () => {
  let store: Store;
  let domain: Domain;
  let accountId: string;
  let queries: string[];

  beforeEach(async () => {
    queries = [];
    store = openStore('sqlite::memory:', { onQuery: (text) => queries.push(text) });
    await store.migrate();
    domain = createDomain({ store, clock: createManualClock(), settings: SETTINGS });
    accountId = (await domain.accounts.create({ email: 'owner@example.test' }, SYSTEM_ACTOR)).id;
  });
  afterEach(() => store.close());

  it.each(['a', '0', 'test-cindylopez', 'a1-b2-c3', '9lives', 'x'.repeat(63)])('accepts %j', async (name) => {
    const namespace = await domain.namespaces.create(accountId, name, SYSTEM_ACTOR);
    expect(namespace).toMatchObject({ name, accountId });
    expect((await domain.namespaces.list(accountId)).map((ns) => ns.name)).toEqual([name]);
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
    const error = await appError(domain.namespaces.create(accountId, name, SYSTEM_ACTOR));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.errors?.[0]?.pointer).toBe('/name');
    expect(queries).toEqual([]);
  });
});

describeEachBackend('namespaces', (ctx) => {
  let domain: Domain;
  let alice: string;
  let bob: string;
  const actor = (accountId: string): Actor => ({ accountId, tokenId: null, ip: '192.0.2.1' });

  beforeEach(async () => {
    domain = createDomain({ store: ctx.store, clock: createManualClock(Date.now()), settings: SETTINGS });
    alice = (await domain.accounts.create({ email: 'alice@example.test' }, SYSTEM_ACTOR)).id;
    bob = (await domain.accounts.create({ email: 'bob@example.test' }, SYSTEM_ACTOR)).id;
  });

  it('create audits the namespace; list shows only the account\'s own, by name', async () => {
    const second = await domain.namespaces.create(alice, 'zeta', actor(alice));
    const first = await domain.namespaces.create(alice, 'alpha', actor(alice));
    await domain.namespaces.create(bob, 'bob-dev', actor(bob));
    expect(await domain.namespaces.list(alice)).toEqual([first, second]);
    expect((await domain.namespaces.list(bob)).map((ns) => ns.name)).toEqual(['bob-dev']);
    const events = await ctx.store.listAuditEvents({ accountId: alice, limit: 10 });
    expect(events.map((event) => [event.action, event.targetId, event.detail])).toEqual([
      ['namespace.created', first.id, { name: 'alpha' }],
      ['namespace.created', second.id, { name: 'zeta' }],
    ]);
  });

  it('a name taken by anyone is 409 CONFLICT', async () => {
    await domain.namespaces.create(alice, 'test-cindylopez', actor(alice));
    const byOther = await appError(domain.namespaces.create(bob, 'test-cindylopez', actor(bob)));
    expect(byOther.code).toBe('CONFLICT');
    const bySame = await appError(domain.namespaces.create(alice, 'test-cindylopez', actor(alice)));
    expect(bySame.code).toBe('CONFLICT');
    expect(await domain.namespaces.list(bob)).toEqual([]);
  });

  it('deleting another account\'s namespace is NOT_FOUND and leaves it alone', async () => {
    const namespace = await domain.namespaces.create(alice, 'prod', actor(alice));
    const error = await appError(domain.namespaces.delete(bob, 'prod', actor(bob)));
    expect(error.code).toBe('NOT_FOUND');
    expect(await domain.namespaces.list(alice)).toEqual([namespace]);
  });

  it('deleting an unknown namespace is NOT_FOUND', async () => {
    expect((await appError(domain.namespaces.delete(alice, 'nothing-here', actor(alice)))).code).toBe('NOT_FOUND');
  });

  it('the owner deletes it (audited with its id); the name is then free for anyone', async () => {
    const namespace = await domain.namespaces.create(alice, 'prod', actor(alice));
    await domain.namespaces.delete(alice, 'prod', actor(alice));
    expect(await domain.namespaces.list(alice)).toEqual([]);
    const [event] = await ctx.store.listAuditEvents({ limit: 1 });
    expect(event).toMatchObject({ action: 'namespace.deleted', targetId: namespace.id, actor: actor(alice), detail: { name: 'prod' } });
    expect((await appError(domain.namespaces.delete(alice, 'prod', actor(alice)))).code).toBe('NOT_FOUND');
    await domain.namespaces.create(bob, 'prod', actor(bob));
  });
});
