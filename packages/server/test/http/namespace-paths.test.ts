/**
 * A namespace path that cannot name a namespace (docs/security.md, item 58): a NUL byte, markup,
 * spaces, capitals or an overlong label in `DELETE /api/v1/namespaces/:name` are "no such
 * namespace" (404 problem), never a 500 — the route fuzz found a NUL byte reaching PostgreSQL,
 * which refuses it. Real namespaces are deleted as before.
 */
import { expect, it } from 'vitest';
import { bearer, signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const IMPOSSIBLE_NAMES = ['a%00b', '%00', "%3Cscript%3E%2e%2e'%00%2Fconstructor", 'Preview', 'x'.repeat(64), '-lead', 'a%20b'];

describeEachBackend('namespace paths that name no namespace', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  signedInAppForEachTest(ctx, (fresh) => {
    ({ app, session } = fresh);
  });

  it('DELETE with a name no namespace can have is 404 NOT_FOUND as problem+json, by session and by token', async () => {
    const { secret } = await app.createToken(session, 'ci');
    for (const name of IMPOSSIBLE_NAMES) {
      for (const headers of [bearer(secret), { ...session.headers }]) {
        const response = await app.http.inject({ method: 'DELETE', url: `/api/v1/namespaces/${name}`, headers });
        expect(response.statusCode, `${name}: ${response.body}`).toBe(404);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(response.json()).toMatchObject({ code: 'NOT_FOUND', status: 404 });
      }
    }
    // A real one is still deleted, once.
    expect((await app.http.inject({ method: 'POST', url: '/api/v1/namespaces', headers: bearer(secret), payload: { name: 'preview-1' } })).statusCode).toBe(201);
    expect((await app.http.inject({ method: 'DELETE', url: '/api/v1/namespaces/preview-1', headers: bearer(secret) })).statusCode).toBe(204);
    expect((await app.http.inject({ method: 'DELETE', url: '/api/v1/namespaces/preview-1', headers: bearer(secret) })).statusCode).toBe(404);
  });
});
