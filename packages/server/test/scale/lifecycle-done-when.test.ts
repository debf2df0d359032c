/**
 * Issue 15's "done when", walked the way a new user would, with real parts only: the built
 * `latchkey-server` pointed at a real SMTP server (SMTP_URL, MAIL_FROM) and allowed to reach a
 * webhook receiver on loopback (WEBHOOK_ALLOW_PRIVATE=true), the receiver verifying every
 * signature with `standardwebhooks`, and the built `latchkey` CLI rotating the token from CI
 * (LATCHKEY_TOKEN). The user signs in, subscribes a webhook to token.expiring and token.rotated,
 * creates a token expiring in 10 days; three days later (a restart with the clock moved) exactly
 * one 7-day email and one signed token.expiring webhook arrive, and a restart a scan slot later
 * sends neither again; CI regenerates the token with a one-hour overlap; the old secret's uses
 * are shown until the hour ends, after which it is refused as replaced.
 *
 * Expiry is decided by the database clock, which no test can move; the instance's clock can be
 * (LATCHKEY_TEST_CLOCK_OFFSET_MS). So the instances run with their clock an hour minus
 * GRACE_LEFT_MS behind the database's throughout (and days ahead of that to cross the 7-day
 * threshold): the rotation's hour then ends GRACE_LEFT_MS after it by the database clock, and
 * the test waits for that, as packages/server/test/http/token-rotation.test.ts does in-process.
 * The console half (Regenerate with "1 hour", "used 3 times since rotation") is
 * test/browser/token-rotation.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN_SHAPE, type CreateWebhookResponse, type TokenView, type WebhookDeliveryView } from '@latchkey/contract';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/database/open-database.js';
import type { Database } from '../../src/database/database.js';
import { EXPIRY_SCAN_INTERVAL_MS, EXPIRY_SCAN_KIND } from '../../src/jobs/expiry-scan.js';
import { expectNoSecret, MAIL_FROM } from '../notifications/support.js';
import { createTestPostgresDatabase, postgresAvailable } from '../support/databases.js';
import { expectResponseCode } from '../support/protected-route.js';
import { buildCli, ensureServerBuilt, freePort, runCli, startServer, type ServerProcess } from '../support/server-process.mjs';
import { startSmtpServer } from '../support/smtp-server.js';
import { startReceiver } from '../support/webhooks.js';
import { consoleHeaders, createToken, issueSignInPath, signIn, useToken, type Session } from './support.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const OWNER_EMAIL = 'ada@example.test';
const NOTE = 'GitHub Actions: deploy workflow of acme/web';
/**
 * How long after the rotation its one-hour grace ends by the database clock: the rotation, one
 * use of the new secret, three of the old one and reading the token back must fit in it, which
 * take a second or two even on a busy machine.
 */
const GRACE_LEFT_MS = 30_000;
/** Every instance's clock, relative to the database's, unless moved days ahead. */
const BASE_OFFSET_MS = -(HOUR_MS - GRACE_LEFT_MS);
/** Generous: the machine may be busy. Nothing here is timed. */
const WAIT = { timeout: 60_000, interval: 100 };

/** What arrived when, printed at the end (also when a step fails). */
function timeline(label: string) {
  const started = Date.now();
  const lines: string[] = [];
  return {
    note(text: string) {
      lines.push(`[${label}] +${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s  ${text}`);
    },
    print() {
      console.info(`issue 15, done when (${label}):\n${lines.join('\n')}`);
    },
  };
}

/**
 * The expiry scan of the slot the instance's clock is in has run (its dedupe key names the
 * slot; either side of a boundary crossed while it started), and no other job is left to do.
 */
async function scanRunAndJobsSettled(database: Database, offsetMs: number, slotsAtStart: number[]): Promise<boolean> {
  const slots = new Set([...slotsAtStart, Math.floor((Date.now() + offsetMs) / EXPIRY_SCAN_INTERVAL_MS) * EXPIRY_SCAN_INTERVAL_MS]);
  const scans = await database.kysely
    .selectFrom('jobs')
    .select('id')
    .where('kind', '=', EXPIRY_SCAN_KIND)
    .where('state', '=', 'done')
    .where('dedupe_key', 'in', [...slots].map((slot) => `schedule:${EXPIRY_SCAN_KIND}:${slot}`))
    .execute();
  const busy = await database.kysely
    .selectFrom('jobs')
    .select('id')
    .where('kind', '!=', EXPIRY_SCAN_KIND)
    .where('state', 'in', ['pending', 'running'])
    .execute();
  return scans.length > 0 && busy.length === 0;
}

