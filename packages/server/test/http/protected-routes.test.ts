/**
 * The shared security suite (support/protected-route.ts) over every route the app registers
 * with credentials, on both backends. The routes are listed by the app; this file only says,
 * per route, what it must accept and how to aim a request at it. A route added without an entry
 * here fails the run.
 */
import { randomUUID } from 'node:crypto';
import { TOKEN_SCOPES, type NoticeView } from '@latchkey/contract';
import { expect } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { FAILURE_THRESHOLD } from '../../src/auth-failures/failure-limiter.js';
import { createMemoryFailureLimiter } from '../../src/auth-failures/memory-failure-limiter.js';
import { systemClock } from '../../src/kernel/clock.js';
import { bearer, type TestApp, type TestSession } from '../support/app.js';
import {
  describeProtectedRoutes,
  listProtectedRoutes,
  prepareCaller,
  type RouteSetup,
  type RouteSetupTable,
} from '../support/protected-route.js';
import { createWebhook, deliveriesOf, runJobsUntil } from '../support/webhooks.js';

async function createNamespace(app: TestApp, session: TestSession): Promise<string> {
  const name = `ns-${randomUUID().slice(0, 8)}`;
  const response = await app.http.inject({ method: 'POST', url: '/api/v1/namespaces', headers: session.headers, payload: { name } });
  expect(response.statusCode, response.body).toBe(201);
  return name;
}

async function namespaceNames(app: TestApp, session: TestSession): Promise<string[]> {
  const response = await app.http.inject({ url: '/api/v1/namespaces', headers: session.headers });
  return (response.json() as { namespaces: Array<{ name: string }> }).namespaces.map((ns) => ns.name);
}

async function noticeIds(app: TestApp, session: TestSession): Promise<string[]> {
  const response = await app.http.inject({ url: '/api/v1/notices', headers: session.headers });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<{ notices: NoticeView[] }>().notices.map((notice) => notice.id);
}

/** A notice for `session`'s account, the way owners get one: a token of theirs reported leaked. */
async function giveNotice(app: TestApp, session: TestSession): Promise<string> {
  const leaked = await app.createToken(session, `leaked-${randomUUID().slice(0, 8)}`);
  const report = await app.http.inject({
    method: 'POST',
    url: '/api/v1/credentials/revoke',
    payload: { credentials: [leaked.secret] },
  });
  expect(report.statusCode, report.body).toBe(202);
  await app.services.credentialReports.idle();
  const [id] = await noticeIds(app, session);
  if (!id) throw new Error('the reported token left its owner no notice');
  return id;
}

const tokenById = (method: 'GET' | 'DELETE' | 'POST', suffix = ''): RouteSetup => ({
  auth: 'either',
  scope: method === 'GET' ? 'tokens:read' : 'tokens:write',
  successStatus: { GET: 200, DELETE: 204, POST: 201 }[method],
  async prepare(app, caller) {
    const owner = await prepareCaller(app);
    // A token of the caller's to read, revoke or rotate (not the one presented, which revoking would end).
    // One to rotate holds only tokens:write, which every token allowed to rotate it holds: a token
    // may not rotate one broader than itself (it would get that token's new secret).
    const extra = method === 'POST' ? { scopes: ['tokens:write'] } : {};
    const target = method !== 'GET' ? (await app.createToken(caller.session, `target-${randomUUID().slice(0, 8)}`, extra)).token.id : caller.tokenId;
    return {
      url: `/api/v1/tokens/${target}${suffix}`,
      foreign: {
        url: `/api/v1/tokens/${owner.tokenId}${suffix}`,
        missingUrls: [`/api/v1/tokens/${randomUUID()}${suffix}`, `/api/v1/tokens/not-a-uuid${suffix}`],
        async untouched() {
          const me = await app.http.inject({ url: '/api/v1/me', headers: bearer(owner.token) });
          expect(me.statusCode).toBe(200);
        },
      },
    };
  },
});

/**
 * An administrators' route naming an account (`suffix` after its id): aimed at a fresh account of
 * someone else (disabled first for `enable`); the 404 checks use missing and malformed ids, and
 * the account must still answer with its own token afterwards.
 */
