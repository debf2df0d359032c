/**
 * docs/security.md, item 15: a crash between a revoke's commit and its answer. Instance A runs with
 * LATCHKEY_TEST_FAULT=exit-after-revoke-commit, which exits the process right after the revoke
 * transaction commits and before the 204 is written; B is a normal instance on the same
 * throw-away PostgreSQL database.
 *
 * Nothing lost: the client sees a connection error, not an answer; within 1 s the token is
 * refused on B; a retried `DELETE /tokens/:id` → R-404, a retried `DELETE /tokens/self` →
 * R-INVALID, on B and on A once it is back.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { createToken, issueSignInPath, signIn, type Session } from '../scale/support.js';
import type { ServerProcess } from '../support/server-process.mjs';
import { serversOnPostgres, type ServersOnPostgres } from '../support/servers-on-postgres.js';
import {
  PUBLIC_URL,
  describeOutcome,
  expectInvalidToken,
  isInvalidToken,
  revokeByIdRequest,
  revokeSelfRequest,
  useSecret,
  type Outcome,
} from './support.js';

/** main.ts's exit code for an injected fault: tells the crash from any other exit. */
const TEST_FAULT_EXIT_CODE = 86;

interface Setup extends ServersOnPostgres {
  env: Record<string, string>;
  a: ServerProcess;
  b: ServerProcess;
  session: Session;
}

const ready = serversOnPostgres<Setup>(async (servers) => {
  const env = { DATABASE_URL: servers.url, PUBLIC_URL, TRUST_PROXY: '127.0.0.1' };
  const b = await servers.start({ name: 'B', env });
  const a = await servers.start({ name: 'A (fault)', env: { ...env, LATCHKEY_TEST_FAULT: 'exit-after-revoke-commit' } });
  const session = await signIn(b.base, b.signInPath ?? issueSignInPath(env));
  return { ...servers, env, a, b, session };
});

/** Waits for A to die of the injected fault; returns its exit code. */
async function exitCodeOf(instance: ServerProcess): Promise<number | null> {
  return (await instance.exited).code;
}

/**
 * B's answer to the first use of the secret after A's connection error. The revoke committed
 * before A died and nothing on PostgreSQL caches a verified token, so that very first request
 * must be refused: exact, and no timing involved, so a slow machine cannot fail it.
 */
async function firstUseAfterTheCrash(base: string, secret: string): Promise<Outcome> {
  return useSecret(base, secret);
}

function restartA(setup: Setup): Promise<ServerProcess> {
  return setup.start({ name: 'A (fault, restarted)', env: { ...setup.env, LATCHKEY_TEST_FAULT: 'exit-after-revoke-commit' } });
}

// docs/security.md, item 15
describe('a revoke whose instance crashes between commit and answer stays revoked [postgres, 2 instances]', () => {
  it('DELETE /tokens/:id: connection error, refused on B at once, the retry → R-404 on B and on A', async (context) => {
    const s = ready(context);
    const token = await createToken(s.b.base, s.session, PUBLIC_URL, 'crash-by-id');
    expect((await useSecret(s.a.base, token.secret)).kind === 'answer').toBe(true);
    expect((await useSecret(s.b.base, token.secret)) as { status?: number }).toMatchObject({ status: 200 });

    const revoke = await revokeByIdRequest(s.a.base, s.session, token.id);
    expect(revoke.kind, `the client must see a connection error, got ${describeOutcome(revoke)}`).toBe('no-answer');
    const onB = await firstUseAfterTheCrash(s.b.base, token.secret);
    expect(isInvalidToken(onB), `still accepted on B: ${describeOutcome(onB)}`).toBe(true);
    expect(await exitCodeOf(s.a)).toBe(TEST_FAULT_EXIT_CODE);
    expect(s.a.output()).toContain('test fault: exiting after the revoke committed');

    // The commit is durable: the row carries its revocation and its audit event.
    const row = await s.db.query('select revoked_at from tokens where id = $1', [token.id]);
    expect(row.rows[0]?.revoked_at).not.toBeNull();
    const audit = await s.db.query("select count(*)::int as n from audit_events where action = 'token.revoked' and target_id = $1", [token.id]);
    expect(audit.rows[0].n).toBe(1);

    const retryOnB = await revokeByIdRequest(s.b.base, s.session, token.id);
    expect(retryOnB.kind === 'answer' && retryOnB.status, describeOutcome(retryOnB)).toBe(404);
    expect(JSON.parse((retryOnB as { body: string }).body)).toMatchObject({ type: '/docs/errors/not-found', status: 404 });

    s.a = await restartA(s);
    const retryOnA = await revokeByIdRequest(s.a.base, s.session, token.id);
    expect(retryOnA.kind === 'answer' && retryOnA.status, describeOutcome(retryOnA)).toBe(404);
    expectInvalidToken(await useSecret(s.a.base, token.secret), 'the revoked token on the restarted A');
    expect(s.a.child.exitCode).toBeNull();
  }, 60_000);

  it('DELETE /tokens/self: connection error, refused on B at once, the retry → R-INVALID on B and on A', async (context) => {
    const s = ready(context);
    if (s.a.child.exitCode !== null || s.a.child.signalCode !== null) s.a = await restartA(s);
    const token = await createToken(s.b.base, s.session, PUBLIC_URL, 'crash-self');
    expect((await useSecret(s.a.base, token.secret)) as { status?: number }).toMatchObject({ status: 200 });

    const revoke = await revokeSelfRequest(s.a.base, token.secret);
    expect(revoke.kind, `the client must see a connection error, got ${describeOutcome(revoke)}`).toBe('no-answer');
    const onB = await firstUseAfterTheCrash(s.b.base, token.secret);
    expect(isInvalidToken(onB), `still accepted on B: ${describeOutcome(onB)}`).toBe(true);
    expect(await exitCodeOf(s.a)).toBe(TEST_FAULT_EXIT_CODE);

    const row = await s.db.query('select revoked_at from tokens where id = $1', [token.id]);
    expect(row.rows[0]?.revoked_at).not.toBeNull();

    expectInvalidToken(await revokeSelfRequest(s.b.base, token.secret), 'the retried DELETE /tokens/self on B');
    s.a = await restartA(s);
    expectInvalidToken(await revokeSelfRequest(s.a.base, token.secret), 'the retried DELETE /tokens/self on the restarted A');
    expect(s.a.child.exitCode).toBeNull();
  }, 60_000);
});
