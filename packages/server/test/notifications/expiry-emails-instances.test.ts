/**
 * docs/security.md, item 52, with the real binary: two instances on one PostgreSQL, stopped and
 * started again between expiry thresholds with their clocks moved forward
 * (LATCHKEY_TEST_CLOCK_OFFSET_MS), send exactly one email per threshold per token to a real
 * SMTP server on loopback — counted as they arrive — and none with a secret in it. A restart
 * within a threshold sends nothing again.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { EXPIRY_SCAN_INTERVAL_MS, EXPIRY_SCAN_KIND } from '../../src/jobs/expiry-scan.js';
import type { ServerProcess } from '../support/server-process.mjs';
import { serverBinary } from '../support/server-process.mjs';
import { serversOnPostgres } from '../support/servers-on-postgres.js';
import { startSmtpServer, type TestSmtpServer } from '../support/smtp-server.js';
import { DAY_MS, expectNoSecret, MAIL_FROM } from './support.js';

const PUBLIC_URL = 'http://latchkey.localhost';
const HOUR_MS = 3_600_000;
/** Each token expires this long after the test starts; the stages move the clocks toward it. */
const EXPIRES_IN_MS = 40 * DAY_MS;
const STAGES = [
  { threshold: '30d', subject: 'expires in 30 days', offsetMs: EXPIRES_IN_MS - 30 * DAY_MS + HOUR_MS },
  { threshold: '7d', subject: 'expires in 7 days', offsetMs: EXPIRES_IN_MS - 7 * DAY_MS + HOUR_MS },
  { threshold: '1d', subject: 'expires tomorrow', offsetMs: EXPIRES_IN_MS - DAY_MS + HOUR_MS },
  { threshold: '0d', subject: 'has expired', offsetMs: EXPIRES_IN_MS + HOUR_MS },
] as const;

let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(() => smtp?.close());

/** Generous: the machine may be busy. */
const WAIT = { timeout: 60_000, interval: 100 };

const ready = serversOnPostgres(async ({ url, db, start }) => {
  // The SMTP server started first (this file's beforeAll is registered before serversOnPostgres's).
  const env = { DATABASE_URL: url, PUBLIC_URL, MAIL_FROM, SMTP_URL: smtp.url };
  const migrated = spawnSync(process.execPath, [serverBinary, 'migrate'], { env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
  if (migrated.status !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);
  const now = Date.now();
  const accountId = randomUUID();
  const email = `${accountId}@example.test`;
  await db.query('insert into accounts (id, email, name, is_admin, created_at) values ($1, $2, $3, 0, $4)', [accountId, email, 'Owner', now - 10 * DAY_MS]);
  const tokens: Array<{ id: string; name: string }> = [];
  for (const name of ['deploy', 'backup', 'metrics']) {
    const id = randomUUID();
    await db.query(
      `insert into tokens (id, account_id, name, note, scopes, digest, last4, created_at, expires_at)
       values ($1, $2, $3, $4, 'namespaces:read', $5, 'abcd', $6, $7)`,
      [id, accountId, name, `the ${name} job`, randomBytes(32), now - DAY_MS, now + EXPIRES_IN_MS],
    );
    tokens.push({ id, name });
  }
  return { db, env, start, tokens, email };
});

it('two instances restarted between thresholds send exactly one email per threshold per token', async (context) => {
  const { db, env, start, tokens, email } = ready(context);
  let running: ServerProcess[] = [];
  const startBoth = async (offsetMs: number, label: string) => {
    const stageEnv = { ...env, LATCHKEY_TEST_CLOCK_OFFSET_MS: String(offsetMs) };
    running = await Promise.all([start({ name: `A ${label}`, env: stageEnv }), start({ name: `B ${label}`, env: stageEnv })]);
  };
  const stopAll = async () => {
    await Promise.all(running.map((instance) => instance.stop()));
    running = [];
  };
  /** Every scan job enqueued so far has run and no email job is left to do. */
  const settled = async () => {
    const { rows } = await db.query<{ pending: string }>(
      `select count(*) as pending from jobs where state in ('pending', 'running') and (kind in ('event', 'notify.email', 'tokens.expiry-scan'))`,
    );
    return Number(rows[0]!.pending) === 0;
  };

  try {
    for (const [index, stage] of STAGES.entries()) {
      await startBoth(stage.offsetMs, stage.threshold);
      const expected = tokens.length * (index + 1);
      await vi.waitFor(() => expect(smtp.received.length).toBeGreaterThanOrEqual(expected), WAIT);
      await vi.waitFor(async () => expect(await settled()).toBe(true), WAIT);
      // A restart within the threshold, a scan slot later (that slot's scan runs at start), sends nothing again.
      await stopAll();
      const later = stage.offsetMs + EXPIRY_SCAN_INTERVAL_MS + 60_000;
      await startBoth(later, `${stage.threshold} again`);
      await vi.waitFor(async () => {
        const { rows } = await db.query<{ done: string }>(
          `select count(*) as done from jobs where kind = $1 and state = 'done' and dedupe_key = $2`,
          [EXPIRY_SCAN_KIND, `schedule:${EXPIRY_SCAN_KIND}:${Math.floor((Date.now() + later) / EXPIRY_SCAN_INTERVAL_MS) * EXPIRY_SCAN_INTERVAL_MS}`],
        );
        expect(Number(rows[0]!.done)).toBeGreaterThanOrEqual(1);
      }, WAIT);
      await vi.waitFor(async () => expect(await settled()).toBe(true), WAIT);
      await stopAll();
      expect(smtp.received).toHaveLength(expected);
    }
  } finally {
    await stopAll();
  }

  const perTokenAndThreshold = new Map<string, number>();
  for (const received of smtp.received) {
    expect(received.to).toEqual([email]);
    expectNoSecret(received, []);
    const token = tokens.find((candidate) => received.parsed.subject?.includes(`"${candidate.name}"`));
    const stage = STAGES.find((candidate) => received.parsed.subject?.endsWith(candidate.subject));
    expect(token && stage, received.parsed.subject).toBeTruthy();
    expect(received.parsed.text).toContain(`${PUBLIC_URL}/settings/tokens/${token!.id}`);
    const key = `${token!.name} ${stage!.threshold}`;
    perTokenAndThreshold.set(key, (perTokenAndThreshold.get(key) ?? 0) + 1);
  }
  expect(Object.fromEntries(perTokenAndThreshold)).toEqual(
    Object.fromEntries(tokens.flatMap((token) => STAGES.map((stage) => [`${token.name} ${stage.threshold}`, 1]))),
  );
  // Figures for the notes: emails per threshold with two instances.
  const sentAt = (threshold: string) =>
    [...perTokenAndThreshold].filter(([key]) => key.split(' ')[1] === threshold).reduce((sum, [, count]) => sum + count, 0);
  console.info(`item 52: ${STAGES.map((stage) => `${stage.threshold}: ${tokens.length} tokens, ${sentAt(stage.threshold)} emails`).join('; ')}`);
}, 300_000);
