/**
 * docs/security.md, item 33: disabling and deleting an account kill all its tokens.
 *
 * A user with 5 tokens is disabled, then re-enabled, then deleted:
 *   - right after each disable/delete returns, all 5 → R-INVALID on every instance;
 *   - re-enabling brings back the tokens that were only disabled, not one revoked or expired
 *     in the meantime (docs/security.md, "Decisions": disable is reversible, delete is not);
 *   - after deletion the account's token rows are gone (cascade) or revoked, and so are its
 *     sessions.
 *
 * Multi-instance form: two `latchkey-server` processes on a throw-away PostgreSQL database. The
 * server has no HTTP route to disable or delete an account (only the domain's AccountService),
 * so an in-process app on the same database performs those operations, as an administrator's
 * tool would; the bearer checks go to the two processes. Single-instance form: the same steps
 * through app.inject on SQLite and on PostgreSQL.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { rawKysely, type Database, type Dialect } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { bearer, createTestApp, type TestApp, type TestSession } from '../support/app.js';
import { createTestPostgresDatabase, describeEachBackend, postgresAvailable } from '../support/databases.js';
import { EXPECTED } from '../support/protected-route.js';
import { randomTestNetAddress } from '../scale/support.js';
import { ensureServerBuilt, startServer, type ServerProcess } from '../support/server-process.mjs';

const PUBLIC_URL = 'http://latchkey.localhost';
const TOKENS = 5;

interface Answer {
  status: number;
  wwwAuthenticate: string | undefined;
  code: string | undefined;
}

/** Somewhere a bearer token can be presented (a process over HTTP, or an in-process app). */
interface Door {
  name: string;
  use(secret: string): Promise<Answer>;
  /** GET /api/v1/me with a session cookie; the status. */
  useSession(cookie: string): Promise<number>;
}

interface Scenario {
  doors: Door[];
  /** The app whose services disable, enable and delete, and whose database is inspected. */
  admin: TestApp;
  dialect: Dialect;
  /** Mints a token for `session` through the API (on one of the doors). */
  mint(session: TestSession, name: string): Promise<{ id: string; secret: string }>;
}

function answerOf(status: number, headers: { get(name: string): string | null | undefined }, body: string): Answer {
  let code: string | undefined;
  try {
    code = (JSON.parse(body) as { code?: string }).code;
  } catch {
    code = undefined;
  }
  return { status, wwwAuthenticate: headers.get('www-authenticate') ?? undefined, code };
}

function httpDoor(instance: ServerProcess): Door {
  return {
    name: instance.name,
    async use(secret) {
      const response = await fetch(`${instance.base}/api/v1/me`, {
        headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': randomTestNetAddress() },
        signal: AbortSignal.timeout(10_000),
      });
      return answerOf(response.status, response.headers, await response.text());
    },
    async useSession(cookie) {
      const response = await fetch(`${instance.base}/api/v1/me`, { headers: { cookie }, signal: AbortSignal.timeout(10_000) });
      await response.arrayBuffer();
      return response.status;
    },
  };
}

function injectDoor(app: TestApp, name: string): Door {
  return {
    name,
    async use(secret) {
      const response = await app.http.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(secret) });
      return answerOf(response.statusCode, { get: (header) => response.headers[header] as string | undefined }, response.body);
    },
    async useSession(cookie) {
      return (await app.http.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie } })).statusCode;
    },
  };
}

const R_INVALID = { status: EXPECTED['R-INVALID'].status, wwwAuthenticate: EXPECTED['R-INVALID'].challenge, code: EXPECTED['R-INVALID'].code };
const R_EXPIRED = { status: EXPECTED['R-EXPIRED'].status, wwwAuthenticate: EXPECTED['R-EXPIRED'].challenge, code: EXPECTED['R-EXPIRED'].code };

/** What each door answers for each token: `{ "A t1": 200, … }`-like, for one readable diff. */
async function answersFor(doors: Door[], tokens: Array<{ label: string; secret: string }>) {
  const result: Record<string, Answer | number> = {};
  for (const door of doors) {
    for (const token of tokens) {
      const answer = await door.use(token.secret);
      result[`${door.name} ${token.label}`] = answer.status === 200 ? 200 : answer;
    }
  }
  return result;
}

const expectEvery = (doors: Door[], tokens: Array<{ label: string }>, expected: (label: string) => Answer | number) =>
  Object.fromEntries(doors.flatMap((door) => tokens.map((token) => [`${door.name} ${token.label}`, expected(token.label)])));

