/**
 * Email notifications through a real SMTP server on loopback (docs/notifications.md,
 * docs/security.md, item 52): each kind of email arrives with a text and an HTML body naming the
 * token, its note and its page, and no secret; an SMTP outage delays an email without losing
 * or repeating it; each account's switches decide what is sent.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeEachBackend } from '../support/databases.js';
import { bearer, TEST_PUBLIC_URL, type TestApp } from '../support/app.js';
import { startSmtpServer, type ReceivedEmail, type TestSmtpServer } from '../support/smtp-server.js';
import { DAY_MS, deliverUntil, drainJobs, emailApp, expectNoSecret, MAIL_FROM } from './support.js';

let smtp: TestSmtpServer;
beforeAll(async () => {
  smtp = await startSmtpServer();
});
afterAll(() => smtp.close());

/** A note with markup in it: the HTML body must show it, escaped. */
const NOTE = 'GitHub Actions <deploy> & "nightly" backups';

function expectAboutToken(email: ReceivedEmail, token: { id: string; name: string }, to: string): void {
  expect(email.to).toEqual([to]);
  expect(email.parsed.from?.text).toContain('latchkey@example.test');
  const text = email.parsed.text ?? '';
  const html = String(email.parsed.html);
  expect(text).toContain(token.name);
  expect(text).toContain(`Where is this token used? ${NOTE}`);
  expect(text).toContain(`${TEST_PUBLIC_URL}/settings/tokens/${token.id}`);
  expect(html).toContain(token.name);
  expect(html).toContain('GitHub Actions &lt;deploy&gt; &amp; &quot;nightly&quot; backups');
  expect(html).not.toContain('<deploy>');
  expect(html).toContain(`href="${TEST_PUBLIC_URL}/settings/tokens/${token.id}"`);
  expect(text).toContain(`${TEST_PUBLIC_URL}/settings/notifications`);
}

