/**
 * Account rules through the service, on both backends: creation, look-ups, the first
 * administrator, disabling and re-enabling, deletion with everything the account owned.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { appError } from '../../test/support/app-error.js';
import { describeEachBackend } from '../../test/support/databases.js';
import type { Stores } from '../../test/support/stores.js';
import { SYSTEM_ACTOR, auditEvent, type Actor } from '../audit/audit-event.js';
import { createNamespaceService } from '../namespaces/namespace-service.js';
import { createSessionService } from '../sessions/session-service.js';
import { createManualClock, type Clock } from '../kernel/clock.js';
import { createTokenService } from '../tokens/token-service.js';
import { createAccountService } from './account-service.js';

const IP = '192.0.2.1';

/** The services these tests drive: the account's, and those of what an account owns. */
function servicesOver(stores: Stores, clock: Clock) {
  return {
    accounts: createAccountService({ store: stores.accounts, clock }),
    tokens: createTokenService({ store: stores.tokens, clock, settings: { maxLifetimeDays: 180, maxTokensPerAccount: 100 } }),
    sessions: createSessionService({ store: stores.sessions, clock }),
    namespaces: createNamespaceService({ store: stores.namespaces, clock }),
  };
}

describeEachBackend('accounts', (ctx) => {
  let clock: ReturnType<typeof createManualClock>;
  let services: ReturnType<typeof servicesOver>;

  beforeEach(() => {
    clock = createManualClock(Date.now());
    services = servicesOver(ctx.stores, clock);
  });

  it('create stores the account with a trimmed, lower-cased email and audits it', async () => {
    const admin: Actor = { accountId: randomUUID(), tokenId: null, ip: '192.0.2.9' };
    const account = await services.accounts.create({ email: '  Ada@Example.TEST ', name: 'Ada', isAdmin: true }, admin);
    expect(account).toMatchObject({ email: 'ada@example.test', name: 'Ada', isAdmin: true, createdAt: clock.now(), disabledAt: null });
    expect(await services.accounts.get(account.id)).toEqual(account);
    expect(await services.accounts.find(account.id)).toEqual(account);
    expect(await services.accounts.findByEmail('ADA@example.test ')).toEqual(account);
    const [event] = await ctx.stores.audit.listAuditEvents({ limit: 1 });
    expect(event).toMatchObject({ action: 'account.created', targetId: account.id, actor: admin, occurredAt: clock.now() });
  });

  it('an email taken in any letter case is CONFLICT', async () => {
    await services.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR);
    const error = await appError(services.accounts.create({ email: 'ADA@example.test' }, SYSTEM_ACTOR));
    expect(error.code).toBe('CONFLICT');
  });

  it('an OpenID Connect identity taken is CONFLICT', async () => {
    const identity = { issuer: 'https://idp.example.test', subject: 'sub-1' };
    await services.accounts.create({ email: null }, SYSTEM_ACTOR, identity);
    const error = await appError(services.accounts.create({ email: null }, SYSTEM_ACTOR, identity));
    expect(error.code).toBe('CONFLICT');
    expect(error.detail).toMatch(/identity/);
  });

  it('an account is found by its OpenID Connect identity, which binds once to an account that has none', async () => {
    const identity = { issuer: 'https://idp.example.test', subject: 'sub-1' };
    const created = await services.accounts.create({ email: null }, SYSTEM_ACTOR, identity);
    expect(await services.accounts.findByOidcIdentity(identity)).toEqual(created);

    const invited = await services.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR);
    const later = { ...identity, subject: 'sub-2' };
    expect(await services.accounts.findByOidcIdentity(later)).toBeUndefined();
    expect(await services.accounts.bindOidcIdentity(invited.id, later)).toBe(true);
    expect(await services.accounts.findByOidcIdentity(later)).toEqual(invited);
    expect(await services.accounts.bindOidcIdentity(invited.id, { ...identity, subject: 'sub-3' })).toBe(false);
  });

  it('an unknown account is NOT_FOUND for get, disable, enable and delete', async () => {
    const id = randomUUID();
    for (const attempt of [
      () => services.accounts.get(id),
      () => services.accounts.disable(id, SYSTEM_ACTOR),
      () => services.accounts.enable(id, SYSTEM_ACTOR),
      () => services.accounts.delete(id, SYSTEM_ACTOR),
    ]) {
      expect((await appError(attempt())).code).toBe('NOT_FOUND');
    }
    expect(await ctx.stores.audit.listAuditEvents({ limit: 10 })).toEqual([]);
    expect(await services.accounts.findByEmail('nobody@example.test')).toBeUndefined();
    expect(await services.accounts.find(id)).toBeUndefined();
  });

  it('find-or-create by email makes the account once (isAdmin only then) and answers it again in any letter case', async () => {
    const made = await services.accounts.findOrCreateByEmail({ email: 'Bob@Example.TEST', isAdmin: true }, SYSTEM_ACTOR);
    expect(made).toMatchObject({ email: 'bob@example.test', isAdmin: true });
    expect(await services.accounts.findOrCreateByEmail({ email: 'bob@example.test', isAdmin: false }, SYSTEM_ACTOR)).toEqual(made);
  });

  it('the first administrator is created once, then the same one is answered', async () => {
    const someone = await services.accounts.create({ email: 'someone@example.test' }, SYSTEM_ACTOR);
    const admin = await services.accounts.firstAdmin(SYSTEM_ACTOR);
    expect(admin).toMatchObject({ isAdmin: true, name: 'Administrator', email: null });
    expect(admin.id).not.toBe(someone.id);
    clock.advance(1000);
    await services.accounts.create({ email: 'second-admin@example.test', isAdmin: true }, SYSTEM_ACTOR);
    expect(await services.accounts.firstAdmin(SYSTEM_ACTOR)).toEqual(admin);
    expect((await ctx.stores.audit.listAuditEvents({ limit: 10 })).filter((event) => event.targetId === admin.id)).toHaveLength(1);
  });

  it('an administrator has signed in once a session starts with a sign-in, not before', async () => {
    const admin = await services.accounts.firstAdmin(SYSTEM_ACTOR);
    await services.sessions.start(admin.id);
    expect(await services.accounts.hasAdminSignedIn()).toBe(false);
    await services.sessions.start(admin.id, {
      replacing: undefined,
      audit: auditEvent(clock.now(), 'account.signed_in', { ...SYSTEM_ACTOR, accountId: admin.id }, admin.id),
    });
    expect(await services.accounts.hasAdminSignedIn()).toBe(true);
  });

  it('disable stamps the app clock and stops tokens and sessions at once; enable restores both', async () => {
    const account = await services.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR);
    const { secret } = await services.tokens.create(account.id, { name: 'ci' }, SYSTEM_ACTOR);
    const { sessionId } = await services.sessions.start(account.id);

    clock.advance(5000);
    await services.accounts.disable(account.id, SYSTEM_ACTOR);
    expect((await services.accounts.get(account.id)).disabledAt).toBe(clock.now());
    expect((await appError(services.tokens.authenticate(secret, IP))).code).toBe('INVALID_TOKEN');
    expect(await services.sessions.authenticate(sessionId)).toBeUndefined();

    await services.accounts.enable(account.id, SYSTEM_ACTOR);
    expect((await services.accounts.get(account.id)).disabledAt).toBeNull();
    expect((await services.tokens.authenticate(secret, IP)).account.id).toBe(account.id);
    expect((await services.sessions.authenticate(sessionId))?.account.id).toBe(account.id);

    const actions = (await ctx.stores.audit.listAuditEvents({ limit: 10 })).map((event) => event.action);
    expect(actions.slice(0, 2)).toEqual(['account.enabled', 'account.disabled']);
  });

  it('delete removes the account, its tokens, sessions and namespaces; a second delete is NOT_FOUND', async () => {
    const account = await services.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR);
    const { secret } = await services.tokens.create(account.id, { name: 'ci' }, SYSTEM_ACTOR);
    const { token: revoked } = await services.tokens.create(account.id, { name: 'old' }, SYSTEM_ACTOR);
    await services.tokens.revoke(account.id, revoked.id, SYSTEM_ACTOR);
    const { sessionId } = await services.sessions.start(account.id);
    await services.namespaces.create(account.id, 'ada-dev', SYSTEM_ACTOR);

    await services.accounts.delete(account.id, SYSTEM_ACTOR);

    expect((await appError(services.accounts.get(account.id))).code).toBe('NOT_FOUND');
    expect((await appError(services.tokens.authenticate(secret, IP))).code).toBe('INVALID_TOKEN');
    expect(await services.sessions.authenticate(sessionId)).toBeUndefined();
    expect(await services.namespaces.list(account.id)).toEqual([]);
    const [event] = await ctx.stores.audit.listAuditEvents({ limit: 1 });
    expect(event).toMatchObject({ action: 'account.deleted', targetId: account.id, detail: { tokensRevoked: 1 } });

    // The email and the namespace name are free again.
    const again = await services.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR);
    await services.namespaces.create(again.id, 'ada-dev', SYSTEM_ACTOR);

    expect((await appError(services.accounts.delete(account.id, SYSTEM_ACTOR))).code).toBe('NOT_FOUND');
  });
});
