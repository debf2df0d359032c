/**
 * docs/security.md, item 59: a leaked-token report stays pending while PostgreSQL is down and is
 * processed once it is back, however many attempts fail in between (there is no give-up).
 *
 * On a PostgreSQL cluster the test owns: instance N runs normally; instance H holds reports
 * (LATCHKEY_TEST_FAULT=hold-credential-reports) and takes the report, so it is stored but not
 * processed, while N is paused (SIGSTOP: the report's NOTIFY would wake it). The cluster is
 * stopped right after the 202, N resumes, and the cluster is kept down until
 * N has logged more than three failed attempts; started again, N revokes the token and its owner
 * has exactly one notice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, issueSignInPath, signIn } from '../scale/support.js';
import { PUBLIC_URL, describeOutcome, isInvalidToken, send, sleep, useSecret } from '../faults/support.js';
import { ensureServerBuilt, startServer, type ServerProcess } from '../support/server-process.mjs';
import { createOwnedCluster, skipUnlessOwnedClusters, type OwnedCluster } from './owned-cluster.js';
import pg from 'pg';

const FAILURE_LINE = /processing a credential report failed; it stays pending/g;
/** More than the three retries the worker used to give up after. */
const FAILURES_WHILE_DOWN = 4;

let cluster: OwnedCluster | undefined;
let skipReason: string | undefined;
const started: ServerProcess[] = [];

beforeAll(async () => {
  skipReason = skipUnlessOwnedClusters();
  if (skipReason) return;
  ensureServerBuilt();
  cluster = await createOwnedCluster();
}, 90_000);

afterAll(async () => {
  await Promise.all(started.map((instance) => instance.stop()));
  cluster?.drop();
}, 60_000);

async function pendingReports(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return Number((await client.query('select count(*)::int as n from pending_credential_reports')).rows[0].n);
  } finally {
    await client.end();
  }
}

// docs/security.md, item 59
describe('a leaked-token report while PostgreSQL is down [owned cluster]', () => {
  it('stays pending through more than three failed attempts and is processed once the database is back', async (context) => {
    if (skipReason || !cluster) return context.skip(skipReason);
    const env = { DATABASE_URL: cluster.url, PUBLIC_URL, TRUST_PROXY: '127.0.0.1' };
    const worker = await startServer({ name: 'N', env });
    started.push(worker);
    const holder = await startServer({ name: 'H (holds reports)', env: { ...env, LATCHKEY_TEST_FAULT: 'hold-credential-reports' } });
    started.push(holder);
    const session = await signIn(worker.base, worker.signInPath ?? issueSignInPath(env));
    const leaked = await createToken(worker.base, session, PUBLIC_URL, 'leaked-during-outage');

    // N is paused while the report is stored and the cluster stops: its INSERT notifies every
    // instance (PostgreSQL NOTIFY), and N, awake, would process it before the outage.
    process.kill(worker.child.pid!, 'SIGSTOP');
    const answer = await send(`${holder.base}/api/v1/credentials/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ credentials: [leaked.secret] }),
    });
    expect(answer.kind === 'answer' && answer.status, describeOutcome(answer)).toBe(202);
    expect(await pendingReports(cluster.url)).toBe(1);
    cluster.stop('fast');
    process.kill(worker.child.pid!, 'SIGCONT');

    // Down until N has failed more often than any fixed retry count would allow.
    const failuresBefore = (worker.output().match(FAILURE_LINE) ?? []).length;
    const downDeadline = Date.now() + 120_000;
    let failures = 0;
    do {
      await sleep(500);
      failures = (worker.output().match(FAILURE_LINE) ?? []).length - failuresBefore;
    } while (failures < FAILURES_WHILE_DOWN && Date.now() < downDeadline);
    expect(failures, worker.output().slice(-2000)).toBeGreaterThanOrEqual(FAILURES_WHILE_DOWN);
    expect(worker.child.exitCode).toBeNull();

    await cluster.start();
    const deadline = Date.now() + 60_000;
    let last = await useSecret(worker.base, leaked.secret);
    while (!isInvalidToken(last) && Date.now() < deadline) {
      await sleep(250);
      last = await useSecret(worker.base, leaked.secret);
    }
    expect(isInvalidToken(last), `the reported token is still accepted: ${describeOutcome(last)}`).toBe(true);
    const notices = await fetch(`${worker.base}/api/v1/notices`, { headers: { cookie: session.cookie } });
    expect(((await notices.json()) as { notices: Array<{ kind: string }> }).notices.filter((notice) => notice.kind === 'tokens_reported')).toHaveLength(1);
    expect(await pendingReports(cluster.url)).toBe(0);
    context.annotate(`${failures} failed attempts while the database was down`);
  }, 240_000);
});
