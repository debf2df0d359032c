/**
 * docs/security.md, item 59: a leaked-token report answered 202 is processed even if the process
 * is killed right after the 202. The instance that takes the report runs with
 * LATCHKEY_TEST_FAULT=hold-credential-reports (it stores reports and answers 202 but never
 * processes them, as a process killed right after its 202 would), and is then killed with
 * SIGKILL. Restarted without the fault, the reported tokens are revoked and their owner has
 * exactly one notice; on SQLite and on PostgreSQL. On PostgreSQL, two instances started together
 * on many pending reports that list every token twice revoke each token once, with one audit
 * event and one notice entry each.
 */
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { createToken, issueSignInPath, signIn, type Session } from '../scale/support.js';
import { startServer, type ServerProcess } from '../support/server-process.mjs';
import { serversOnPostgres } from '../support/servers-on-postgres.js';
import { PUBLIC_URL, describeOutcome, isInvalidToken, send, serversInTempDir, sleep, useSecret } from './support.js';

const TOKEN_IN_TEXT = /lk_pat_1[0-9A-Za-z]{49}/;
const HOLD = { LATCHKEY_TEST_FAULT: 'hold-credential-reports' };
const PROCESSED_WITHIN_MS = 30_000;

interface Backend {
  /** Rows of a query on the server's database (SQLite `?` / PostgreSQL `$1` placeholders as given). */
  query(sqlite: string, postgres: string, parameters?: unknown[]): Promise<Array<Record<string, unknown>>>;
}

