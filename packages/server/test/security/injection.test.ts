/**
 * docs/security.md, item 41: SQL injection, on both backends. A metacharacter corpus goes in as
 * token names, as `?search=` values and as path ids. Names come back byte-exact; `%`, `_` and
 * `\` in a search mean themselves; the schema and the table count are the same afterwards.
 * The static half of the item (no string-built SQL anywhere) is scripts/static-checks.test.ts.
 */
import { sql } from 'kysely';
import { expect, it } from 'vitest';
import { signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend, type BackendContext } from '../support/databases.js';
import { expectResponseCode } from '../support/protected-route.js';

/** Quotes, comments, stacked statements, LIKE wildcards, escapes and NUL-free unicode. */
const CORPUS = [
  "'",
  "''",
  '";--',
  "') OR 1=1--",
  "' OR '1'='1",
  "1'; DROP TABLE tokens;--",
  "x'); DELETE FROM accounts;--",
  "\"; UPDATE tokens SET revoked_at = NULL; --",
  '%',
  '_',
  '%_%',
  '100% done',
  'a_b',
  '\\',
  '\\%',
  "\\'; select pg_sleep(1); --",
  '/* comment */ name',
  '$1 $$ $tag$ body $tag$',
  '`backtick`',
  "Robert'); DROP TABLE students;--",
  'naïve café Ωmega 東京 🚀 emoji',
  'ǅemo İstanbul ß ﬁ',
  'x\' UNION SELECT digest FROM tokens --',
  '*',
  '?',
  ':name @p0',
];

async function schemaSnapshot(ctx: BackendContext): Promise<unknown[]> {
  return ctx.dialect === 'sqlite'
    ? ctx.exec(sql`select type, name, tbl_name, sql from sqlite_master order by type, name`)
    : ctx.exec(sql`
        select c.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default
        from information_schema.columns c
        where c.table_schema = 'public'
        order by c.table_name, c.ordinal_position`);
}

async function tableCount(ctx: BackendContext): Promise<number> {
  const rows = (ctx.dialect === 'sqlite'
    ? await ctx.exec(sql`select count(*) as n from sqlite_master where type = 'table'`)
    : await ctx.exec(sql`select count(*) as n from information_schema.tables where table_schema = 'public'`)) as Array<{ n: number | string | bigint }>;
  return Number(rows[0]!.n);
}

// docs/security.md, item 41
describeEachBackend('SQL metacharacters in names, searches and ids are data, never SQL', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  signedInAppForEachTest(ctx, (fresh) => ({ app, session } = fresh));

  const list = async (query = '') => {
    const response = await app.http.inject({ url: `/api/v1/tokens${query}`, headers: { cookie: session.cookie } });
    expect(response.statusCode, response.body).toBe(200);
    return (response.json() as { tokens: Array<{ id: string; name: string }> }).tokens;
  };

  it('names, search values and path ids from the corpus: byte-exact round trip, literal search, schema untouched', async () => {
    const schemaBefore = await schemaSnapshot(ctx);
    const tablesBefore = await tableCount(ctx);
    expect(tablesBefore).toBeGreaterThan(5);
    const bystander = await app.signIn();
    const bystanderToken = await app.createToken(bystander, 'bystander');

    // Names: created through the API, read back from the list and one by one, byte for byte.
    const ids = new Map<string, string>();
    for (const name of CORPUS) {
      const created = await app.createToken(session, name);
      expect(created.token.name).toBe(name);
      ids.set(name, created.token.id);
    }
    const listed = await list();
    expect(listed.map((t) => t.name).sort()).toEqual([...CORPUS].sort());
    for (const [name, id] of ids) {
      const one = await app.http.inject({ url: `/api/v1/tokens/${id}`, headers: { cookie: session.cookie } });
      expect(Buffer.from((one.json() as { name: string }).name)).toEqual(Buffer.from(name));
    }
    // The database holds the same bytes (not an escaped or truncated form).
    const stored = (await ctx.exec(sql`select name from tokens where account_id = ${session.account.id}`)) as Array<{ name: string }>;
    expect(stored.map((row) => row.name).sort()).toEqual([...CORPUS].sort());

    // Search: every corpus value is a literal substring match, wildcards included.
    for (const needle of CORPUS) {
      const found = (await list(`?search=${encodeURIComponent(needle)}`)).map((t) => t.name).sort();
      const expected = CORPUS.filter((name) => name.toLowerCase().includes(needle.toLowerCase())).sort();
      expect(found, `search ${JSON.stringify(needle)}`).toEqual(expected);
    }
    const percent = (await list('?search=%25')).map((t) => t.name);
    expect(percent.length).toBeGreaterThan(0);
    expect(percent.every((name) => name.includes('%'))).toBe(true);
    const underscore = (await list('?search=_')).map((t) => t.name);
    expect(underscore.every((name) => name.includes('_'))).toBe(true);
    expect(underscore.length).toBeLessThan(CORPUS.length);

    // Path ids: every corpus value is just an unknown id (the same 404), and changes nothing.
    const notFound = await app.http.inject({ url: `/api/v1/tokens/${encodeURIComponent('no-such-id')}`, headers: { cookie: session.cookie } });
    expectResponseCode(notFound, 'R-404');
    for (const value of CORPUS) {
      const path = `/api/v1/tokens/${encodeURIComponent(value)}`;
      const read = await app.http.inject({ url: path, headers: { cookie: session.cookie } });
      const revoke = await app.http.inject({ method: 'DELETE', url: path, headers: session.headers });
      for (const response of [read, revoke]) {
        // An id that is a route of its own (`self`-like values) is not in the corpus; all are 404.
        expectResponseCode(response, 'R-404');
        expect(response.body).toBe(notFound.body);
      }
    }
    // Metacharacters in the state filter are refused by validation, not run.
    for (const value of ["active' OR 1=1--", '%', 'all;--']) {
      const response = await app.http.inject({ url: `/api/v1/tokens?state=${encodeURIComponent(value)}`, headers: { cookie: session.cookie } });
      expect(response.statusCode).toBe(422);
    }

    // Nothing else moved: all tokens still active, the bystander untouched, same schema.
    expect((await list()).length).toBe(CORPUS.length);
    expect((await app.http.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${bystanderToken.secret}` } })).statusCode).toBe(200);
    const counts = (await ctx.exec(sql`select count(*) as n from tokens where revoked_at is null`)) as Array<{ n: number | string }>;
    expect(Number(counts[0]!.n)).toBe(CORPUS.length + 1);
    expect(await tableCount(ctx)).toBe(tablesBefore);
    expect(await schemaSnapshot(ctx)).toEqual(schemaBefore);
  });
});
