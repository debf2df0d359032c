/**
 * The per-account namespace limit over HTTP (NAMESPACE_MAX_PER_ACCOUNT), on SQLite and
 * PostgreSQL: one more namespace than the limit is a 409 problem with code CONFLICT, and
 * a burst of concurrent creates from one token never takes the account past the limit.
 */
import { expect, it } from 'vitest';
import { bearer, signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';

const LIMIT = 4;

describeEachBackend('Namespace limit per account', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  signedInAppForEachTest(
    ctx,
    (fresh) => {
      ({ app, session } = fresh);
    },
    { maxNamespacesPerAccount: LIMIT },
  );

  const create = (token: string, name: string) =>
    app.http.inject({ method: 'POST', url: '/api/v1/namespaces', headers: bearer(token), payload: { name } });
  const held = async (token: string) =>
    (await app.http.inject({ url: '/api/v1/namespaces', headers: bearer(token) })).json<{ namespaces: unknown[] }>().namespaces.length;

  it('one namespace past the limit is 409 CONFLICT as problem+json, and nothing is created', async () => {
    const { secret } = await app.createToken(session, 'ci');
    for (let i = 0; i < LIMIT; i++) expect((await create(secret, `env-${i}`)).statusCode).toBe(201);

    const refused = await create(secret, 'one-too-many');
    expect(refused.statusCode).toBe(409);
    expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.json()).toMatchObject({
      code: 'CONFLICT',
      status: 409,
      detail: `You already have ${LIMIT} namespaces; delete one before creating another.`,
    });
    expect(await held(secret)).toBe(LIMIT);

    // Deleting one frees its slot.
    expect((await app.http.inject({ method: 'DELETE', url: '/api/v1/namespaces/env-0', headers: bearer(secret) })).statusCode).toBe(204);
    expect((await create(secret, 'one-too-many')).statusCode).toBe(201);
  });

  it('concurrent creates near the limit never take the account past it', async () => {
    const { secret } = await app.createToken(session, 'ci');
    expect((await create(secret, 'already-there')).statusCode).toBe(201);

    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => create(secret, `burst-${i}`)));

    expect(answers.filter((answer) => answer.statusCode === 201)).toHaveLength(LIMIT - 1);
    expect(answers.filter((answer) => answer.statusCode === 409)).toHaveLength(20 - (LIMIT - 1));
    expect(await held(secret)).toBe(LIMIT);
  });
});
