/**
 * docs/security.md, item 48: every JSON body is strict. For every route that declares a body
 * (taken from the route table, so a new one cannot be missed), a valid body plus one property
 * the route does not know is R-422 naming that property, and nothing is written; the same body
 * without it succeeds. The OpenAPI document says so too: `additionalProperties: false` on every
 * request body, and the allowed `expiresInDays` values as an enum. A route that declares no body
 * refuses a JSON body with anything in it.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { TOKEN_SCOPES } from '@latchkey/contract';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { TEST_ORIGIN, appForEachTest, bearer, type TestApp } from '../support/app.js';
import { describeEachBackend, type BackendContext } from '../support/databases.js';
import { routeKey } from '../support/protected-route.js';

interface BodyCase {
  /** Everything the request needs but the body: the URL (with any parameter) and headers. */
  prepare(app: TestApp): Promise<{ url: string; headers: Record<string, string>; body: Record<string, unknown> }>;
  /** The status the valid body gets. */
  success: number;
}

let counter = 0;
const unique = (prefix: string) => `${prefix}-${++counter}-${randomBytes(3).toString('hex')}`;

/** A valid body for every route that takes one; a route missing here fails the test. */
const BODY_CASES: Record<string, BodyCase> = {
  'POST /api/v1/tokens': {
    success: 201,
    prepare: async (app) => ({ url: '/api/v1/tokens', headers: (await app.signIn()).headers, body: { name: unique('t'), expiresInDays: 30 } }),
  },
  'POST /api/v1/tokens/:id/rotate': {
    success: 201,
    prepare: async (app) => {
      const session = await app.signIn();
      const { token } = await app.createToken(session, unique('rotated'));
      return { url: `/api/v1/tokens/${token.id}/rotate`, headers: session.headers, body: { graceSeconds: 60, expiresInDays: 30 } };
    },
  },
  'POST /api/v1/tokens/self/rotate': {
    success: 201,
    prepare: async (app) => {
      const { secret } = await app.createToken(await app.signIn(), unique('self-rotated'));
      return { url: '/api/v1/tokens/self/rotate', headers: bearer(secret), body: { graceSeconds: 60 } };
    },
  },
  'PUT /api/v1/me/notifications': {
    success: 200,
    prepare: async (app) => ({ url: '/api/v1/me/notifications', headers: (await app.signIn()).headers, body: { newAddress: true } }),
  },
  'POST /api/v1/namespaces': {
    success: 201,
    prepare: async (app) => ({ url: '/api/v1/namespaces', headers: (await app.signIn()).headers, body: { name: unique('ns') } }),
  },
  'POST /api/v1/invites': {
    success: 201,
    prepare: async (app) => ({
      url: '/api/v1/invites',
      headers: (await app.signIn({ isAdmin: true })).headers,
      body: { email: `${unique('invitee')}@example.test` },
    }),
  },
  'POST /api/v1/introspect': {
    success: 200,
    prepare: async (app) => {
      const session = await app.signIn();
      const { secret } = await app.createToken(session, unique('gateway'), { scopes: ['introspect'] });
      return { url: '/api/v1/introspect', headers: bearer(secret), body: { token: secret } };
    },
  },
  'PATCH /api/v1/admin/accounts/:id': {
    success: 200,
    prepare: async (app) => {
      const admin = await app.signIn({ isAdmin: true });
      const other = await app.signIn();
      return { url: `/api/v1/admin/accounts/${other.account.id}`, headers: admin.headers, body: { name: unique('renamed') } };
    },
  },
  'POST /api/v1/admin/service-accounts': {
    success: 201,
    prepare: async (app) => ({
      url: '/api/v1/admin/service-accounts',
      headers: (await app.signIn({ isAdmin: true })).headers,
      body: { name: unique('svc'), description: 'deploys' },
    }),
  },
  'POST /api/v1/admin/service-accounts/:id/tokens': {
    success: 201,
    prepare: async (app) => {
      const admin = await app.signIn({ isAdmin: true });
      const service = await app.services.serviceAccounts.create({ name: unique('svc') }, SYSTEM_ACTOR);
      return { url: `/api/v1/admin/service-accounts/${service.id}/tokens`, headers: admin.headers, body: { name: unique('deploy') } };
    },
  },
  'PUT /api/v1/admin/policy': {
    success: 200,
    prepare: async (app) => ({
      url: '/api/v1/admin/policy',
      headers: (await app.signIn({ isAdmin: true })).headers,
      body: { maxLifetimeDays: 180, serviceMaxLifetimeDays: null, personalScopes: [...TOKEN_SCOPES], idleRevokeDays: null },
    }),
  },
  'POST /api/v1/webhooks': {
    success: 201,
    prepare: async (app) => ({
      url: '/api/v1/webhooks',
      headers: (await app.signIn()).headers,
      body: { url: 'https://hooks.example.com/latchkey', events: ['token.created'] },
    }),
  },
  'PATCH /api/v1/webhooks/:id': {
    success: 200,
    prepare: async (app) => {
      const session = await app.signIn();
      const hook = await app.services.webhooks.create({ accountId: session.account.id, mayAdminister: false }, { url: 'https://hooks.example.com/a', events: ['token.created'] }, SYSTEM_ACTOR);
      return { url: `/api/v1/webhooks/${hook.webhook.id}`, headers: session.headers, body: { description: 'renamed' } };
    },
  },
  'POST /api/v1/credentials/revoke': {
    success: 202,
    prepare: async (app) => {
      const session = await app.signIn();
      const { secret } = await app.createToken(session, unique('leaked'));
      return { url: '/api/v1/credentials/revoke', headers: {}, body: { credentials: [secret] } };
    },
  },
  'POST /auth/cli/token': {
    success: 200,
    prepare: async (app) => {
      const session = await app.signIn();
      const verifier = randomBytes(32).toString('base64url');
      const redirectUri = 'http://127.0.0.1:4567/callback';
      const target = await app.services.cliLogin.approve(session.account.id, {
        redirectUri,
        codeChallenge: createHash('sha256').update(verifier).digest('base64url'),
        state: 'state',
        clientName: 'laptop',
      });
      const code = new URL(target).searchParams.get('code')!;
      return { url: '/auth/cli/token', headers: {}, body: { code, code_verifier: verifier, redirect_uri: redirectUri } };
    },
  },
};

