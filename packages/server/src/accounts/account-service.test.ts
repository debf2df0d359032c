/**
 * Account rules through the domain, on both backends: creation, disabling and re-enabling,
 * deletion with everything the account owned.
 */
import { randomUUID } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { describeEachBackend } from '../../test/support/databases.js';
import { AppError } from './app-error.js';
import { SYSTEM_ACTOR, type Actor } from './audit.js';
import { createManualClock } from './clock.js';
import { createDomain, type Domain } from './index.js';
import { appError } from '../../test/support/app-error.js';


describeEachBackend('accounts', (ctx) => {
  let clock: ReturnType<typeof createManualClock>;
  let domain: Domain;

  beforeEach(() => {
    clock = createManualClock(Date.now());
    domain = createDomain({ store: ctx.store, clock, settings: { maxLifetimeDays: 180, maxTokensPerAccount: 100 } });
  });

  it('create stores the account with a trimmed, lower-cased email and audits it', async () => {
    const admin: Actor = { accountId: randomUUID(), tokenId: null, ip: '192.0.2.9' };
    const account = await domain.accounts.create({ email: '  Ada@Example.TEST ', name: 'Ada', isAdmin: true }, admin);
    expect(account).toMatchObject({ email: 'ada@example.test', name: 'Ada', isAdmin: true, createdAt: clock.now(), disabledAt: null });
    expect(await domain.accounts.get(account.id)).toEqual(account);
    expect(await domain.accounts.findByEmail('ADA@example.test ')).toEqual(account);
    const [event] = await ctx.store.listAuditEvents({ limit: 1 });
    expect(event).toMatchObject({ action: 'account.created', targetId: account.id, actor: admin, occurredAt: clock.now() });
  });

  it('an email taken in any letter case is CONFLICT', async () => {
    await domain.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR);
    const error = await appError(domain.accounts.create({ email: 'ADA@example.test' }, SYSTEM_ACTOR));
    expect(error.code).toBe('CONFLICT');
  });

  it('an OpenID Connect identity taken is CONFLICT', async () => {
    const identity = { issuer: 'https://idp.example.test', subject: 'sub-1' };
    await domain.accounts.create({ email: null }, SYSTEM_ACTOR, identity);
    const error = await appError(domain.accounts.create({ email: null }, SYSTEM_ACTOR, identity));
    expect(error.code).toBe('CONFLICT');
    expect(error.detail).toMatch(/identity/);
  });

  it('an unknown account is NOT_FOUND for get, disable, enable and delete', async () => {
    const id = randomUUID();
    for (const attempt of [
      () => domain.accounts.get(id),
      () => domain.accounts.disable(id, SYSTEM_ACTOR),
      () => domain.accounts.enable(id, SYSTEM_ACTOR),
      () => domain.accounts.delete(id, SYSTEM_ACTOR),
    ]) {
      expect((await appError(attempt())).code).toBe('NOT_FOUND');
    }
    expect(await ctx.store.listAuditEvents({ limit: 10 })).toEqual([]);
    expect(await domain.accounts.findByEmail('nobody@example.test')).toBeUndefined();
  });

  it('disable stamps the app clock and stops tokens and sessions at once; enable restores both', async () => {
    const account = await domain.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR);
    const { secret } = await domain.tokens.create(account.id, { name: 'ci' }, SYSTEM_ACTOR);
    const { sessionId } = await domain.sessions.start(account.id);

    clock.advance(5000);
    await domain.accounts.disable(account.id, SYSTEM_ACTOR);
    expect((await domain.accounts.get(account.id)).disabledAt).toBe(clock.now());
    expect((await appError(domain.tokens.authenticate(secret, null))).code).toBe('INVALID_TOKEN');
    expect(await domain.sessions.authenticate(sessionId)).toBeUndefined();

    await domain.accounts.enable(account.id, SYSTEM_ACTOR);
    expect((await domain.accounts.get(account.id)).disabledAt).toBeNull();
    expect((await domain.tokens.authenticate(secret, null)).account.id).toBe(account.id);
    expect((await domain.sessions.authenticate(sessionId))?.account.id).toBe(account.id);

    const actions = (await ctx.store.listAuditEvents({ limit: 10 })).map((event) => event.action);
    expect(actions.slice(0, 2)).toEqual(['account.enabled', 'account.disabled']);
  });

  it('delete removes the account, its tokens, sessions and namespaces; a second delete is NOT_FOUND', async () => {
    const account = await domain.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR);
    const { secret } = await domain.tokens.create(account.id, { name: 'ci' }, SYSTEM_ACTOR);
    const { token: revoked } = await domain.tokens.create(account.id, { name: 'old' }, SYSTEM_ACTOR);
    await domain.tokens.revoke(account.id, revoked.id, SYSTEM_ACTOR);
    const { sessionId } = await domain.sessions.start(account.id);
    await domain.namespaces.create(account.id, 'ada-dev', SYSTEM_ACTOR);

    await domain.accounts.delete(account.id, SYSTEM_ACTOR);

    expect((await appError(domain.accounts.get(account.id))).code).toBe('NOT_FOUND');
    expect((await appError(domain.tokens.authenticate(secret, null))).code).toBe('INVALID_TOKEN');
    expect(await domain.sessions.authenticate(sessionId)).toBeUndefined();
    expect(await domain.namespaces.list(account.id)).toEqual([]);
    const [event] = await ctx.store.listAuditEvents({ limit: 1 });
    expect(event).toMatchObject({ action: 'account.deleted', targetId: account.id, detail: { tokensRevoked: 1 } });

    // The email and the namespace name are free again.
    const again = await domain.accounts.create({ email: 'ada@example.test' }, SYSTEM_ACTOR);
    await domain.namespaces.create(again.id, 'ada-dev', SYSTEM_ACTOR);

    expect((await appError(domain.accounts.delete(account.id, SYSTEM_ACTOR))).code).toBe('NOT_FOUND');
  });
});