const adminAccountRoute = (method: 'GET' | 'PATCH' | 'POST' | 'DELETE', suffix = ''): RouteSetup => ({
  auth: 'either',
  scope: method === 'GET' ? 'admin:read' : 'admin:write',
  successStatus: method === 'GET' || method === 'PATCH' ? 200 : 204,
  admin: true,
  async prepare(app) {
    const target = await prepareCaller(app);
    if (suffix === '/enable') await app.services.accounts.disable(target.session.account.id, SYSTEM_ACTOR);
    const bystander = await prepareCaller(app);
    return {
      url: `/api/v1/admin/accounts/${target.session.account.id}${suffix}`,
      ...(method === 'PATCH' ? { payload: { name: `Renamed ${randomUUID().slice(0, 8)}` } } : {}),
      foreign: {
        url: `/api/v1/admin/accounts/${randomUUID()}${suffix}`,
        missingUrls: [`/api/v1/admin/accounts/${randomUUID()}${suffix}`, `/api/v1/admin/accounts/not-a-uuid${suffix}`],
        async untouched() {
          const me = await app.http.inject({ url: '/api/v1/me', headers: bearer(bystander.token) });
          expect(me.statusCode).toBe(200);
        },
      },
    };
  },
});

/** A service account's route (`suffix` after its id): a fresh service account; 404 for missing and malformed ids, and for a person's account. */
const serviceAccountRoute = (method: 'POST' | 'DELETE', suffix = ''): RouteSetup => ({
  auth: 'either',
  scope: 'admin:write',
  successStatus: method === 'POST' ? 201 : 204,
  admin: true,
  async prepare(app) {
    const target = await app.services.serviceAccounts.create({ name: `svc-${randomUUID().slice(0, 8)}` }, SYSTEM_ACTOR);
    const person = await prepareCaller(app);
    return {
      url: `/api/v1/admin/service-accounts/${target.id}${suffix}`,
      ...(method === 'POST' ? { payload: { name: `deploy-${randomUUID().slice(0, 8)}` } } : {}),
      foreign: {
        url: `/api/v1/admin/service-accounts/${person.session.account.id}${suffix}`,
        missingUrls: [`/api/v1/admin/service-accounts/${randomUUID()}${suffix}`, `/api/v1/admin/service-accounts/not-a-uuid${suffix}`],
        async untouched() {
          const me = await app.http.inject({ url: '/api/v1/me', headers: bearer(person.token) });
          expect(me.statusCode).toBe(200);
        },
      },
    };
  },
});

/** The memory failure limiter of the throttle route's current app. */
let throttleLimiter: ReturnType<typeof createMemoryFailureLimiter> | undefined;

/** Per protected route: the credentials it must take, the status it succeeds with, its request. */
/** One of the caller's webhooks, and another account's (its description unchanged is the check). */
const webhookById = (method: 'GET' | 'PATCH' | 'DELETE', suffix: string, successStatus: number): RouteSetup => ({
  auth: 'either',
  scope: method === 'GET' ? 'tokens:read' : 'tokens:write',
  successStatus,
  async prepare(app, caller) {
    const body = { url: 'https://hooks.example.com/latchkey', events: ['token.created'], description: 'original' };
    const own = await createWebhook(app, caller.session, body);
    const owner = await app.signIn();
    const theirs = await createWebhook(app, owner, body);
    return {
      url: `/api/v1/webhooks/${own.id}${suffix}`,
      ...(method === 'PATCH' && { payload: { description: 'changed' } }),
      foreign: {
        url: `/api/v1/webhooks/${theirs.id}${suffix}`,
        missingUrls: [`/api/v1/webhooks/${randomUUID()}${suffix}`, `/api/v1/webhooks/not-a-uuid${suffix}`],
        async untouched() {
          expect(await app.services.webhooks.get(owner.account.id, theirs.id)).toMatchObject({ description: 'original' });
        },
      },
    };
  },
});

/** A webhook with one delivery attempted (to a closed port on loopback: refused at once). */
async function webhookWithDelivery(app: TestApp, session: TestSession) {
  const hook = await createWebhook(app, session, { url: 'http://127.0.0.1:9/hook', events: ['token.created'] });
  await app.createToken(session, `delivered-${randomUUID().slice(0, 8)}`);
  const attempts = async () => (await deliveriesOf(app, session, hook.id))[0]?.attempts ?? 0;
  await runJobsUntil(app, async () => (await attempts()) >= 1);
  const [delivery] = await deliveriesOf(app, session, hook.id);
  return { webhookId: hook.id, deliveryId: delivery!.id, attempts };
}

