/**
 * docs/security.md, item 51: rotation with a grace window, on SQLite (verified-token cache on)
 * and PostgreSQL, and on two instances over one PostgreSQL database. The grace end is placed
 * with an injected clock: the instance's clock is set G minus a little behind the database's,
 * so a grace of G ends moments from now by the database clock, which decides expiry.
 */
import { DAY_MS, type CreateTokenResponse, type TokenView } from '@latchkey/contract';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { createManualClock } from '../../src/kernel/clock.js';
import { bearer, createTestApp, withAppsOnOnePostgres, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend, postgresAvailable, type BackendContext } from '../support/databases.js';
import { expectResponseCode, expectScopeRefusal } from '../support/protected-route.js';

const HOUR_S = 3600;

async function rotate(app: TestApp, headers: Record<string, string>, tokenId: string, body: Record<string, unknown> = {}): Promise<LightMyRequestResponse> {
  const url = tokenId === 'self' ? '/api/v1/tokens/self/rotate' : `/api/v1/tokens/${tokenId}/rotate`;
  return app.http.inject({ method: 'POST', url, headers, payload: body });
}

async function rotated(app: TestApp, headers: Record<string, string>, tokenId: string, body: Record<string, unknown> = {}): Promise<CreateTokenResponse> {
  const response = await rotate(app, headers, tokenId, body);
  expect(response.statusCode, response.body).toBe(201);
  expect(response.headers['cache-control']).toBe('no-store');
  return response.json() as CreateTokenResponse;
}

async function view(app: TestApp, session: TestSession, tokenId: string): Promise<TokenView> {
  const response = await app.http.inject({ url: `/api/v1/tokens/${tokenId}`, headers: { cookie: session.cookie } });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as TokenView;
}

const me = (app: TestApp, secret: string, remoteAddress?: string) =>
  app.http.inject({ url: '/api/v1/me', headers: bearer(secret), ...(remoteAddress ? { remoteAddress } : {}) });

