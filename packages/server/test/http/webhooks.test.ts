/**
 * Signed webhooks end to end (docs/security.md, item 53), on SQLite and PostgreSQL: real actions
 * through the API produce lifecycle events, the job runner (run by hand, with a manual clock)
 * delivers them to a real HTTP receiver on loopback, and the receiver verifies every request
 * with the Standard Webhooks reference library (`standardwebhooks`).
 */
import { sql } from 'kysely';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createLogger } from '../../src/http/logging.js';
import { createManualClock } from '../../src/kernel/clock.js';
import { bearer, createTestApp, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { createWebhook, deliveriesOf, runJobsUntil, startReceiver, type Receiver } from '../support/webhooks.js';

const DAY_MS = 86_400_000;
const ALL_EVENTS = ['token.created', 'token.rotated', 'token.revoked', 'token.expiring', 'token.expired', 'token.leaked', 'token.ip_refused'];

describeEachBackend('Signed webhooks', (ctx) => {
  let clock: ReturnType<typeof createManualClock>;
  let app: TestApp;
  let session: TestSession;
  let receiver: Receiver;
  let secret = '';

  beforeEach(async () => {
    // Starts at the real time: authentication decides expiry with the database clock.
    clock = createManualClock(Date.now());
    app = await createTestApp(ctx.database, { clock, webhookAllowPrivate: true });
    session = await app.signIn();
    receiver = await startReceiver(() => secret);
  });
  afterEach(async () => {
    await receiver.close();
    await app.close();
  });

  const typesReceived = () => receiver.received.map((request) => request.payload?.type);
  const receivedFor = (type: string, tokenId: string) =>
    receiver.received.filter((request) => request.payload?.type === type && request.payload.data.tokenId === tokenId);
  /** The pending delivery job's next run, to move the clock exactly there. */
  const nextDeliveryRun = async () => {
    const rows = (await ctx.exec(sql`select run_at from jobs where kind = 'webhook.deliver' and state = 'pending'`)) as Array<{ run_at: number | string }>;
    expect(rows).toHaveLength(1);
    return Number(rows[0]!.run_at);
  };

  it('delivers each event type once, signed so the reference library verifies it, and never with a secret in the body', async () => {
    const hook = await createWebhook(app, session, { url: receiver.url, events: ALL_EVENTS, description: 'audit sink' });
    secret = hook.secret;

    const fenced = await app.createToken(session, 'deploy-bot', { allowedIps: ['10.1.0.0/16'], expiresInDays: 30, note: 'used by CI' });
    const rotated = await app.createToken(session, 'rotated');
    const revoked = await app.createToken(session, 'revoked');
    const leaked = await app.createToken(session, 'leaked');

    const rotate = await app.http.inject({ method: 'POST', url: `/api/v1/tokens/${rotated.token.id}/rotate`, headers: session.headers, payload: { graceSeconds: 3600 } });
    expect(rotate.statusCode).toBe(201);
    expect((await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${revoked.token.id}`, headers: session.headers })).statusCode).toBe(204);
    const report = await app.http.inject({ method: 'POST', url: '/api/v1/credentials/revoke', payload: { credentials: [leaked.secret] } });
    expect(report.statusCode, report.body).toBe(202);
    await app.services.credentialReports.idle();
    // Presented three times from outside its allowlist: refused each time, one event.
    for (let i = 0; i < 3; i += 1) {
      const refused = await app.http.inject({ url: '/api/v1/me', headers: bearer(fenced.secret), remoteAddress: '192.0.2.7' });
      expect(refused.statusCode).toBe(401);
    }

    await runJobsUntil(app, () =>
      ['token.rotated', 'token.revoked', 'token.leaked', 'token.ip_refused'].every((type) => typesReceived().includes(type)) &&
      typesReceived().filter((type) => type === 'token.created').length >= 4,
    { describe: typesReceived });

    // The 7-day warning and the expiry, driven by the expiry scan under the moved clock.
    clock.advance(23 * DAY_MS + 60_000);
    await runJobsUntil(app, () => receivedFor('token.expiring', fenced.token.id).length > 0, { describe: typesReceived });
    clock.set(Date.parse(fenced.token.expiresAt) + 60_000);
    await runJobsUntil(app, () => receivedFor('token.expired', fenced.token.id).length > 0, { describe: typesReceived });
    for (let i = 0; i < 3; i += 1) await app.services.jobs.runDue();

    for (const request of receiver.received) {
      expect(request.error, request.body).toBeUndefined();
      expect(request.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(request.headers['webhook-signature']).toMatch(/^v1,/);
      expect(request.body).not.toMatch(/lk_[a-z]+_/);
      expect(request.body).not.toContain(hook.secret);
    }
    // Exactly once each: one delivery per event, whatever the passes.
    const ids = receiver.received.map((request) => request.headers['webhook-id']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(receivedFor('token.ip_refused', fenced.token.id)).toHaveLength(1);
    expect(receivedFor('token.expiring', fenced.token.id)).toHaveLength(1);

    const created = receivedFor('token.created', fenced.token.id)[0]!.payload!;
    expect(created.data).toEqual({
      tokenId: fenced.token.id,
      name: 'deploy-bot',
      accountId: session.account.id,
      note: 'used by CI',
      scopes: fenced.token.scopes,
      expiresAt: fenced.token.expiresAt,
    });
    expect(receivedFor('token.expiring', fenced.token.id)[0]!.payload!.data).toMatchObject({ thresholdDays: 7, expiresAt: fenced.token.expiresAt });
    expect(receivedFor('token.expired', fenced.token.id)[0]!.payload!.data).toMatchObject({ expiresAt: fenced.token.expiresAt });
    expect(receivedFor('token.ip_refused', fenced.token.id)[0]!.payload!.data).toMatchObject({ address: '192.0.2.7' });
    expect(receivedFor('token.rotated', rotated.token.id)[0]!.payload!.data).toMatchObject({ replacedBy: rotate.json<{ token: { id: string } }>().token.id });
    expect(receivedFor('token.revoked', revoked.token.id)[0]!.payload!.data).toMatchObject({ revokedBy: 'owner' });
    // A leak report's revocation is token.leaked, not token.revoked.
    expect(receivedFor('token.leaked', leaked.token.id)).toHaveLength(1);
    expect(receivedFor('token.revoked', leaked.token.id)).toHaveLength(0);

    const deliveries = await deliveriesOf(app, session, hook.id);
    expect(deliveries.length).toBe(receiver.received.length);
    for (const delivery of deliveries) {
      expect(delivery).toMatchObject({ status: 'succeeded', attempts: 1, responseStatus: 204, error: null });
      expect(delivery.durationMs).toBeGreaterThanOrEqual(0);
    }
  });

  it('retries while the receiver answers 503 and then refuses connections, and delivers once it is back, on the back-off timeline', async () => {
    const hook = await createWebhook(app, session, { url: receiver.url, events: ['token.created'] });
    secret = hook.secret;
    receiver.answer(503, 'down for maintenance');
    const token = await app.createToken(session, 'while-down');
    await runJobsUntil(app, async () => (await deliveriesOf(app, session, hook.id))[0]?.attempts === 1);

    await receiver.stop();
    for (let attempt = 2; attempt <= 5; attempt += 1) {
      clock.set(await nextDeliveryRun());
      await app.services.jobs.runDue();
    }
    await receiver.restart();
    receiver.answer(200, 'ok');
    clock.set(await nextDeliveryRun());
    await app.services.jobs.runDue();

    const [delivery] = await deliveriesOf(app, session, hook.id);
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 6, responseStatus: 200, error: null, responseExcerpt: 'ok' });
    const log = delivery!.attemptLog;
    expect(log.map((attempt) => attempt.error)).toEqual(['answered 503', 'connection refused', 'connection refused', 'connection refused', 'connection refused', null]);
    expect(log.map((attempt) => attempt.responseStatus)).toEqual([503, null, null, null, null, 200]);
    // Each wait is the policy's step (30 s doubling) with equal jitter: at least half of it, at most all.
    const times = log.map((attempt) => Date.parse(attempt.at));
    const timeline = times.map((at) => Math.round((at - times[0]!) / 1000));
    console.log(`webhook retry timeline [${ctx.dialect}] (seconds after the first attempt): ${timeline.join(', ')}`);
    for (let k = 1; k < times.length; k += 1) {
      const step = 30_000 * 2 ** (k - 1);
      expect(times[k]! - times[k - 1]!).toBeGreaterThanOrEqual(step / 2);
      expect(times[k]! - times[k - 1]!).toBeLessThanOrEqual(step);
    }
    // The 503s reached the receiver; the webhook-id was the same on every attempt, and the one it accepted verifies.
    const seen = receiver.received.filter((request) => request.payload?.data.tokenId === token.token.id);
    expect(seen).toHaveLength(2);
    expect(new Set(seen.map((request) => request.headers['webhook-id']))).toEqual(new Set([delivery!.messageId]));
    expect(seen.every((request) => request.error === undefined)).toBe(true);
  });

  it('delivers after a restart: the pending retry lives in the database, not in the process', async () => {
    const hook = await createWebhook(app, session, { url: receiver.url, events: ['token.created'] });
    secret = hook.secret;
    await receiver.stop();
    await app.createToken(session, 'across-restart');
    await runJobsUntil(app, async () => (await deliveriesOf(app, session, hook.id))[0]?.attempts === 1);
    await app.close();
    // A new instance on the same database, the receiver back.
    app = await createTestApp(ctx.database, { clock, webhookAllowPrivate: true });
    await receiver.restart();
    clock.set(await nextDeliveryRun());
    await runJobsUntil(app, () => receiver.received.length === 1);
    expect(receiver.received[0]!.error).toBeUndefined();
    expect((await deliveriesOf(app, session, hook.id))[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('gives a delivery up after 24 hours of failures and retries it no more', async () => {
    const hook = await createWebhook(app, session, { url: receiver.url, events: ['token.created'] });
    secret = hook.secret;
    await receiver.stop();
    const started = clock.now();
    await app.createToken(session, 'never-delivered');
    await runJobsUntil(app, async () => (await deliveriesOf(app, session, hook.id))[0]?.attempts === 1);
    for (let guard = 0; guard < 40; guard += 1) {
      const pending = (await ctx.exec(sql`select run_at from jobs where kind = 'webhook.deliver' and state = 'pending'`)) as unknown[];
      if (pending.length === 0) break;
      clock.set(await nextDeliveryRun());
      await app.services.jobs.runDue();
    }
    const [delivery] = await deliveriesOf(app, session, hook.id);
    expect(delivery!.status).toBe('failed');
    const last = Date.parse(delivery!.attemptLog.at(-1)!.at);
    expect(last - started).toBeLessThanOrEqual(DAY_MS);
    expect(last - started).toBeGreaterThan(DAY_MS - 2 * 3_600_000);
    console.log(`webhook gave up [${ctx.dialect}] after ${delivery!.attempts} attempts over ${((last - started) / 3_600_000).toFixed(1)} h`);
  });

  it('disables an endpoint whose deliveries failed without a break for 3 days, with a notice to its owner', async () => {
    const hook = await createWebhook(app, session, { url: receiver.url, events: ['token.created'], description: 'flaky' });
    secret = hook.secret;
    await receiver.stop();
    const firstFailure = clock.now();
    await app.createToken(session, 'day-0');
    await runJobsUntil(app, async () => (await deliveriesOf(app, session, hook.id))[0]?.attempts === 1);

    // Two days later a new event fails too: not yet 3 days.
    clock.advance(2 * DAY_MS);
    await app.createToken(session, 'day-2');
    await runJobsUntil(app, async () => (await deliveriesOf(app, session, hook.id)).filter((delivery) => delivery.attempts >= 1).length === 2);
    expect((await app.http.inject({ url: `/api/v1/webhooks/${hook.id}`, headers: session.headers })).json()).toMatchObject({ disabledAt: null });

    clock.advance(DAY_MS + 60_000);
    await app.createToken(session, 'day-3');
    const state = async () => (await app.http.inject({ url: `/api/v1/webhooks/${hook.id}`, headers: session.headers })).json<{ disabledAt: string | null; disabledReason: string | null; failingSince: string | null }>();
    await runJobsUntil(app, async () => (await state()).disabledAt !== null);
    expect(await state()).toMatchObject({ disabledReason: 'failing', failingSince: new Date(firstFailure).toISOString() });

    const notices = (await app.http.inject({ url: '/api/v1/notices', headers: session.headers })).json<{ notices: Array<Record<string, unknown>> }>().notices;
    expect(notices).toEqual([
      expect.objectContaining({ kind: 'webhook_disabled', webhook: { id: hook.id, url: receiver.url, description: 'flaky' }, failingSince: new Date(firstFailure).toISOString() }),
    ]);
    // A disabled endpoint gets nothing more, and its pending retries are given up.
    const before = (await deliveriesOf(app, session, hook.id)).length;
    await app.createToken(session, 'after-disable');
    for (let i = 0; i < 4; i += 1) await app.services.jobs.runDue();
    const after = await deliveriesOf(app, session, hook.id);
    expect(after).toHaveLength(before);

    // Re-enabled by its owner, it receives again.
    await receiver.restart();
    const enable = await app.http.inject({ method: 'PATCH', url: `/api/v1/webhooks/${hook.id}`, headers: session.headers, payload: { disabled: false } });
    expect(enable.json()).toMatchObject({ disabledAt: null, disabledReason: null, failingSince: null });
    await app.createToken(session, 'after-enable');
    await runJobsUntil(app, () => receiver.received.some((request) => request.payload?.data.name === 'after-enable'));
  });

  it('redelivers a delivery with the same webhook-id and body, as a new series of attempts', async () => {
    const hook = await createWebhook(app, session, { url: receiver.url, events: ['token.created'] });
    secret = hook.secret;
    await app.createToken(session, 'twice');
    await runJobsUntil(app, () => receiver.received.length === 1);
    const [delivery] = await deliveriesOf(app, session, hook.id);
    const redeliver = await app.http.inject({ method: 'POST', url: `/api/v1/webhooks/${hook.id}/deliveries/${delivery!.id}/redeliver`, headers: session.headers });
    expect(redeliver.statusCode).toBe(202);
    expect(redeliver.json()).toMatchObject({ id: delivery!.id, status: 'pending' });
    // A new series starts after the one it replaces, a millisecond later at least.
    clock.advance(1);
    await runJobsUntil(app, () => receiver.received.length === 2);
    const [first, second] = receiver.received;
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(second!.body).toBe(first!.body);
    expect(second!.error).toBeUndefined();
    expect((await deliveriesOf(app, session, hook.id))[0]).toMatchObject({ status: 'succeeded', attempts: 2 });

    const other = await app.signIn();
    const foreign = await app.http.inject({ method: 'POST', url: `/api/v1/webhooks/${hook.id}/deliveries/${delivery!.id}/redeliver`, headers: other.headers });
    expect(foreign.statusCode).toBe(404);
  });

  it('redelivering a delivery that is still being retried replaces its series: the receiver gets it once', async () => {
    const hook = await createWebhook(app, session, { url: receiver.url, events: ['token.created'] });
    secret = hook.secret;
    await receiver.stop();
    await app.createToken(session, 'retrying');
    await runJobsUntil(app, async () => (await deliveriesOf(app, session, hook.id))[0]?.attempts === 1);
    const staleRetry = await nextDeliveryRun();
    await receiver.restart();
    const [delivery] = await deliveriesOf(app, session, hook.id);
    const redeliver = await app.http.inject({ method: 'POST', url: `/api/v1/webhooks/${hook.id}/deliveries/${delivery!.id}/redeliver`, headers: session.headers });
    expect(redeliver.statusCode).toBe(202);
    clock.advance(1);
    await runJobsUntil(app, () => receiver.received.length === 1);
    // The replaced series' retry comes due and ends without sending.
    clock.set(staleRetry);
    for (let i = 0; i < 3; i += 1) await app.services.jobs.runDue();
    expect(receiver.received).toHaveLength(1);
    expect((await deliveriesOf(app, session, hook.id))[0]).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('sends each event once when two instances run the jobs of one database', async () => {
    const hook = await createWebhook(app, session, { url: receiver.url, events: ['token.created'] });
    secret = hook.secret;
    const other = await createTestApp(ctx.database, { clock, webhookAllowPrivate: true });
    try {
      for (let i = 0; i < 5; i += 1) await app.createToken(session, `pair-${i}`);
      const both = () => Promise.all([app.services.jobs.runDue(), other.services.jobs.runDue()]);
      for (let pass = 0; pass < 20 && receiver.received.length < 5; pass += 1) await both();
      for (let i = 0; i < 3; i += 1) await both();
    } finally {
      await other.close();
    }
    expect(receiver.received).toHaveLength(5);
    expect(new Set(receiver.received.map((request) => request.payload?.data.name))).toEqual(new Set(['pair-0', 'pair-1', 'pair-2', 'pair-3', 'pair-4']));
  });

  it('gives the signing secret once: never in a later response or in the log', async () => {
    const hook = await createWebhook(app, session, { url: receiver.url, events: ['token.created'] });
    secret = hook.secret;
    expect(hook.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await app.createToken(session, 'logged');
    await runJobsUntil(app, () => receiver.received.length === 1);
    const later = [
      await app.http.inject({ url: '/api/v1/webhooks', headers: session.headers }),
      await app.http.inject({ url: `/api/v1/webhooks/${hook.id}`, headers: session.headers }),
      await app.http.inject({ method: 'PATCH', url: `/api/v1/webhooks/${hook.id}`, headers: session.headers, payload: { description: 'renamed' } }),
      await app.http.inject({ url: `/api/v1/webhooks/${hook.id}/deliveries`, headers: session.headers }),
      await app.http.inject({ url: '/api/openapi.json' }),
    ];
    for (const response of later) {
      expect(response.statusCode).toBe(200);
      expect(response.body).not.toContain(hook.secret);
      expect(response.body).not.toContain(hook.secret.slice('whsec_'.length));
      expect(response.body).not.toMatch(/"secret"\s*:\s*"whsec_/);
    }
    expect(app.logText()).not.toContain(hook.secret.slice('whsec_'.length));
    expect(receiver.received[0]!.body).not.toContain(hook.secret);
    // Were one ever handed to the logger by mistake, the last line of defence scrubs it.
    const lines: string[] = [];
    createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } }).warn({ detail: `configured ${hook.secret}` }, 'oops');
    expect(lines.join('')).toContain('configured [REDACTED]');
    expect(lines.join('')).not.toContain(hook.secret.slice('whsec_'.length, 20));
  });

  it('sends an instance-wide endpoint every account’s events, and an account’s endpoint only its own', async () => {
    const admin = await app.signIn({ isAdmin: true });
    const member = await app.signIn();
    const refused = await app.http.inject({ method: 'POST', url: '/api/v1/webhooks', headers: member.headers, payload: { url: receiver.url, events: ['token.created'], instanceWide: true } });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'FORBIDDEN' });

    const instance = await createWebhook(app, admin, { url: `${receiver.url}?instance`, events: ['token.created'], instanceWide: true });
    const own = await createWebhook(app, member, { url: `${receiver.url}?member`, events: ['token.created'] });
    expect(instance.instanceWide).toBe(true);
    secret = instance.secret;
    const elsewhere = await app.createToken(session, 'third-party');
    await runJobsUntil(app, () => receiver.received.some((request) => request.payload?.data.tokenId === elsewhere.token.id));
    for (let i = 0; i < 3; i += 1) await app.services.jobs.runDue();
    expect(await deliveriesOf(app, member, own.id)).toHaveLength(0);
    expect((await deliveriesOf(app, admin, instance.id)).map((delivery) => delivery.event)).toEqual(['token.created']);
    // The member's endpoint does receive the member's own token's event.
    secret = own.secret;
    await app.createToken(member, 'members-own');
    await runJobsUntil(app, async () => (await deliveriesOf(app, member, own.id)).length === 1 && receiver.received.some((request) => request.payload?.data.name === 'members-own' && request.error === undefined));
  });
});

describeEachBackend('Webhook input', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  beforeEach(async () => {
    // WEBHOOK_ALLOW_PRIVATE unset, as in production.
    app = await createTestApp(ctx.database);
    session = await app.signIn();
  });
  afterEach(() => app.close());

  const create = (payload: unknown) => app.http.inject({ method: 'POST', url: '/api/v1/webhooks', headers: session.headers, payload: payload as Record<string, unknown> });

  it('refuses bad input with 422 VALIDATION_FAILED and a pointer to the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ url: 'ftp://example.com/hook', events: ['token.created'] }, '/url'],
      [{ url: 'https://user:pass@example.com/hook', events: ['token.created'] }, '/url'],
      [{ url: 'not a url', events: ['token.created'] }, '/url'],
      [{ url: 'https://example.com/hook', events: [] }, '/events'],
      [{ url: 'https://example.com/hook', events: ['token.stolen'] }, '/events/0'],
      [{ url: 'https://example.com/hook' }, '/events'],
      [{ url: 'https://example.com/hook', events: ['token.created'], description: 7 }, '/description'],
    ];
    for (const [payload, pointer] of cases) {
      const response = await create(payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(422);
      expect(response.json(), JSON.stringify(payload)).toMatchObject({ code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ pointer })] });
    }
    expect((await create({ url: 'https://example.com/hook', events: ['token.created'], secret: 'whsec_mine' })).statusCode).toBe(422);
  });

  it('refuses loopback, private, link-local and metadata URLs unless the operator allows them', async () => {
    for (const url of [
      'http://127.0.0.1:8080/hook',
      'http://10.0.0.5/hook',
      'http://192.168.1.10/hook',
      'http://169.254.169.254/latest/meta-data/',
      'http://[::1]/hook',
      'http://[fd00:ec2::254]/hook',
      'http://[::ffff:127.0.0.1]/hook',
      'http://localhost:3000/hook',
      'http://0.0.0.0/hook',
    ]) {
      const response = await create({ url, events: ['token.created'] });
      expect(response.statusCode, url).toBe(422);
      expect(response.json(), url).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ pointer: '/url', detail: expect.stringContaining('private') }] });
    }
    expect((await create({ url: 'https://hooks.example.com/latchkey', events: ['token.created'] })).statusCode).toBe(201);
    const patch = await app.http.inject({ method: 'PATCH', url: `/api/v1/webhooks/${(await app.services.webhooks.list(session.account.id))[0]!.id}`, headers: session.headers, payload: { url: 'http://10.9.9.9/' } });
    expect(patch.statusCode).toBe(422);
  });

  it('records creating, changing and deleting an endpoint in the audit trail, keeping only the URL’s origin', async () => {
    const hook = await createWebhook(app, session, { url: 'https://hooks.example.com/services/T0/B1/s3cr3t?key=abc', events: ['token.created'] });
    await app.http.inject({ method: 'PATCH', url: `/api/v1/webhooks/${hook.id}`, headers: session.headers, payload: { disabled: true, description: 'paused' } });
    expect((await app.http.inject({ method: 'DELETE', url: `/api/v1/webhooks/${hook.id}`, headers: session.headers })).statusCode).toBe(204);
    const rows = (await ctx.exec(
      sql`select action, actor_account_id, target_id, detail from audit_events where action like 'webhook.%' order by seq`,
    )) as Array<{ action: string; actor_account_id: string; target_id: string; detail: string }>;
    expect(rows.map((row) => [row.action, row.actor_account_id, row.target_id])).toEqual([
      ['webhook.created', session.account.id, hook.id],
      ['webhook.updated', session.account.id, hook.id],
      ['webhook.deleted', session.account.id, hook.id],
    ]);
    expect(rows.map((row) => JSON.parse(row.detail) as Record<string, unknown>)).toEqual([
      { target: 'https://hooks.example.com', events: ['token.created'], instanceWide: false },
      { changed: ['description', 'disabled'], disabled: true },
      { target: 'https://hooks.example.com' },
    ]);
    expect(JSON.stringify(rows)).not.toMatch(/s3cr3t|key=abc|whsec_/);
  });

  it('answers 404 for a missing, malformed or foreign webhook', async () => {
    const other = await app.signIn();
    const theirs = await createWebhook(app, other, { url: 'https://hooks.example.com/theirs', events: ['token.revoked'] });
    for (const id of [theirs.id, '6f1c1d3e-2f7b-4b8e-9d6a-0e3c2b1a9f8e', 'not-an-id']) {
      for (const [method, suffix] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['GET', '/deliveries']] as const) {
        const response = await app.http.inject({ method, url: `/api/v1/webhooks/${id}${suffix}`, headers: session.headers, ...(method === 'PATCH' && { payload: { description: 'x' } }) });
        expect(response.statusCode, `${method} ${id}${suffix}`).toBe(404);
        expect(response.json()).toMatchObject({ code: 'NOT_FOUND' });
      }
    }
    expect(await app.services.webhooks.get(other.account.id, theirs.id)).toMatchObject({ description: null });
  });
});