async function rowCounts(ctx: BackendContext): Promise<Record<string, number>> {
  const tables = (
    ctx.dialect === 'sqlite'
      ? await ctx.exec(sql`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%'`)
      : await ctx.exec(sql`select tablename as name from pg_tables where schemaname = current_schema() and tablename not like 'kysely_%'`)
  ) as Array<{ name: string }>;
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    // Where a token was used is recorded by authentication itself (like its last use), not by
    // the refused request: it is not something the request wrote.
    if (name === 'token_addresses') continue;
    const [row] = (await ctx.exec(sql`select count(*) as n from ${sql.table(name)}`)) as Array<{ n: number | string }>;
    counts[name] = Number(row!.n);
  }
  return counts;
}

function send(app: TestApp, method: string, url: string, headers: Record<string, string>, body: unknown): Promise<LightMyRequestResponse> {
  return app.http.inject({ method: method as 'POST', url, headers: { ...headers, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
}

function expectUnknownPropertyRefused(response: LightMyRequestResponse, property: string, label: string): void {
  expect(response.statusCode, `${label}: ${response.body}`).toBe(422);
  const problem = response.json() as { code: string; errors: Array<{ pointer?: string; detail: string }> };
  expect(problem.code, label).toBe('VALIDATION_FAILED');
  expect(problem.errors, label).toContainEqual({ pointer: `/${property}`, detail: 'is not a known field' });
}

describeEachBackend('strict request bodies', (ctx) => {
  let app: TestApp;
  appForEachTest(ctx, (fresh) => (app = fresh));

  it('refuses, for every route that takes a JSON body, a valid body plus an unknown property, and writes nothing', async () => {
    const bodyRoutes = app.routes.filter((route) => route.takesBody);
    expect(bodyRoutes.map(routeKey).sort()).toEqual(Object.keys(BODY_CASES).sort());
    const prepared = [];
    for (const route of bodyRoutes) {
      const key = routeKey(route);
      const bodyCase = BODY_CASES[key];
      expect(bodyCase, `no valid body for ${key}: add it to BODY_CASES`).toBeDefined();
      prepared.push({ key, method: route.method, success: bodyCase!.success, ...(await bodyCase!.prepare(app)) });
    }

    // Every refusal first: an accepted request may go on writing after its answer (a leak report
    // is processed in the background), which must not blur the counts of the next refusal.
    for (const { key, method, url, headers, body } of prepared) {
      const before = await rowCounts(ctx);
      const refused = await send(app, method, url, headers, { ...body, surprise: true });
      expectUnknownPropertyRefused(refused, 'surprise', key);
      expect(await rowCounts(ctx), key).toEqual(before);
    }

    // The same bodies without the extra property are accepted: each 422 was for that property alone.
    for (const { key, method, url, headers, body, success } of prepared) {
      const accepted = await send(app, method, url, headers, body);
      expect(accepted.statusCode, `${key}: ${accepted.body}`).toBe(success);
    }
  });

  it('refuses a JSON body with any property on every route that declares no body, and writes nothing', async () => {
    // An administrator: the administrators' routes refuse anyone else before reading a body.
    const session = await app.signIn({ isAdmin: true });
    const { secret } = await app.createToken(session, 'caller');
    const bodiless = app.routes.filter((route) => !route.takesBody && ['POST', 'PUT', 'PATCH', 'DELETE'].includes(route.method));
    expect(bodiless.map(routeKey)).toEqual(expect.arrayContaining(['DELETE /api/v1/tokens/:id', 'POST /auth/sign-out']));
    for (const route of bodiless) {
      const key = routeKey(route);
      const url = route.url.replace(/:[A-Za-z]+/g, (param) => (param === ':secret' ? 'lk_link_unknown' : randomUUID()));
      const headers = route.auth === 'token' ? bearer(secret) : session.headers;
      const before = await rowCounts(ctx);
      for (const payload of [{ surprise: true }, ['a']]) {
        const response = await send(app, route.method, url, headers, payload);
        if (Array.isArray(payload)) {
          expect(response.statusCode, `${key}: ${response.body}`).toBe(422);
          expect(response.json().errors, key).toEqual([{ pointer: '', detail: 'must be empty: this route takes no body' }]);
        } else {
          expectUnknownPropertyRefused(response, 'surprise', key);
        }
      }
      expect(await rowCounts(ctx), key).toEqual(before);
    }
    // Still signed in, and the token still works: nothing was acted on.
    expect((await app.http.inject({ url: '/api/v1/me', headers: session.headers })).statusCode).toBe(200);
    expect((await app.http.inject({ url: '/api/v1/me', headers: bearer(secret) })).statusCode).toBe(200);
  });

  it('refuses token fields a later release may add, and a misspelt scope field, instead of creating a full-access token', async () => {
    const session = await app.signIn();
    const before = await rowCounts(ctx);
    for (const [property, value] of Object.entries({
      scope: ['namespaces:read'],
      permissions: ['namespaces:read'],
      allowedIPs: ['10.0.0.0/8'],
      graceSeconds: 60,
    })) {
      const response = await send(app, 'POST', '/api/v1/tokens', session.headers, { name: 'x', [property]: value });
      expectUnknownPropertyRefused(response, property, property);
    }
    expect(await rowCounts(ctx)).toEqual(before);
  });

  it('accepts the token fields this release adds: note, scopes, namespaces, allowedIps', async () => {
    const session = await app.signIn();
    const response = await send(app, 'POST', '/api/v1/tokens', session.headers, {
      name: 'x',
      note: 'for CI',
      scopes: ['namespaces:read'],
      namespaces: ['preview-*'],
      allowedIps: ['10.0.0.0/8'],
    });
    expect(response.statusCode, response.body).toBe(201);
    expect(response.json().token).toMatchObject({
      note: 'for CI',
      scopes: ['namespaces:read'],
      namespaces: ['preview-*'],
      allowedIps: ['10.0.0.0/8'],
    });
  });

  it('names every unknown property, escaped as a JSON pointer, and never repeats one that could hold a secret', async () => {
    const session = await app.signIn();
    const { secret } = await app.createToken(session, 'pasted');
    const response = await send(app, 'POST', '/api/v1/namespaces', session.headers, {
      name: 'ok',
      'a/b': 1,
      'c~d': 2,
      [secret]: 3,
      ['x'.repeat(100)]: 4,
    });
    expect(response.statusCode).toBe(422);
    const { errors } = response.json() as { errors: Array<{ pointer: string; detail: string }> };
    expect(errors).toEqual(
      expect.arrayContaining([
        { pointer: '/a~1b', detail: 'is not a known field' },
        { pointer: '/c~0d', detail: 'is not a known field' },
        { pointer: '', detail: 'has a property that is not a known field' },
      ]),
    );
    expect(response.body).not.toContain(secret);
    expect(response.body).not.toContain('x'.repeat(100));
  });
});

describeEachBackend('the OpenAPI document shows strict bodies', (ctx) => {
  let app: TestApp;
  appForEachTest(ctx, (fresh) => (app = fresh));

  type Operation = { requestBody?: { content: Record<string, { schema: Record<string, unknown> }> } };
  async function operations(): Promise<Array<[string, Operation]>> {
    const document = (await app.http.inject({ url: '/api/openapi.json', headers: { origin: TEST_ORIGIN } })).json() as {
      paths: Record<string, Record<string, Operation>>;
    };
    return Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, operation]): [string, Operation] => [`${method.toUpperCase()} ${path}`, operation]),
    );
  }

  it('marks every request body additionalProperties: false', async () => {
    const withBodies = (await operations()).filter(([, operation]) => operation.requestBody);
    expect(withBodies.map(([key]) => key)).toEqual(expect.arrayContaining(['POST /api/v1/tokens', 'POST /api/v1/namespaces']));
    for (const [key, operation] of withBodies) {
      const schema = operation.requestBody!.content['application/json']!.schema;
      expect(schema.additionalProperties, key).toBe(false);
    }
  });

  it('documents expiresInDays as a whole number checked against the instance policy at create (the choices change at run time)', async () => {
    const [, create] = (await operations()).find(([key]) => key === 'POST /api/v1/tokens')!;
    const schema = create.requestBody!.content['application/json']!.schema as { properties: Record<string, Record<string, unknown>> };
    expect(schema.properties.expiresInDays!.type).toBe('integer');
    expect((await app.services.tokens.lifetimeSettings()).lifetimeChoices).toEqual([7, 30, 60, 90, 180]);
  });
});
