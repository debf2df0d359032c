/**
 * The shared security suite (support/protected-route.ts) over every protected route of the
 * API (DESIGN.md §3), on both backends.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { bearer, createTestApp, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend, type BackendContext } from '../support/databases.js';
import {
  prepareCaller,
  runProtectedRouteTests,
  type Caller,
  type ProtectedRoute,
  type ProtectedRouteFixture,
} from '../support/protected-route.js';

async function createNamespace(app: TestApp, session: TestSession): Promise<string> {
  const name = `ns-${randomUUID().slice(0, 8)}`;
  const response = await app.http.inject({
    method: 'POST',
    url: '/api/v1/namespaces',
    headers: session.headers,
    payload: { name },
  });
  expect(response.statusCode, response.body).toBe(201);
  return name;
}

async function namespaceNames(app: TestApp, session: TestSession): Promise<string[]> {
  const response = await app.http.inject({ url: '/api/v1/namespaces', headers: session.headers });
  return (response.json() as { namespaces: Array<{ name: string }> }).namespaces.map((ns) => ns.name);
}

describeEachBackend('protected routes', (ctx: BackendContext) => {
  /** A fresh app, a caller, and the route built from what was created. */
  const fixture =
    (build: (app: TestApp, caller: Caller) => Promise<Omit<ProtectedRouteFixture, 'app' | 'backend' | 'caller'>>) =>
    async (): Promise<ProtectedRouteFixture> => {
      const app = await createTestApp(ctx.store);
      const caller = await prepareCaller(app);
      return { app, backend: ctx, caller, ...(await build(app, caller)) };
    };
  const simple = (route: ProtectedRoute) => fixture(async () => ({ route }));

  runProtectedRouteTests(
    'GET /api/v1/me',
    simple({ method: 'GET', url: '/api/v1/me', auth: 'either', successStatus: 200 }),
  );
  runProtectedRouteTests(
    'GET /api/v1/tokens',
    simple({ method: 'GET', url: '/api/v1/tokens', auth: 'session', successStatus: 200 }),
  );
  runProtectedRouteTests(
    'POST /api/v1/tokens',
    simple({ method: 'POST', url: '/api/v1/tokens', payload: { name: 'fresh' }, auth: 'session', successStatus: 201 }),
  );
  runProtectedRouteTests(
    'GET /api/v1/tokens/self',
    simple({ method: 'GET', url: '/api/v1/tokens/self', auth: 'token', successStatus: 200 }),
  );
  runProtectedRouteTests(
    'DELETE /api/v1/tokens/self',
    simple({ method: 'DELETE', url: '/api/v1/tokens/self', auth: 'token', successStatus: 204 }),
  );
  runProtectedRouteTests(
    'GET /api/v1/namespaces',
    simple({ method: 'GET', url: '/api/v1/namespaces', auth: 'either', successStatus: 200 }),
  );
  runProtectedRouteTests(
    'POST /api/v1/namespaces',
    fixture(async () => ({
      route: {
        method: 'POST',
        url: '/api/v1/namespaces',
        payload: { name: `ns-${randomUUID().slice(0, 8)}` },
        auth: 'either',
        successStatus: 201,
      },
    })),
  );

  for (const method of ['GET', 'DELETE'] as const) {
    runProtectedRouteTests(
      `${method} /api/v1/tokens/:id`,
      fixture(async (app, caller) => {
        const owner = await prepareCaller(app);
        return {
          route: { method, url: `/api/v1/tokens/${caller.tokenId}`, auth: 'session', successStatus: method === 'GET' ? 200 : 204 },
          foreign: {
            url: `/api/v1/tokens/${owner.tokenId}`,
            missingUrls: [`/api/v1/tokens/${randomUUID()}`, '/api/v1/tokens/not-a-uuid'],
            async untouched() {
              const me = await app.http.inject({ url: '/api/v1/me', headers: bearer(owner.token) });
              expect(me.statusCode).toBe(200);
            },
          },
        };
      }),
      { namesResource: true },
    );
  }

  runProtectedRouteTests(
    'DELETE /api/v1/namespaces/:name',
    fixture(async (app, caller) => {
      const own = await createNamespace(app, caller.session);
      const owner = await app.signIn();
      const theirs = await createNamespace(app, owner);
      return {
        route: { method: 'DELETE', url: `/api/v1/namespaces/${own}`, auth: 'either', successStatus: 204 },
        foreign: {
          url: `/api/v1/namespaces/${theirs}`,
          missingUrls: [`/api/v1/namespaces/ns-${randomUUID().slice(0, 8)}`, '/api/v1/namespaces/Not_A_Label'],
          async untouched() {
            expect(await namespaceNames(app, owner)).toEqual([theirs]);
          },
        },
      };
    }),
    { namesResource: true },
  );
});