async function runScenario({ doors, admin, dialect, mint }: Scenario): Promise<void> {
  const victim = await admin.signIn();
  const bystander = await admin.signIn();
  const tokens: Array<{ label: string; id: string; secret: string }> = [];
  for (let i = 1; i <= TOKENS; i++) tokens.push({ label: `t${i}`, ...(await mint(victim, `victim-${i}`)) });
  const other = { label: 'bystander', ...(await mint(bystander, 'bystander')) };
  const db = rawKysely(admin.database);

  expect(await answersFor(doors, tokens)).toEqual(expectEvery(doors, tokens, () => 200));

  // Disabled: every token refused on every instance as soon as the call has returned.
  await admin.services.accounts.disable(victim.account.id, SYSTEM_ACTOR);
  expect(await answersFor(doors, tokens)).toEqual(expectEvery(doors, tokens, () => R_INVALID));
  for (const door of doors) expect(await door.useSession(victim.cookie)).toBe(401);
  expect(await answersFor(doors, [other])).toEqual(expectEvery(doors, [other], () => 200));

  // While disabled, t1 is revoked and t2 runs out.
  await admin.services.tokens.revoke(victim.account.id, tokens[0]!.id, SYSTEM_ACTOR);
  const dbNowMinusOneSecond =
    dialect === 'sqlite'
      ? sql`cast(unixepoch('subsec') * 1000 as integer) - 1000`
      : sql`(extract(epoch from clock_timestamp()) * 1000)::bigint - 1000`;
  await sql`update tokens set expires_at = ${dbNowMinusOneSecond} where id = ${tokens[1]!.id}`.execute(db);
  expect(await answersFor(doors, tokens)).toEqual(expectEvery(doors, tokens, () => R_INVALID));

  // Re-enabled: the tokens that were only disabled work again; the revoked one stays R-INVALID
  // and the expired one is R-EXPIRED.
  await admin.services.accounts.enable(victim.account.id, SYSTEM_ACTOR);
  expect(await answersFor(doors, tokens)).toEqual(
    expectEvery(doors, tokens, (label) => (label === 't1' ? R_INVALID : label === 't2' ? R_EXPIRED : 200)),
  );
  for (const door of doors) expect(await door.useSession(victim.cookie)).toBe(200);

  // Disabled again, then deleted: all refused after each call, and nothing usable is left.
  await admin.services.accounts.disable(victim.account.id, SYSTEM_ACTOR);
  expect(await answersFor(doors, tokens)).toEqual(expectEvery(doors, tokens, () => R_INVALID));
  await admin.services.accounts.delete(victim.account.id, SYSTEM_ACTOR);
  expect(await answersFor(doors, tokens)).toEqual(expectEvery(doors, tokens, () => R_INVALID));
  for (const door of doors) expect(await door.useSession(victim.cookie)).toBe(401);

  const rows = await db
    .selectFrom('tokens')
    .select(['id', 'revoked_at'])
    .where('id', 'in', tokens.map((token) => token.id))
    .execute();
  expect(rows.filter((row) => row.revoked_at === null)).toEqual([]);
  const sessions = await db.selectFrom('sessions').select('account_id').where('account_id', '=', victim.account.id).execute();
  expect(sessions).toEqual([]);
  const deleted = await db
    .selectFrom('audit_events')
    .select('detail')
    .where('action', '=', 'account.deleted')
    .where('target_id', '=', victim.account.id)
    .execute();
  // t1 was revoked; the other four (t2 expired but unrevoked) went with the account.
  expect(deleted.map((event) => JSON.parse(event.detail) as Record<string, unknown>)).toEqual([{ tokensRevoked: TOKENS - 1 }]);

  // Someone else's token is untouched by all of it.
  expect(await answersFor(doors, [other])).toEqual(expectEvery(doors, [other], () => 200));
  process.stdout.write(
    `account disable and delete (item 33) [${dialect}, ${doors.map((door) => door.name).join('+')}]: ${TOKENS} tokens × ${doors.length} instance(s) checked after disable, ` +
      `re-enable, disable and delete; ${rows.length} token rows left after deletion (0 unrevoked)\n`,
  );
}

// docs/security.md, item 33
describe('disabling or deleting an account refuses all its tokens on every instance (two instances, PostgreSQL)', () => {
  let setup: { a: ServerProcess; b: ServerProcess; admin: TestApp; adminDatabase: Database; drop(): Promise<void> } | undefined;

  beforeAll(async () => {
    if (!(await postgresAvailable())) return;
    ensureServerBuilt();
    const database = await createTestPostgresDatabase();
    const started: ServerProcess[] = [];
    let adminDatabase: Database | undefined;
    try {
      const env = { DATABASE_URL: database.url, PUBLIC_URL, TRUST_PROXY: '127.0.0.1' };
      started.push(await startServer({ name: 'A', env }));
      started.push(await startServer({ name: 'B', env }));
      adminDatabase = openDatabase(database.url);
      const admin = await createTestApp(adminDatabase);
      setup = { a: started[0]!, b: started[1]!, admin, adminDatabase, drop: () => database.drop() };
    } catch (error) {
      await Promise.all(started.map((instance) => instance.stop()));
      await adminDatabase?.close();
      await database.drop();
      throw error;
    }
  }, 90_000);

  afterAll(async () => {
    if (!setup) return;
    await Promise.all([setup.a.stop(), setup.b.stop(), setup.admin.close()]);
    await setup.adminDatabase.close();
    await setup.drop();
  }, 30_000);

  it('all 5 tokens → R-INVALID on A and B right after disable and after delete; re-enable restores only the unrevoked, unexpired', async (context) => {
    if (!setup) return context.skip('PostgreSQL is not available');
    const { a, b, admin } = setup;
    await runScenario({
      doors: [httpDoor(a), httpDoor(b)],
      admin,
      dialect: 'postgres',
      async mint(session, name) {
        // Through instance A's console API, with the session the admin app started.
        const response = await fetch(`${a.base}/api/v1/tokens`, {
          method: 'POST',
          headers: { cookie: session.cookie, 'x-csrf-token': session.csrfToken, origin: PUBLIC_URL, 'content-type': 'application/json' },
          body: JSON.stringify({ name }),
        });
        const body = await response.text();
        expect(response.status, body).toBe(201);
        const created = JSON.parse(body) as { token: { id: string }; secret: string };
        return { id: created.token.id, secret: created.secret };
      },
    });
  }, 60_000);
});

// docs/security.md, item 33
describeEachBackend('disabling or deleting an account refuses all its tokens (one instance)', (backend) => {
  it('all 5 tokens → R-INVALID right after disable and after delete; re-enable restores only the unrevoked, unexpired', async () => {
    const app = await createTestApp(backend.database);
    try {
      await runScenario({
        doors: [injectDoor(app, 'app')],
        admin: app,
        dialect: backend.dialect,
        async mint(session, name) {
          const { token, secret } = await app.createToken(session, name);
          return { id: token.id, secret };
        },
      });
    } finally {
      await app.close();
    }
  });
});