describeEachBackend('email notifications', (ctx) => {
  let app: TestApp;
  let clock: Awaited<ReturnType<typeof emailApp>>['clock'];
  beforeEach(async () => {
    smtp.received.length = 0;
    ({ app, clock } = await emailApp(ctx.database, smtp));
  });
  afterEach(() => app.close());
  const addressesOf = (tokenId: string) => app.database.kysely.selectFrom('token_addresses').select('ip').where('token_id', '=', tokenId).execute();

  it('sends each kind of email with text and HTML, the token name, its note and page, and never a secret', async () => {
    const owner = await app.signIn();
    const admin = await app.signIn({ isAdmin: true });
    const put = await app.http.inject({ method: 'PUT', url: '/api/v1/me/notifications', headers: owner.headers, payload: { newAddress: true } });
    expect(put.statusCode).toBe(200);
    const secrets: string[] = [];
    const make = async (name: string, extra: Record<string, unknown> = {}) => {
      const created = await app.createToken(owner, name, { note: NOTE, ...extra });
      secrets.push(created.secret);
      return created;
    };
    const inbox = async (count: number) => (await deliverUntil(app, smtp, count)).slice(count - 1);

    // Used from a second address: "first use from a new address" (opted in above).
    const roaming = await make('roaming');
    const use = (secret: string, remoteAddress: string) =>
      app.http.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(secret), remoteAddress });
    expect((await use(roaming.secret, '198.51.100.7')).statusCode).toBe(200);
    await drainJobs(app);
    expect(smtp.received).toHaveLength(0); // the first address ever is not news
    // The first address is recorded after the answer: wait until it is there.
    await expect.poll(() => addressesOf(roaming.token.id)).toHaveLength(1);
    expect((await use(roaming.secret, '203.0.113.9')).statusCode).toBe(200);
    const [newAddress] = await inbox(1);
    expect(newAddress!.parsed.subject).toBe('Your token "roaming" was used from a new address');
    expect(newAddress!.parsed.text).toContain('203.0.113.9');
    expectAboutToken(newAddress!, roaming.token, owner.account.email!);

    // Presented from outside its allowlist.
    const fenced = await make('fenced', { allowedIps: ['192.0.2.0/24'] });
    expect((await use(fenced.secret, '198.51.100.20')).statusCode).toBe(401);
    const [refused] = await inbox(2);
    expect(refused!.parsed.subject).toBe('Your token "fenced" was refused from an address outside its allowlist');
    expect(refused!.parsed.text).toContain('198.51.100.20');
    expectAboutToken(refused!, fenced.token, owner.account.email!);

    // Revoked by an administrator.
    const stopped = await make('stopped');
    const revoke = await app.http.inject({ method: 'DELETE', url: `/api/v1/admin/tokens/${stopped.token.id}`, headers: admin.headers });
    expect(revoke.statusCode).toBe(204);
    const [byAdmin] = await inbox(3);
    expect(byAdmin!.parsed.subject).toBe('Your token "stopped" was revoked by an administrator');
    expectAboutToken(byAdmin!, stopped.token, owner.account.email!);

    // Reported leaked.
    const leaked = await make('leaked');
    const report = await app.http.inject({ method: 'POST', url: '/api/v1/credentials/revoke', payload: { credentials: [leaked.secret] } });
    expect(report.statusCode).toBe(202);
    await app.services.credentialReports.idle();
    const [leak] = await inbox(4);
    expect(leak!.parsed.subject).toBe('Your token "leaked" was revoked: its secret was reported leaked');
    expectAboutToken(leak!, leaked.token, owner.account.email!);

    // Expiry: 30, 7 and 1 day(s) before, and on the day, each once however often the scan runs.
    const expiring = await make('expiring', { expiresInDays: 90 });
    const expiresAt = Date.parse(expiring.token.expiresAt);
    const subjects: string[] = [];
    for (const [before, subject] of [
      [30 * DAY_MS, 'Your token "expiring" expires in 30 days'],
      [7 * DAY_MS, 'Your token "expiring" expires in 7 days'],
      [DAY_MS, 'Your token "expiring" expires tomorrow'],
      [0, 'Your token "expiring" has expired'],
    ] as const) {
      clock.set(expiresAt - before + 60_000);
      const [email] = await inbox(5 + subjects.length);
      expectAboutToken(email!, expiring.token, owner.account.email!);
      subjects.push(email!.parsed.subject!);
      expect(subjects.at(-1)).toBe(subject);
      // Later scans within the same threshold send nothing more.
      clock.advance(20 * 60_000);
      await drainJobs(app);
      expect(smtp.received).toHaveLength(5 + subjects.length - 1);
    }

    expect(smtp.received).toHaveLength(8);
    for (const email of smtp.received) {
      expect(email.from).toBe('latchkey@example.test');
      expect(email.parsed.text).toBeTruthy();
      expect(email.parsed.html).toBeTruthy();
      expectNoSecret(email, secrets);
    }
    expect(MAIL_FROM).toContain('latchkey@example.test');
  });

  it('tells the administrator who created a service account about its tokens', async () => {
    const admin = await app.signIn({ isAdmin: true });
    const otherAdmin = await app.signIn({ isAdmin: true });
    const created = await app.http.inject({ method: 'POST', url: '/api/v1/admin/service-accounts', headers: admin.headers, payload: { name: 'ci-deploy' } });
    expect(created.statusCode).toBe(201);
    const serviceAccountId = (created.json() as { id: string }).id;
    const minted = await app.http.inject({
      method: 'POST',
      url: `/api/v1/admin/service-accounts/${serviceAccountId}/tokens`,
      headers: otherAdmin.headers,
      payload: { name: 'deploy', note: NOTE },
    });
    expect(minted.statusCode).toBe(201);
    const token = minted.json() as { token: { id: string }; secret: string };
    const revoke = await app.http.inject({ method: 'DELETE', url: `/api/v1/admin/tokens/${token.token.id}`, headers: otherAdmin.headers });
    expect(revoke.statusCode).toBe(204);
    const [email] = await deliverUntil(app, smtp, 1);
    expect(email!.to).toEqual([admin.account.email]);
    expect(email!.parsed.text).toContain('Belongs to: service account ci-deploy');
    expect(email!.parsed.text).toContain(`${TEST_PUBLIC_URL}/admin/service-accounts`);
    expectNoSecret(email!, [token.secret]);
  });

  it('delivers an email once the SMTP server is back, and only once', async () => {
    const owner = await app.signIn();
    const admin = await app.signIn({ isAdmin: true });
    const token = await app.createToken(owner, 'outage', { note: NOTE });
    await smtp.stop();
    try {
      // The revoke is answered at once whatever the SMTP server does (docs/security.md, item 52).
      const revoke = await app.http.inject({ method: 'DELETE', url: `/api/v1/admin/tokens/${token.token.id}`, headers: admin.headers });
      expect(revoke.statusCode).toBe(204);
      await drainJobs(app);
      const failed = await app.database.kysely.selectFrom('jobs').select(['state', 'attempts', 'last_error']).where('kind', '=', 'notify.email').where('state', '=', 'pending').where('attempts', '>', 0).execute();
      expect(failed).toHaveLength(1);
      expect(failed[0]!.last_error).toMatch(/ECONNREFUSED|connect/i);
      expect(failed[0]!.last_error).not.toContain('smtp-test-password');
    } finally {
      await smtp.start();
    }
    expect(smtp.received).toHaveLength(0);
    // The retry is due after the back-off (30 s at most for the first).
    clock.advance(60_000);
    const [email] = await deliverUntil(app, smtp, 1);
    expect(email!.parsed.subject).toBe('Your token "outage" was revoked by an administrator');
    clock.advance(DAY_MS);
    await drainJobs(app);
    expect(smtp.received).toHaveLength(1);
    expect(await app.services.notifications.outcomes(token.token.id)).toEqual([{ key: `revoked:${token.token.id}`, kind: 'revoked_by_admin', state: 'sent' }]);
  });

  it('respects the switches: a kind turned off is recorded, not sent; new addresses only when opted in', async () => {
    const owner = await app.signIn();
    const defaults = await app.http.inject({ method: 'GET', url: '/api/v1/me/notifications', headers: owner.headers });
    expect(defaults.json()).toEqual({
      preferences: { expiry: true, revoked: true, ipRefused: true, newAddress: false },
      emailConfigured: true,
      sendTo: owner.account.email,
    });
    const off = await app.http.inject({ method: 'PUT', url: '/api/v1/me/notifications', headers: owner.headers, payload: { expiry: false } });
    expect(off.json()).toMatchObject({ preferences: { expiry: false, revoked: true, ipRefused: true, newAddress: false } });

    const expiring = await app.createToken(owner, 'quiet', { expiresInDays: 7, note: NOTE });
    const roaming = await app.createToken(owner, 'roaming', { note: NOTE });
    const use = (remoteAddress: string) => app.http.inject({ method: 'GET', url: '/api/v1/me', headers: bearer(roaming.secret), remoteAddress });
    await use('198.51.100.1');
    await expect.poll(() => addressesOf(roaming.token.id)).toHaveLength(1);
    await use('198.51.100.2');
    // The new-address event is enqueued before its address is recorded.
    await expect.poll(() => addressesOf(roaming.token.id)).toHaveLength(2);
    clock.set(Date.parse(expiring.token.expiresAt) - DAY_MS + 60_000);
    await drainJobs(app);
    expect(smtp.received).toHaveLength(0);
    expect(await app.services.notifications.outcomes(expiring.token.id)).toEqual([{ key: `expiry:${expiring.token.id}:1d`, kind: 'expiry', state: 'skipped' }]);
    expect(await app.services.notifications.outcomes(roaming.token.id)).toEqual([
      { key: `new-address:${roaming.token.id}:198.51.100.2`, kind: 'new_address', state: 'skipped' },
    ]);

    // Opted in: the next new address is sent.
    clock.set(Date.now());
    await app.http.inject({ method: 'PUT', url: '/api/v1/me/notifications', headers: owner.headers, payload: { newAddress: true } });
    await use('198.51.100.3');
    const [email] = await deliverUntil(app, smtp, 1);
    expect(email!.parsed.subject).toBe('Your token "roaming" was used from a new address');
    expect(email!.parsed.text).toContain('198.51.100.3');
  });

  it('takes a token with any scope, refuses unknown switches and non-booleans with 422', async () => {
    const owner = await app.signIn();
    const token = await app.createToken(owner, 'reader', { scopes: ['namespaces:read'] });
    const read = await app.http.inject({ method: 'GET', url: '/api/v1/me/notifications', headers: bearer(token.secret) });
    expect(read.statusCode).toBe(200);
    const write = await app.http.inject({ method: 'PUT', url: '/api/v1/me/notifications', headers: bearer(token.secret), payload: { revoked: false } });
    expect(write.json()).toMatchObject({ preferences: { revoked: false } });
    for (const payload of [{ revoked: 'no' }, { webhooks: true }, []]) {
      const refused = await app.http.inject({ method: 'PUT', url: '/api/v1/me/notifications', headers: owner.headers, payload });
      expect(refused.statusCode).toBe(422);
      expect(refused.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
  });
});

describe('email notifications without SMTP_URL', () => {
  it('say so in the settings and send nothing', async () => {
    const { createMemoryApp } = await import('../support/app.js');
    const app = await createMemoryApp();
    try {
      const owner = await app.signIn();
      const settings = await app.http.inject({ method: 'GET', url: '/api/v1/me/notifications', headers: owner.headers });
      expect(settings.json()).toMatchObject({ emailConfigured: false });
      expect(app.services.events.list()).not.toContain('email');
    } finally {
      await app.close();
    }
  });
});
