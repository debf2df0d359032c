/**
 * The job runner in the real binary, two instances on one PostgreSQL (issue 15, item 4: nothing
 * run twice, nothing lost across a kill -9). Tokens near expiry are in the database before the
 * instances start; a job is left "running" under the lease of an instance that was killed. Both
 * instances start at once: the start-up expiry scan runs once for the slot, each token's
 * threshold becomes one event claimed once (attempts = 1), and the dead instance's job is
 * reclaimed after its lease. Then one instance is killed with SIGKILL and started again: nothing
 * is enqueued or run a second time.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { serverBinary } from '../support/server-process.mjs';
import { serversOnPostgres } from '../support/servers-on-postgres.js';

const PUBLIC_URL = 'http://latchkey.localhost';
const DAY = 86_400_000;

interface JobRow {
  kind: string;
  dedupe_key: string | null;
  state: string;
  attempts: number;
  locked_by: string | null;
}

/** Polls `read` until `done` holds for what it answers (generously: the machine may be busy). */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > until) throw new Error(`condition not met in time; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const ready = serversOnPostgres(async ({ url, db, start }) => {
  const env = { DATABASE_URL: url, PUBLIC_URL };
  // The schema first (the binary's own migrate), so the tokens exist before any instance scans.
  const migrated = spawnSync(process.execPath, [serverBinary, 'migrate'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
  if (migrated.status !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);

  const now = Date.now();
  const accountId = randomUUID();
  await db.query('insert into accounts (id, email, name, is_admin, created_at) values ($1, $2, $3, 0, $4)', [
    accountId,
    `${accountId}@example.test`,
    'Expiring',
    now - 200 * DAY,
  ]);
  const tokens = { sixDays: randomUUID(), twelveHours: randomUUID(), expiredHourAgo: randomUUID(), farAway: randomUUID() };
  const expiries = { sixDays: now + 6 * DAY, twelveHours: now + DAY / 2, expiredHourAgo: now - DAY / 24, farAway: now + 90 * DAY };
  for (const [name, id] of Object.entries(tokens)) {
    await db.query(
      `insert into tokens (id, account_id, name, scopes, digest, last4, created_at, expires_at)
       values ($1, $2, $3, 'namespaces:read', $4, 'abcd', $5, $6)`,
      [id, accountId, name, randomBytes(32), now - 100 * DAY, expiries[name as keyof typeof expiries]],
    );
  }
  // What a kill -9 mid-job leaves: a running job whose instance will never complete it.
  const orphan = randomUUID();
  await db.query(
    `insert into jobs (id, kind, payload, dedupe_key, state, run_at, attempts, locked_by, locked_until, created_at)
     values ($1, 'event', $2, $3, 'running', $4, 1, 'killed-instance', $5, $4)`,
    [
      orphan,
      JSON.stringify({ event: 'token.revoked', key: `audit:${orphan}`, occurredAt: now, tokenId: tokens.farAway }),
      `audit:${orphan}`,
      now - 60_000,
      now + 3_000,
    ],
  );

  const [a, b] = await Promise.all([start({ name: 'A', env }), start({ name: 'B', env })]);
  return { db, env, start, tokens, orphan, a, b };
});

it('two instances run each expiry event once, reclaim a killed instance’s job, and repeat nothing after a kill -9 and restart', async (context) => {
  const { db, env, start, tokens, orphan, a } = ready(context);
  const rows = async () => (await db.query<JobRow>('select kind, dedupe_key, state, attempts, locked_by from jobs')).rows;
  const expiryKeys = [`token-expiring:${tokens.sixDays}:7d`, `token-expiring:${tokens.twelveHours}:1d`, `token-expiring:${tokens.expiredHourAgo}:0d`];

  const settled = await waitFor(rows, (jobs) => {
    const byKey = new Map(jobs.map((job) => [job.dedupe_key, job]));
    return [...expiryKeys, `audit:${orphan}`].every((key) => byKey.get(key)?.state === 'done');
  });
  const expiryEvents = settled.filter((job) => job.dedupe_key?.startsWith('token-expiring:'));
  expect(expiryEvents.map((job) => job.dedupe_key).sort()).toEqual([...expiryKeys].sort());
  // Claimed once each: a second claim (two instances running one job) would count 2.
  for (const job of expiryEvents) expect(job.attempts).toBe(1);
  const reclaimed = settled.find((job) => job.dedupe_key === `audit:${orphan}`)!;
  expect(reclaimed.attempts).toBe(2);
  expect(reclaimed.locked_by).toBeNull();
  const scans = settled.filter((job) => job.kind === 'tokens.expiry-scan');
  expect(scans.length).toBeGreaterThanOrEqual(1);
  expect(new Set(scans.map((job) => job.dedupe_key)).size).toBe(scans.length);

  await a.kill('SIGKILL');
  await start({ name: 'A (restarted)', env });
  // A job enqueued after the restart is run: the instances are past their start-up passes.
  const probe = randomUUID();
  await db.query(
    `insert into jobs (id, kind, payload, dedupe_key, state, run_at, attempts, created_at) values ($1, 'event', $2, $3, 'pending', $4, 0, $4)`,
    [probe, JSON.stringify({ event: 'token.created', key: `audit:${probe}`, occurredAt: Date.now(), tokenId: tokens.farAway }), `audit:${probe}`, Date.now()],
  );
  const after = await waitFor(rows, (jobs) => jobs.some((job) => job.dedupe_key === `audit:${probe}` && job.state === 'done'));
  const again = after.filter((job) => job.dedupe_key?.startsWith('token-expiring:'));
  expect(again.map((job) => [job.dedupe_key, job.state, job.attempts]).sort()).toEqual(
    expiryEvents.map((job) => [job.dedupe_key, 'done', 1]).sort(),
  );
  expect(after.filter((job) => job.state === 'failed')).toEqual([]);
}, 120_000);