const ROUTES: RouteSetupTable = {
  'GET /api/v1/me': { auth: 'either', scope: 'any', successStatus: 200 },
  'GET /api/v1/me/notifications': { auth: 'either', scope: 'any', successStatus: 200 },
  'PUT /api/v1/me/notifications': { auth: 'either', scope: 'any', successStatus: 200, prepare: () => ({ payload: { newAddress: true } }) },
  'GET /api/v1/tokens': { auth: 'either', scope: 'tokens:read', successStatus: 200 },
  'POST /api/v1/tokens': {
    auth: 'either',
    scope: 'tokens:write',
    successStatus: 201,
    // Only the name: a token creating a token gets, by default, what it holds itself.
    prepare: () => ({ payload: { name: `fresh-${randomUUID().slice(0, 8)}` } }),
  },
  'GET /api/v1/tokens/self': { auth: 'token', scope: 'any', successStatus: 200 },
  'DELETE /api/v1/tokens/self': { auth: 'token', scope: 'any', successStatus: 204 },
  'POST /api/v1/tokens/self/rotate': { auth: 'token', scope: 'any', successStatus: 201 },
  'GET /api/v1/token-settings': { auth: 'either', scope: 'any', successStatus: 200 },
  'GET /api/v1/verify': { auth: 'token', scope: 'any', successStatus: 204 },
  'GET /api/v1/revocations': { auth: 'token', scope: 'introspect', successStatus: 200, stream: true, callerScopes: ['introspect'] },
  'POST /api/v1/introspect': {
    auth: 'token',
    scope: 'introspect',
    successStatus: 200,
    callerScopes: ['introspect'],
    prepare: (_app, caller) => ({ payload: { token: caller.token } }),
  },
  'GET /api/v1/tokens/:id': tokenById('GET'),
  'GET /api/v1/tokens/:id/activity': tokenById('GET', '/activity'),
  'DELETE /api/v1/tokens/:id': tokenById('DELETE'),
  'POST /api/v1/tokens/:id/rotate': tokenById('POST', '/rotate'),
  'GET /api/v1/namespaces': { auth: 'either', scope: 'namespaces:read', successStatus: 200 },
  'POST /api/v1/namespaces': {
    auth: 'either',
    scope: 'namespaces:write',
    successStatus: 201,
    prepare: () => ({ payload: { name: `ns-${randomUUID().slice(0, 8)}` } }),
  },
  'DELETE /api/v1/namespaces/:name': {
    auth: 'either',
    scope: 'namespaces:write',
    successStatus: 204,
    async prepare(app, caller) {
      const own = await createNamespace(app, caller.session);
      const owner = await app.signIn();
      const theirs = await createNamespace(app, owner);
      return {
        url: `/api/v1/namespaces/${own}`,
        foreign: {
          url: `/api/v1/namespaces/${theirs}`,
          missingUrls: [`/api/v1/namespaces/ns-${randomUUID().slice(0, 8)}`, '/api/v1/namespaces/Not_A_Label'],
          async untouched() {
            expect(await namespaceNames(app, owner)).toEqual([theirs]);
          },
        },
      };
    },
  },
  // Webhooks (docs/webhooks.md): tokens:read to read, tokens:write to change.
  'GET /api/v1/webhooks': { auth: 'either', scope: 'tokens:read', successStatus: 200 },
  'POST /api/v1/webhooks': {
    auth: 'either',
    scope: 'tokens:write',
    successStatus: 201,
    prepare: () => ({ payload: { url: 'https://hooks.example.com/latchkey', events: ['token.created'] } }),
  },
  'GET /api/v1/webhooks/:id': webhookById('GET', '', 200),
  'PATCH /api/v1/webhooks/:id': webhookById('PATCH', '', 200),
  'DELETE /api/v1/webhooks/:id': webhookById('DELETE', '', 204),
  'GET /api/v1/webhooks/:id/deliveries': webhookById('GET', '/deliveries', 200),
  'POST /api/v1/webhooks/:id/deliveries/:deliveryId/redeliver': {
    auth: 'either',
    scope: 'tokens:write',
    successStatus: 202,
    appOptions: () => ({ webhookAllowPrivate: true }),
    async prepare(app, caller) {
      const own = await webhookWithDelivery(app, caller.session);
      const theirs = await webhookWithDelivery(app, await app.signIn());
      return {
        url: `/api/v1/webhooks/${own.webhookId}/deliveries/${own.deliveryId}/redeliver`,
        foreign: {
          url: `/api/v1/webhooks/${theirs.webhookId}/deliveries/${theirs.deliveryId}/redeliver`,
          missingUrls: [
            `/api/v1/webhooks/${own.webhookId}/deliveries/${randomUUID()}/redeliver`,
            `/api/v1/webhooks/${own.webhookId}/deliveries/not-a-uuid/redeliver`,
            `/api/v1/webhooks/${randomUUID()}/deliveries/${own.deliveryId}/redeliver`,
          ],
          async untouched() {
            expect(await theirs.attempts()).toBe(1);
          },
        },
      };
    },
  },
  'GET /api/v1/notices': { auth: 'session', successStatus: 200 },
  'POST /api/v1/notices/:id/dismiss': {
    auth: 'session',
    successStatus: 204,
    async prepare(app, caller) {
      const own = await giveNotice(app, caller.session);
      const owner = await app.signIn();
      const theirs = await giveNotice(app, owner);
      return {
        url: `/api/v1/notices/${own}/dismiss`,
        foreign: {
          url: `/api/v1/notices/${theirs}/dismiss`,
          missingUrls: [`/api/v1/notices/${randomUUID()}/dismiss`, '/api/v1/notices/not-a-uuid/dismiss'],
          async untouched() {
            expect(await noticeIds(app, owner)).toEqual([theirs]);
          },
        },
      };
    },
  },
  // Only administrators invite: the caller is one.
  'POST /api/v1/invites': {
    auth: 'session',
    successStatus: 201,
    admin: true,
    prepare: () => ({ payload: { email: `invitee-${randomUUID().slice(0, 8)}@example.test` } }),
  },
  // The administration API (item 49): the caller is an administrator whose token holds admin:write.
  'GET /api/v1/admin/accounts': { auth: 'either', scope: 'admin:read', successStatus: 200, admin: true },
  'GET /api/v1/admin/accounts/:id': adminAccountRoute('GET'),
  'PATCH /api/v1/admin/accounts/:id': adminAccountRoute('PATCH'),
  'POST /api/v1/admin/accounts/:id/disable': adminAccountRoute('POST', '/disable'),
  'POST /api/v1/admin/accounts/:id/enable': adminAccountRoute('POST', '/enable'),
  'DELETE /api/v1/admin/accounts/:id': adminAccountRoute('DELETE'),
  'GET /api/v1/admin/tokens': { auth: 'either', scope: 'admin:read', successStatus: 200, admin: true },
  'DELETE /api/v1/admin/tokens/:id': {
    auth: 'either',
    scope: 'admin:write',
    successStatus: 204,
    admin: true,
    async prepare(app) {
      const owner = await prepareCaller(app);
      const target = await app.createToken(owner.session, `target-${randomUUID().slice(0, 8)}`);
      return {
        url: `/api/v1/admin/tokens/${target.token.id}`,
        foreign: {
          url: `/api/v1/admin/tokens/${randomUUID()}`,
          missingUrls: [`/api/v1/admin/tokens/${randomUUID()}`, '/api/v1/admin/tokens/not-a-uuid'],
          async untouched() {
            const me = await app.http.inject({ url: '/api/v1/me', headers: bearer(owner.token) });
            expect(me.statusCode).toBe(200);
          },
        },
      };
    },
  },
  'GET /api/v1/admin/audit': { auth: 'either', scope: 'admin:read', successStatus: 200, admin: true },
  // Administration, slice 2: service accounts, the instance policy, throttled addresses.
  'POST /api/v1/admin/service-accounts': {
    auth: 'either',
    scope: 'admin:write',
    successStatus: 201,
    admin: true,
    prepare: () => ({ payload: { name: `svc-${randomUUID().slice(0, 8)}` } }),
  },
  'GET /api/v1/admin/service-accounts': { auth: 'either', scope: 'admin:read', successStatus: 200, admin: true },
  'DELETE /api/v1/admin/service-accounts/:id': serviceAccountRoute('DELETE'),
  'POST /api/v1/admin/service-accounts/:id/tokens': serviceAccountRoute('POST', '/tokens'),
  'GET /api/v1/admin/policy': { auth: 'either', scope: 'admin:read', successStatus: 200, admin: true },
  'PUT /api/v1/admin/policy': {
    auth: 'either',
    scope: 'admin:write',
    successStatus: 200,
    admin: true,
    // The defaults (as the test app's environment gives them): nothing the other routes need changes.
    prepare: () => ({
      payload: { maxLifetimeDays: 180, serviceMaxLifetimeDays: null, personalScopes: [...TOKEN_SCOPES], idleRevokeDays: null },
    }),
  },
  'GET /api/v1/admin/throttles': { auth: 'either', scope: 'admin:read', successStatus: 200, admin: true },
  'DELETE /api/v1/admin/throttles/:address': {
    auth: 'either',
    scope: 'admin:write',
    successStatus: 204,
    admin: true,
    appOptions: () => {
      throttleLimiter = createMemoryFailureLimiter({ clock: systemClock });
      return { failureLimiter: throttleLimiter };
    },
    async prepare() {
      // An address (not the harness's own) with failures counted against it.
      const address = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
      for (let i = 0; i < FAILURE_THRESHOLD; i++) await throttleLimiter!.recordFailure(address);
      const bystander = '203.0.113.9';
      await throttleLimiter!.recordFailure(bystander);
      return {
        url: `/api/v1/admin/throttles/${address}`,
        foreign: {
          url: '/api/v1/admin/throttles/192.0.2.77',
          missingUrls: ['/api/v1/admin/throttles/192.0.2.78', '/api/v1/admin/throttles/not-an-address'],
          async untouched() {
            expect(await throttleLimiter!.failuresOf(bystander)).toBe(1);
          },
        },
      };
    },
  },
};

describeProtectedRoutes(await listProtectedRoutes(), ROUTES);