function report(base: string, credentials: string[]) {
  return send(`${base}/api/v1/credentials/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ credentials }),
  });
}

async function reportedNotices(base: string, session: Session): Promise<Array<{ kind: string; tokens: Array<{ id: string }> }>> {
  const response = await fetch(`${base}/api/v1/notices`, { headers: { cookie: session.cookie } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { notices: Array<{ kind: string; tokens: Array<{ id: string }> }> }).notices.filter(
    (notice) => notice.kind === 'tokens_reported',
  );
}

/** Polls until every secret is refused on `base`; fails with the last answer after the deadline. */
async function expectAllRefusedEventually(base: string, secrets: string[]): Promise<void> {
  const deadline = Date.now() + PROCESSED_WITHIN_MS;
  for (const secret of secrets) {
    let last = await useSecret(base, secret);
    while (!isInvalidToken(last) && Date.now() < deadline) {
      await sleep(100);
      last = await useSecret(base, secret);
    }
    expect(isInvalidToken(last), `a reported token is still accepted: ${describeOutcome(last)}`).toBe(true);
  }
}

async function pendingCount(backend: Backend): Promise<number> {
  const [row] = await backend.query('select count(*) as n from pending_credential_reports', 'select count(*)::int as n from pending_credential_reports');
  return Number(row!.n);
}

/**
 * The scenario on one backend: `startInstance(held)` starts the server (with the hold fault or
 * without); returns what the instance printed, for the checks.
 */
async function killAfter202ThenRestart(
  backend: Backend,
  startInstance: (name: string, held: boolean) => Promise<ServerProcess>,
  signInFor: (instance: ServerProcess) => Promise<Session>,
): Promise<void> {
  const held = await startInstance('A (holds reports)', true);
  const session = await signInFor(held);
  const leaked = [await createToken(held.base, session, PUBLIC_URL, 'leaked-1'), await createToken(held.base, session, PUBLIC_URL, 'leaked-2')];
  const kept = await createToken(held.base, session, PUBLIC_URL, 'kept');

  const answer = await report(held.base, [...leaked.map((token) => token.secret), 'not a token', leaked[0]!.secret]);
  expect(answer.kind === 'answer' && answer.status, describeOutcome(answer)).toBe(202);
  // Stored before the 202, digests only: nothing token-shaped in the row.
  const rows = await backend.query('select * from pending_credential_reports', 'select * from pending_credential_reports');
  expect(rows).toHaveLength(1);
  const stored = Buffer.from(rows[0]!.digests as Buffer);
  expect(stored.length).toBe(2 * 32);
  expect(`${JSON.stringify(rows)} ${stored.toString('latin1')}`).not.toMatch(TOKEN_IN_TEXT);
  // Held: not processed.
  expect((await useSecret(held.base, leaked[0]!.secret)) as { status?: number }).toMatchObject({ status: 200 });

  await held.kill('SIGKILL');
  expect((await held.exited).signal).toBe('SIGKILL');

  const restarted = await startInstance('A (restarted)', false);
  await expectAllRefusedEventually(restarted.base, leaked.map((token) => token.secret));
  expect((await useSecret(restarted.base, kept.secret)) as { status?: number }).toMatchObject({ status: 200 });

  const notices = await reportedNotices(restarted.base, session);
  expect(notices).toHaveLength(1);
  expect(notices[0]!.tokens.map((token) => token.id).sort()).toEqual(leaked.map((token) => token.id).sort());
  for (const token of leaked) {
    const [row] = await backend.query(
      "select count(*) as n from audit_events where action = 'token.revoked' and target_id = ?",
      "select count(*)::int as n from audit_events where action = 'token.revoked' and target_id = $1",
      [token.id],
    );
    expect(Number(row!.n), `audit events for ${token.id}`).toBe(1);
  }
  expect(await pendingCount(backend)).toBe(0);
  expect(restarted.output()).not.toMatch(TOKEN_IN_TEXT);

  // Another restart processes nothing twice.
  await restarted.stop();
  const again = await startInstance('A (restarted again)', false);
  await sleep(500);
  expect(await reportedNotices(again.base, session)).toHaveLength(1);
  // Done: on a database shared with the next test, a running worker would take that test's
  // reports as they are stored (woken by their NOTIFY), before its holder is killed.
  await again.stop();
}

// docs/security.md, item 59
describe('a leaked-token report survives a kill -9 right after its 202 [sqlite]', () => {
  const suite = serversInTempDir('durable-reports');

  it('restarted, the server revokes the reported tokens; the owner has exactly one notice', async () => {
    const databasePath = join(suite.dir, 'latchkey.db');
    const env = { DATABASE_URL: `sqlite:${databasePath}`, PUBLIC_URL, TRUST_PROXY: '127.0.0.1' };
    const backend: Backend = {
      async query(text, _postgres, parameters = []) {
        const database = new SQLite(databasePath, { readonly: true, timeout: 5_000 });
        try {
          return database.prepare(text).all(...parameters) as Array<Record<string, unknown>>;
        } finally {
          database.close();
        }
      },
    };
    await killAfter202ThenRestart(
      backend,
      async (name, held) => {
        const instance = await startServer({ name, env: held ? { ...env, ...HOLD } : env });
        suite.started.push(instance);
        return instance;
      },
      (instance) => signIn(instance.base, instance.signInPath ?? issueSignInPath(env)),
    );
  }, 120_000);
});

interface PostgresSetup {
  env: Record<string, string>;
  start(options: Parameters<typeof startServer>[0]): Promise<ServerProcess>;
  backend: Backend;
}

const onPostgres = serversOnPostgres<PostgresSetup>(async (servers) => ({
  env: { DATABASE_URL: servers.url, PUBLIC_URL, TRUST_PROXY: '127.0.0.1' },
  start: servers.start,
  backend: {
    async query(_sqlite, text, parameters = []) {
      return (await servers.db.query(text, parameters)).rows as Array<Record<string, unknown>>;
    },
  },
}));

// docs/security.md, item 59
describe('a leaked-token report survives a kill -9 right after its 202 [postgres]', () => {
  it('restarted, the server revokes the reported tokens; the owner has exactly one notice', async (context) => {
    const s = onPostgres(context);
    await killAfter202ThenRestart(
      s.backend,
      (name, held) => s.start({ name, env: held ? { ...s.env, ...HOLD } : s.env }),
      async (instance) => signIn(instance.base, instance.signInPath ?? issueSignInPath(s.env)),
    );
  }, 120_000);

  it('two instances started together on the pending reports revoke each token once, with one audit event and one notice entry', async (context) => {
    const s = onPostgres(context);
    const held = await s.start({ name: 'holder', env: { ...s.env, ...HOLD } });
    const session = await signIn(held.base, issueSignInPath(s.env, 'owner-of-many@example.test'));
    const tokens = [];
    for (let index = 0; index < 12; index++) tokens.push(await createToken(held.base, session, PUBLIC_URL, `many-${index}`));
    // Every token in two reports, so the same token is in reports the two instances may hold at once.
    const REPORTS = 24;
    for (let index = 0; index < REPORTS; index++) {
      const answer = await report(held.base, [tokens[index % tokens.length]!.secret, tokens[(index + 5) % tokens.length]!.secret]);
      expect(answer.kind === 'answer' && answer.status).toBe(202);
    }
    expect(await pendingCount(s.backend)).toBe(REPORTS);
    await held.kill('SIGKILL');

    const [b, c] = await Promise.all([s.start({ name: 'B', env: s.env }), s.start({ name: 'C', env: s.env })]);
    await expectAllRefusedEventually(b.base, tokens.map((token) => token.secret));
    const deadline = Date.now() + PROCESSED_WITHIN_MS;
    while ((await pendingCount(s.backend)) > 0 && Date.now() < deadline) await sleep(100);
    expect(await pendingCount(s.backend)).toBe(0);

    const audits = await s.backend.query(
      '',
      "select target_id, count(*)::int as n from audit_events where action = 'token.revoked' and target_id = any($1) group by target_id",
      [tokens.map((token) => token.id)],
    );
    expect(audits.map((row) => [row.target_id, row.n]).sort()).toEqual(tokens.map((token) => [token.id, 1]).sort());
    const listed = (await reportedNotices(c.base, session)).flatMap((notice) => notice.tokens.map((token) => token.id));
    expect(listed.sort()).toEqual(tokens.map((token) => token.id).sort());
    const processedBy = [b, c].map((instance) => (instance.output().match(/reported tokens revoked/g) ?? []).length);
    context.annotate(`reports that revoked something, by instance: B ${processedBy[0]}, C ${processedBy[1]}`);
  }, 120_000);
});