async function walkTheDoneWhenPath(databaseUrl: string, label: string): Promise<void> {
  const log = timeline(label);
  const smtp = await startSmtpServer();
  let webhookSecret = '';
  const receiver = await startReceiver(() => webhookSecret);
  const home = mkdtempSync(join(tmpdir(), 'latchkey-ci-home-'));
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  // As docs/deployment.md names them; the clock offset is the tests' own (test-faults.ts).
  const env = { DATABASE_URL: databaseUrl, PUBLIC_URL: publicUrl, SMTP_URL: smtp.url, MAIL_FROM, WEBHOOK_ALLOW_PRIVATE: 'true' };
  let server: ServerProcess | undefined;
  let database: Database | undefined;
  let offsetMs = BASE_OFFSET_MS;
  let slotsAtStart: number[] = [];
  const slotNow = () => Math.floor((Date.now() + offsetMs) / EXPIRY_SCAN_INTERVAL_MS) * EXPIRY_SCAN_INTERVAL_MS;
  const startAt = async (offset: number, why: string) => {
    await server?.stop();
    offsetMs = offset;
    const before = slotNow();
    server = await startServer({ name: `latchkey (${why})`, port, env: { ...env, LATCHKEY_TEST_CLOCK_OFFSET_MS: String(offset) } });
    slotsAtStart = [before, slotNow()];
    log.note(`server ${server.base} started: ${why}`);
  };
  const api = (path: string, session: Session, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${publicUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...consoleHeaders(session, publicUrl), ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  const tokenView = async (session: Session, id: string) => {
    const response = await api(`/api/v1/tokens/${id}`, session);
    expect(response.status).toBe(200);
    return (await response.json()) as TokenView;
  };
  const webhooksOf = (type: string) => receiver.received.filter((received) => received.payload?.type === type);

  try {
    // 1. Point Latchkey at the SMTP server; sign in; the account's emails go to its address.
    await startAt(BASE_OFFSET_MS, 'SMTP_URL, MAIL_FROM, WEBHOOK_ALLOW_PRIVATE=true; clock 1 h - 30 s behind the database');
    expect(server!.output()).not.toContain('email notifications are off');
    database = openDatabase(databaseUrl);
    let session = await signIn(publicUrl, issueSignInPath(env, OWNER_EMAIL));
    const preferences = await api('/api/v1/me/notifications', session);
    expect(await preferences.json()).toMatchObject({ emailConfigured: true, sendTo: OWNER_EMAIL, preferences: { expiry: true } });
    log.note(`signed in as ${OWNER_EMAIL}; emails configured, sent to ${OWNER_EMAIL}`);

    // 2. A webhook for token.expiring and token.rotated, through the API as docs/webhooks.md shows.
    const created = await api('/api/v1/webhooks', session, {
      method: 'POST',
      body: { url: receiver.url, events: ['token.expiring', 'token.rotated'], description: 'CI alerts' },
    });
    expect(created.status).toBe(201);
    const webhook = (await created.json()) as CreateWebhookResponse;
    expect(webhook.secret).toMatch(/^whsec_/);
    webhookSecret = webhook.secret;
    log.note(`webhook ${webhook.id} created for token.expiring, token.rotated -> ${receiver.url}`);

    // 3. A token expiring in 10 days (in the instance's time): the 7-day threshold is 3 days off.
    const expiresAt = new Date(Date.now() + offsetMs + 10 * DAY_MS).toISOString();
    const old = await createToken(publicUrl, session, publicUrl, 'deploy', { note: NOTE, expiresAt });
    expect(await useToken(publicUrl, old.secret)).toBe(200);
    log.note(`token "deploy" ${old.id} created, expires ${old.expiresAt}`);

    // 4. Three days later: the scan at start-up finds it 7 days from expiry.
    const threeDaysLater = BASE_OFFSET_MS + 3 * DAY_MS + HOUR_MS;
    await startAt(threeDaysLater, 'restarted 3 days + 1 h later (7-day threshold crossed an hour ago)');
    // Three days on, the console session has ended (12 h idle): the user signs in again.
    session = await signIn(publicUrl, issueSignInPath(env, OWNER_EMAIL));
    const [email] = await smtp.waitFor(1, WAIT.timeout);
    log.note(`email arrived: "${email!.parsed.subject}" to ${email!.to.join(', ')}`);
    await vi.waitFor(() => expect(webhooksOf('token.expiring')).toHaveLength(1), WAIT);
    const expiring = webhooksOf('token.expiring')[0]!;
    log.note(`webhook arrived: token.expiring thresholdDays ${expiring.payload!.data.thresholdDays}, signature verified (${expiring.headers['webhook-id']})`);

    expect(email!.to).toEqual([OWNER_EMAIL]);
    expect(email!.parsed.subject).toBe('Your token "deploy" expires in 7 days');
    const text = email!.parsed.text ?? '';
    const html = String(email!.parsed.html);
    expect(text).toContain('Token: deploy');
    expect(text).toContain(`Where is this token used? ${NOTE}`);
    expect(text).toContain(`${publicUrl}/settings/tokens/${old.id}`);
    expect(html).toContain('deploy');
    expect(html).toContain(`href="${publicUrl}/settings/tokens/${old.id}"`);
    expectNoSecret(email!, [old.secret]);

    expect(expiring.error).toBeUndefined();
    expect(expiring.headers['webhook-id']).toMatch(/^msg_/);
    expect(expiring.payload!.data).toMatchObject({ tokenId: old.id, name: 'deploy', note: NOTE, thresholdDays: 7, expiresAt: old.expiresAt });
    expect(expiring.body).not.toContain(old.secret);

    await vi.waitFor(async () => expect(await scanRunAndJobsSettled(database!, offsetMs, slotsAtStart)).toBe(true), WAIT);
    const deliveries = await api(`/api/v1/webhooks/${webhook.id}/deliveries`, session);
    expect(((await deliveries.json()) as { deliveries: WebhookDeliveryView[] }).deliveries).toMatchObject([
      { event: 'token.expiring', status: 'succeeded', attempts: 1, responseStatus: 204 },
    ]);

    // A restart a scan slot later: that slot's scan runs at start and sends nothing again.
    await startAt(threeDaysLater + EXPIRY_SCAN_INTERVAL_MS + MINUTE_MS, 'restarted a scan slot later');
    await vi.waitFor(async () => expect(await scanRunAndJobsSettled(database!, offsetMs, slotsAtStart)).toBe(true), WAIT);
    expect(smtp.received).toHaveLength(1);
    expect(receiver.received).toHaveLength(1);
    log.note('that slot\'s scan ran: still 1 email and 1 webhook');

    // 5. CI regenerates the token with itself, keeping the old secret for an hour.
    await startAt(BASE_OFFSET_MS, 'restarted with the first clock (1 h - 30 s behind the database) for the rotation');
    // As a CI job runs it: the server's URL and the job's own token in the environment, an empty HOME.
    const rotation = await runCli(['token', 'rotate', '--grace', '1h'], { PATH: process.env.PATH ?? '', HOME: home, LATCHKEY_URL: publicUrl, LATCHKEY_TOKEN: old.secret });
    expect(rotation.code, rotation.stderr).toBe(0);
    const fresh = rotation.stdout.trim();
    expect(fresh).toMatch(TOKEN_SHAPE);
    expect(rotation.stderr).toContain('The old secret keeps working for 1h.');
    log.note('CI ran `latchkey token rotate --grace 1h` with LATCHKEY_TOKEN=<old secret>: new secret on stdout');
    expect(await useToken(publicUrl, fresh)).toBe(200);
    // The old secret in its grace hour, as a job not yet updated would use it.
    for (let use = 0; use < 3; use++) expect(await useToken(publicUrl, old.secret), 'the old secret within its grace hour').toBe(200);
    log.note('the new secret works; the old one used 3 times');

    let view: TokenView | undefined;
    await vi.waitFor(async () => {
      view = await tokenView(session, old.id);
      expect(view.usesSinceRotation).toBe(3);
    }, WAIT);
    expect(view).toMatchObject({ state: 'rotating', replacedBy: expect.any(String), lastUseSinceRotation: { ip: '127.0.0.1' } });
    expect(Date.parse(view!.graceUntil!) - Date.parse(view!.rotatedAt!)).toBe(HOUR_MS);
    log.note(`GET /api/v1/tokens/${old.id}: rotating until ${view!.graceUntil}, used ${view!.usesSinceRotation} times since rotation, last from ${view!.lastUseSinceRotation!.ip}`);

    await vi.waitFor(() => expect(webhooksOf('token.rotated')).toHaveLength(1), WAIT);
    const rotated = webhooksOf('token.rotated')[0]!;
    expect(rotated.error).toBeUndefined();
    expect(rotated.payload!.data).toMatchObject({ tokenId: old.id, name: 'deploy', replacedBy: view!.replacedBy, graceUntil: view!.graceUntil });
    log.note(`webhook arrived: token.rotated replacedBy ${view!.replacedBy}, graceUntil ${view!.graceUntil}, signature verified`);

    // 6. Past the hour (by the database clock): the old secret is refused as replaced.
    await vi.waitFor(async () => expect((await tokenView(session, old.id)).state).toBe('expired'), { timeout: GRACE_LEFT_MS + 120_000, interval: 500 });
    const refused = await fetch(`${publicUrl}/api/v1/me`, { headers: { authorization: `Bearer ${old.secret}` } });
    const problem = expectResponseCode({ statusCode: refused.status, headers: Object.fromEntries(refused.headers), body: await refused.text() }, 'R-EXPIRED');
    expect(problem.detail).toMatch(/replaced by rotation/);
    expect(problem.expiresAt).toBe(view!.graceUntil);
    expect(await useToken(publicUrl, fresh)).toBe(200);
    expect(await tokenView(session, old.id)).toMatchObject({ state: 'expired', usesSinceRotation: 3 });
    log.note('the hour is over: the old secret is refused (TOKEN_EXPIRED, replaced by rotation), the new one works');

    // Exactly once each, and no secret anywhere in what was sent.
    await vi.waitFor(async () => expect(await scanRunAndJobsSettled(database!, offsetMs, slotsAtStart)).toBe(true), WAIT);
    expect(smtp.received).toHaveLength(1);
    expect(receiver.received.map((received) => received.payload?.type)).toEqual(['token.expiring', 'token.rotated']);
    expectNoSecret(email!, [old.secret, fresh]);
    for (const received of receiver.received) {
      expect(received.body).not.toContain(old.secret);
      expect(received.body).not.toContain(fresh);
    }
    log.note(`in all: ${smtp.received.length} email, ${receiver.received.length} webhooks (token.expiring, token.rotated)`);
  } finally {
    log.print();
    await server?.stop();
    await database?.close();
    await receiver.close();
    await smtp.close();
    rmSync(home, { recursive: true, force: true });
  }
}

describe('issue 15 done when: a new user on the built server and CLI', () => {
  beforeAll(() => {
    ensureServerBuilt();
    buildCli();
  }, 180_000);

  it('gets exactly one 7-day email and one signed token.expiring webhook, rotates from CI with a 1 h overlap and sees the old secret refused after it (SQLite)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-done-when-'));
    try {
      await walkTheDoneWhenPath(`sqlite:${join(dir, 'latchkey.db')}`, 'sqlite');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 400_000);

  it('on PostgreSQL too: one 7-day email and one signed webhook, a 1 h overlap from CI, the old secret refused after it', async (context) => {
    if (!(await postgresAvailable())) context.skip('PostgreSQL is not available');
    const postgres = await createTestPostgresDatabase();
    try {
      await walkTheDoneWhenPath(postgres.url, 'postgres');
    } finally {
      await postgres.drop();
    }
  }, 400_000);
});
