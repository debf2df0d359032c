/**
 * The service around the API: health and readiness, the OpenAPI document, the error reference,
 * and failing closed (503, never 401 or 200) when the database goes away.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/database/open-database.js';
import { bearer, createMemoryApp, createTestApp, type TestApp } from '../support/app.js';

describe('service routes', () => {
  let app: TestApp;
  afterEach(() => app.close());

  it('answers /healthz and /readyz', async () => {
    app = await createMemoryApp();
    expect((await app.http.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.http.inject({ url: '/readyz' })).statusCode).toBe(200);
  });

  it('documents every API route in /api/openapi.json, generated from the schemas', async () => {
    app = await createMemoryApp();
    const response = await app.http.inject({ url: '/api/openapi.json' });
    expect(response.statusCode).toBe(200);
    const document = response.json() as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toBe('3.1.0');
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(operations.sort()).toEqual(
      [
        'GET /api/v1/me',
        'GET /api/v1/tokens',
        'POST /api/v1/tokens',
        'GET /api/v1/tokens/self',
        'DELETE /api/v1/tokens/self',
        'POST /api/v1/tokens/self/rotate',
        'POST /api/v1/tokens/{id}/rotate',
        'GET /api/v1/tokens/{id}',
        'GET /api/v1/tokens/{id}/activity',
        'GET /api/v1/verify',
        'POST /api/v1/introspect',
        'GET /api/v1/revocations',
        'DELETE /api/v1/tokens/{id}',
        'GET /api/v1/token-settings',
        'GET /api/v1/namespaces',
        'POST /api/v1/namespaces',
        'DELETE /api/v1/namespaces/{name}',
        'POST /api/v1/invites',
        'POST /auth/cli/token',
        // Leaked-token reports and the owner's notices (docs/security.md, item 35).
        'POST /api/v1/credentials/revoke',
        'GET /api/v1/notices',
        'POST /api/v1/notices/{id}/dismiss',
        // Email notification switches (docs/notifications.md).
        'GET /api/v1/me/notifications',
        'PUT /api/v1/me/notifications',
        // Signed webhooks (docs/webhooks.md).
        'GET /api/v1/webhooks',
        'POST /api/v1/webhooks',
        'GET /api/v1/webhooks/{id}',
        'PATCH /api/v1/webhooks/{id}',
        'DELETE /api/v1/webhooks/{id}',
        'GET /api/v1/webhooks/{id}/deliveries',
        'POST /api/v1/webhooks/{id}/deliveries/{deliveryId}/redeliver',
        // The administration API (docs/security.md, item 49).
        'GET /api/v1/admin/accounts',
        'GET /api/v1/admin/accounts/{id}',
        'PATCH /api/v1/admin/accounts/{id}',
        'POST /api/v1/admin/accounts/{id}/disable',
        'POST /api/v1/admin/accounts/{id}/enable',
        'DELETE /api/v1/admin/accounts/{id}',
        'GET /api/v1/admin/tokens',
        'DELETE /api/v1/admin/tokens/{id}',
        'GET /api/v1/admin/audit',
        'POST /api/v1/admin/service-accounts',
        'GET /api/v1/admin/service-accounts',
        'DELETE /api/v1/admin/service-accounts/{id}',
        'POST /api/v1/admin/service-accounts/{id}/tokens',
        'GET /api/v1/admin/policy',
        'PUT /api/v1/admin/policy',
        'GET /api/v1/admin/throttles',
        'DELETE /api/v1/admin/throttles/{address}',
      ].sort(),
    );
    const patch = document.paths['/api/v1/admin/accounts/{id}']!.patch as {
      security: unknown;
      requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown>; additionalProperties: unknown } } } };
    };
    expect(Object.keys(patch.requestBody.content['application/json'].schema.properties).sort()).toEqual(['isAdmin', 'name']);
    expect(patch.requestBody.content['application/json'].schema.additionalProperties).toBe(false);
    expect(patch.security).toEqual([{ bearer: ['admin:write'] }, { session: [] }]);
    expect((document.paths['/api/v1/admin/audit']!.get as { security: unknown }).security).toEqual([{ bearer: ['admin:read'] }, { session: [] }]);
    const create = document.paths['/api/v1/tokens']!.post as {
      requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown>; required: string[] } } } };
    };
    const schema = create.requestBody.content['application/json'].schema;
    expect(Object.keys(schema.properties).sort()).toEqual(['allowedIps', 'expiresAt', 'expiresInDays', 'name', 'namespaces', 'note', 'scopes']);
    expect(schema.required).toEqual(['name']);
  });

  it('serves the error reference that problem types point at', async () => {
    app = await createMemoryApp();
    const docs = await app.http.inject({ url: '/docs/errors' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/^text\/markdown/);
    expect(docs.body).toContain('<a id="invalid-token"></a>');
    const slug = await app.http.inject({ url: '/docs/errors/invalid-token' });
    expect(slug.statusCode).toBe(302);
    expect(slug.headers.location).toBe('/docs/errors#invalid-token');
    expect((await app.http.inject({ url: '/docs/errors/..%2Fx' })).statusCode).toBe(404);
  });
});

describe('when the database goes away', () => {
  let app: TestApp;
  afterEach(() => app.close());

  it('SQLite closed under a running app: 503 with Retry-After for valid tokens and sessions, never 401 or 200', async () => {
    const store = openDatabase('sqlite::memory:');
    await store.migrate();
    app = await createTestApp(store);
    const session = await app.signIn();
    const { secret } = await app.createToken(session, 'ci');
    expect((await app.http.inject({ url: '/api/v1/me', headers: bearer(secret) })).statusCode).toBe(200);

    await store.close();
    for (const headers of [bearer(secret), { cookie: session.cookie }]) {
      const response = await app.http.inject({ url: '/api/v1/me', headers });
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(response.json()).toMatchObject({ code: 'UNAVAILABLE', status: 503, type: '/docs/errors/unavailable' });
    }
    expect((await app.http.inject({ url: '/readyz' })).statusCode).toBe(503);
    const create = await app.http.inject({ method: 'POST', url: '/api/v1/tokens', headers: session.headers, payload: { name: 'x' } });
    expect(create.statusCode).toBe(503);
  });

  it('PostgreSQL unreachable: 503 with Retry-After for a well-formed token', async () => {
    const store = openDatabase('postgres://postgres@127.0.0.1:1/latchkey');
    app = await createTestApp(store);
    const wellFormedButUnknown = (await import('@latchkey/contract/token')).generateToken().token;
    const response = await app.http.inject({ url: '/api/v1/me', headers: bearer(wellFormedButUnknown) });
    expect(response.statusCode).toBe(503);
    expect(response.headers['retry-after']).toBeDefined();
    expect(response.json().code).toBe('UNAVAILABLE');
    expect(app.logText()).not.toMatch(/lk_pat_1[0-9A-Za-z]{49}/);
  });
});