/** Polls `check` until it holds, for at most `ms` (a generous bound; nothing is timed). */
async function eventually(check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function appOn(ctx: BackendContext, given?: ReturnType<typeof createManualClock>) {
  const clock = given ?? createManualClock(await ctx.database.now());
  const app = await createTestApp(ctx.database, { clock, tokenCache: ctx.dialect === 'sqlite' });
  return { app, clock, session: await app.signIn() };
}

// docs/security.md, item 51
describeEachBackend('token rotation', (ctx) => {
  it('with grace G: the new secret works at once, the old one until G (by the database clock) and is refused after', async () => {
    const graceSeconds = HOUR_S;
    // The instance's clock runs G − 1.5 s behind the database's: the grace ends 1.5 s from now.
    const clock = createManualClock((await ctx.database.now()) - graceSeconds * 1000 + 1500);
    const { app, session } = await appOn(ctx, clock);
    try {
      const old = await app.createToken(session, 'deploy', {
        note: 'CI deploy job',
        scopes: ['namespaces:read', 'tokens:read'],
        namespaces: ['team-*'],
        allowedIps: ['127.0.0.0/8', '203.0.113.0/24'],
      });
      expect((await me(app, old.secret)).statusCode).toBe(200);
      const rotatedAt = clock.now();
      const fresh = await rotated(app, session.headers, old.token.id, { graceSeconds, expiresInDays: 30 });

      expect(fresh.secret).not.toBe(old.secret);
      expect(fresh.token).toMatchObject({
        name: 'deploy',
        note: 'CI deploy job',
        scopes: ['namespaces:read', 'tokens:read'],
        namespaces: ['team-*'],
        allowedIps: ['127.0.0.0/8', '203.0.113.0/24'],
        rotatedFrom: old.token.id,
        replacedBy: null,
        expiresAt: new Date(rotatedAt + 30 * DAY_MS).toISOString(),
      });
      const graceUntil = rotatedAt + graceSeconds * 1000;
      const before = await view(app, session, old.token.id);
      expect(before).toMatchObject({
        state: 'rotating',
        replacedBy: fresh.token.id,
        rotatedAt: new Date(rotatedAt).toISOString(),
        graceUntil: new Date(graceUntil).toISOString(),
        expiresAt: new Date(graceUntil).toISOString(),
      });
      expect((await me(app, fresh.secret)).statusCode).toBe(200);

      // Every answer is checked against the database clock around it: 200 only before the grace
      // end, the refusal only from it on.
      let refused: LightMyRequestResponse | undefined;
      await eventually(async () => {
        const askedAt = await ctx.database.now();
        const response = await me(app, old.secret);
        if (response.statusCode === 200) {
          expect(askedAt).toBeLessThan(graceUntil);
          return false;
        }
        expect(await ctx.database.now()).toBeGreaterThanOrEqual(graceUntil);
        refused = response;
        return true;
      });
      const body = expectResponseCode(refused!, 'R-EXPIRED');
      expect(body.detail).toMatch(/replaced by rotation/);
      expect(body.expiresAt).toBe(new Date(graceUntil).toISOString());
      expect((await me(app, fresh.secret)).statusCode).toBe(200);
      expect((await view(app, session, old.token.id)).state).toBe('expired');
    } finally {
      await app.close();
    }
  });

  it('with grace 0 the old secret is refused when the call returns, even just after it was verified (and cached)', async () => {
    const { app, session } = await appOn(ctx);
    try {
      const old = await app.createToken(session, 'nightly');
      for (let i = 0; i < 3; i++) expect((await me(app, old.secret)).statusCode).toBe(200);
      const fresh = await rotated(app, session.headers, old.token.id);
      expectResponseCode(await me(app, old.secret), 'R-EXPIRED');
      expect((await me(app, fresh.secret)).statusCode).toBe(200);
      const oldView = await view(app, session, old.token.id);
      expect(oldView).toMatchObject({ state: 'expired', replacedBy: fresh.token.id, usesSinceRotation: 0, lastUseSinceRotation: null });
      expect(Date.parse(oldView.graceUntil!)).toBeLessThanOrEqual(await ctx.database.now());
    } finally {
      await app.close();
    }
  });

  it('counts the old secret’s uses during the grace window, with the last address and time', async () => {
    const { app, session } = await appOn(ctx);
    try {
      const old = await app.createToken(session, 'worker');
      await me(app, old.secret, '198.51.100.4');
      await rotated(app, session.headers, old.token.id, { graceSeconds: HOUR_S });
      for (const address of ['198.51.100.4', '198.51.100.4', '198.51.100.9']) expect((await me(app, old.secret, address)).statusCode).toBe(200);
      let seen: TokenView | undefined;
      await eventually(async () => {
        seen = await view(app, session, old.token.id);
        return seen.usesSinceRotation === 3;
      });
      expect(seen!.lastUseSinceRotation?.ip).toBe('198.51.100.9');
      expect(Date.parse(seen!.lastUseSinceRotation!.at)).toBeGreaterThanOrEqual(Date.parse(seen!.rotatedAt!));
      // The listing shows the same.
      const list = await app.http.inject({ url: '/api/v1/tokens', headers: { cookie: session.cookie } });
      const listed = (list.json() as { tokens: TokenView[] }).tokens.find((token) => token.id === old.token.id);
      expect(listed).toMatchObject({ state: 'rotating', usesSinceRotation: 3 });
    } finally {
      await app.close();
    }
  });

  it('refuses to rotate a rotated, revoked or expired token with 409 TOKEN_NOT_ROTATABLE naming why, and another’s with 404', async () => {
    const { app, session } = await appOn(ctx);
    try {
      const once = await app.createToken(session, 'once');
      await rotated(app, session.headers, once.token.id, { graceSeconds: HOUR_S });
      const revoked = await app.createToken(session, 'revoked');
      await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${revoked.token.id}`, headers: session.headers });
      const expired = await app.createToken(session, 'expired');
      await ctx.exec(sql`update tokens set expires_at = ${(await ctx.database.now()) - 1000} where id = ${expired.token.id}`);
      for (const [token, reason] of [
        [once, 'rotated'],
        [revoked, 'revoked'],
        [expired, 'expired'],
      ] as const) {
        const response = await rotate(app, session.headers, token.token.id, { graceSeconds: 60 });
        expect(response.statusCode, response.body).toBe(409);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(response.json()).toMatchObject({ code: 'TOKEN_NOT_ROTATABLE', type: '/docs/errors/token-not-rotatable', reason });
      }
      const other = await app.signIn();
      const theirs = await app.createToken(other, 'theirs');
      expect((await rotate(app, session.headers, theirs.token.id)).json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
      expect((await rotate(app, session.headers, 'not-an-id')).statusCode).toBe(404);
      expect((await me(app, theirs.secret)).statusCode).toBe(200);
      // Out-of-range grace and unknown fields are refused before anything changes.
      const live = await app.createToken(session, 'live');
      for (const body of [{ graceSeconds: 86_401 }, { graceSeconds: -1 }, { graceSeconds: 1.5 }, { scopes: ['admin:write'] }]) {
        expect((await rotate(app, session.headers, live.token.id, body)).statusCode).toBe(422);
      }
      expect((await view(app, session, live.token.id)).replacedBy).toBeNull();
    } finally {
      await app.close();
    }
  });

  it('records the chain: each token names the other, the audit trail has token.rotated with its actor, the feed an event', async () => {
    const { app, session } = await appOn(ctx);
    try {
      const first = await app.createToken(session, 'chain');
      const second = await rotated(app, session.headers, first.token.id, { graceSeconds: 60 });
      const third = await rotated(app, session.headers, second.token.id);
      expect(await view(app, session, first.token.id)).toMatchObject({ rotatedFrom: null, replacedBy: second.token.id });
      expect(await view(app, session, second.token.id)).toMatchObject({ rotatedFrom: first.token.id, replacedBy: third.token.id });
      expect(await view(app, session, third.token.id)).toMatchObject({ rotatedFrom: second.token.id, replacedBy: null, state: 'active' });
      const rotations = (await ctx.exec(
        sql`select target_id, actor_account_id, detail from audit_events where action = 'token.rotated'`,
      )) as Array<{ target_id: string; actor_account_id: string; detail: string }>;
      // One clock instant for both: compared as a set.
      const rows = rotations.map((event) => [event.target_id, event.actor_account_id, JSON.parse(event.detail).replacedBy]).sort();
      expect(rows).toEqual(
        [
          [first.token.id, session.account.id, second.token.id],
          [second.token.id, session.account.id, third.token.id],
        ].sort(),
      );
      // Each rotation is a lifecycle event for the notification channels (docs/jobs.md), enqueued with it.
      const audits = (await ctx.exec(sql`select id from audit_events where action = 'token.rotated'`)) as Array<{ id: string }>;
      const events = (await ctx.exec(sql`select dedupe_key from jobs where kind = 'event'`)) as Array<{ dedupe_key: string }>;
      expect(events.map((job) => job.dedupe_key)).toEqual(expect.arrayContaining(audits.map((row) => `audit:${row.id}`)));
      const feed = (await ctx.exec(sql`select subject_id from revocation_events where kind = 'token' order by seq`)) as Array<{ subject_id: string }>;
      const ours = new Set([first.token.id, second.token.id, third.token.id]);
      expect(feed.map((row) => row.subject_id).filter((id) => ours.has(id))).toEqual([first.token.id, second.token.id]);
      // The new token took the old one's name; creating another by that name is still refused.
      const clash = await app.http.inject({ method: 'POST', url: '/api/v1/tokens', headers: session.headers, payload: { name: 'chain' } });
      expect(clash.statusCode).toBe(409);
    } finally {
      await app.close();
    }
  });

  it('lets a token rotate itself with any scope, keeping exactly what it had, with a fresh lifetime', async () => {
    const { app, session, clock } = await appOn(ctx);
    try {
      const ci = await app.createToken(session, 'ci-self', { scopes: ['namespaces:read'], expiresInDays: 7 });
      const fresh = await rotated(app, bearer(ci.secret), 'self', { graceSeconds: 60, expiresInDays: 90 });
      expect(fresh.token).toMatchObject({ name: 'ci-self', scopes: ['namespaces:read'], rotatedFrom: ci.token.id });
      // Longer than the old token had: rotation is how a job keeps itself alive.
      expect(fresh.token.expiresAt).toBe(new Date(clock.now() + 90 * DAY_MS).toISOString());
      const self = await app.http.inject({ url: '/api/v1/tokens/self', headers: bearer(fresh.secret) });
      expect((self.json() as TokenView).scopes).toEqual(['namespaces:read']);
      // It cannot widen itself: the body takes no scopes or restrictions.
      expect((await rotate(app, bearer(fresh.secret), 'self', { scopes: ['tokens:write'] })).statusCode).toBe(422);
      // It cannot rotate others by id without tokens:write.
      const other = await app.createToken(session, 'other');
      expectScopeRefusal(await rotate(app, bearer(fresh.secret), other.token.id), 'tokens:write');
      // The old secret, in its grace window, is replaced already: it cannot rotate again.
      expect((await rotate(app, bearer(ci.secret), 'self')).json()).toMatchObject({ status: 409, reason: 'rotated' });
      expect((await rotate(app, session.headers, 'self')).statusCode).toBe(401);
    } finally {
      await app.close();
    }
  });

  it('a service account’s token rotates itself under the service lifetime policy, never gaining a scope', async () => {
    const { app, clock } = await appOn(ctx);
    try {
      const svc = await app.services.serviceAccounts.create({ name: `deploy-${Date.now()}` }, SYSTEM_ACTOR);
      const minted = await app.services.serviceAccounts.createToken(svc.id, { name: 'pipeline', scopes: ['namespaces:write'], expiresInDays: 30 }, SYSTEM_ACTOR);
      // Service tokens may live up to 3650 days without a policy maximum, beyond a person's 180.
      const fresh = await rotated(app, bearer(minted.secret), 'self', { expiresInDays: 365 });
      expect(fresh.token).toMatchObject({ name: 'pipeline', scopes: ['namespaces:write'], expiresAt: new Date(clock.now() + 365 * DAY_MS).toISOString() });
      const self = await app.http.inject({ url: '/api/v1/me', headers: bearer(fresh.secret) });
      expect(self.json().account.id).toBe(svc.id);
      expectResponseCode(await me(app, minted.secret), 'R-EXPIRED');
      expect((await rotate(app, bearer(fresh.secret), 'self', { expiresInDays: 3651 })).statusCode).toBe(422);
    } finally {
      await app.close();
    }
  });

  it('a token rotating another passes on no more than it holds', async () => {
    const { app, session } = await appOn(ctx);
    try {
      const manager = await app.createToken(session, 'manager', { scopes: ['tokens:write', 'namespaces:read'], namespaces: ['team-*'] });
      const wide = await app.createToken(session, 'wide', { scopes: ['namespaces:write'] });
      expectScopeRefusal(await rotate(app, bearer(manager.secret), wide.token.id), 'namespaces:write');
      const narrow = await app.createToken(session, 'narrow', { scopes: ['namespaces:read'], namespaces: ['team-a'] });
      const fresh = await rotated(app, bearer(manager.secret), narrow.token.id);
      expect(fresh.token).toMatchObject({ scopes: ['namespaces:read'], namespaces: ['team-a'] });
      expect(Date.parse(fresh.token.expiresAt)).toBeLessThanOrEqual(Date.parse(manager.token.expiresAt));
    } finally {
      await app.close();
    }
  });
});

// docs/security.md, item 51: "with G = 0 it is refused when rotate returns, on every instance".
describe('token rotation on two instances over one PostgreSQL database', () => {
  it('with grace 0 the second instance refuses the old secret as soon as the first answers', async (context) => {
    if (!(await postgresAvailable())) return context.skip('PostgreSQL is not available');
    await withAppsOnOnePostgres(2, { tokenCache: true }, async (apps) => {
      const [a, b] = apps as [TestApp, TestApp];
      const session = await a.signIn();
      for (const graceSeconds of [0, HOUR_S]) {
        const old = await a.createToken(session, `shared-${graceSeconds}`);
        for (const instance of [a, b]) expect((await me(instance, old.secret)).statusCode).toBe(200);
        const replacement = await rotated(a, session.headers, old.token.id, { graceSeconds });
        expect((await me(b, replacement.secret)).statusCode).toBe(200);
        if (graceSeconds === 0) {
          for (const instance of [b, a]) expectResponseCode(await me(instance, old.secret), 'R-EXPIRED');
        } else {
          for (const instance of [b, a]) expect((await me(instance, old.secret)).statusCode).toBe(200);
        }
      }
    });
  });
});
