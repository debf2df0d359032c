/**
 * docs/security.md, item 28 (first three bullets) and the logging requirements: tokens sent in
 * every place a client might put one never reach a log line, a SQL parameter or the SQLite files;
 * every request writes one access line; every failed authentication writes one event with a reason,
 * the client IP and a fingerprint instead of the token.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SESSION_COOKIE, tokenScannerRegExp } from '@latchkey/contract';
import { hashToken } from '@latchkey/contract/token';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { openDatabase } from '../../src/database/open-database.js';
import { bearer, createTestApp, signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { expireToken, unknownWellFormedToken } from '../support/protected-route.js';

const fingerprint = (token: string) => createHash('sha256').update(token, 'latin1').digest('hex').slice(0, 12);

/** Every way a client might (mis)place a token, each one request. */
async function sendEverywhere(app: TestApp, session: TestSession, token: string): Promise<LightMyRequestResponse[]> {
  const inject = (options: InjectOptions) => app.http.inject(options);
  return [
    await inject({ url: '/api/v1/me', headers: bearer(token) }),
    await inject({ url: `/api/v1/me?access_token=${token}` }),
    await inject({ url: `/api/v1/namespaces?filter=${token}&access_token=${token}` }),
    await inject({ url: `/api/v1/namespaces?q=${token}`, headers: bearer(token) }),
    await inject({ method: 'POST', url: '/api/v1/namespaces', headers: session.headers, payload: { name: token } }),
    await inject({ method: 'POST', url: '/api/v1/namespaces', headers: bearer(token), payload: { name: 'ns', token } }),
    await inject({ url: `/api/v1/tokens/${token}`, headers: session.headers }),
    await inject({ url: `/api/v1/${token}` }),
    await inject({ url: '/api/v1/me', headers: { 'user-agent': `curl/8 ${token}`, cookie: session.cookie } }),
    await inject({ url: '/api/v1/me', headers: { referer: `https://ci.example/job?token=${token}`, ...bearer(token) } }),
    await inject({ url: '/api/v1/me', headers: { cookie: `latchkey_token=${token}; ${SESSION_COOKIE}=${token}` } }),
    await inject({ url: '/api/v1/me', headers: { cookie: `other=${token}`, ...bearer(token) } }),
  ];
}

/** Neither the token, nor any 8-character piece of its random part, appears in `text`. */
function expectNoTrace(text: string, token: string, label: string): void {
  expect(text, label).not.toMatch(tokenScannerRegExp());
  const body = token.slice(8);
  for (let index = 0; index + 8 <= body.length; index++) {
    expect(text.includes(body.slice(index, index + 8)), `${label}: a fragment of the token`).toBe(false);
  }
}

describeEachBackend('logging', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  let valid: string;
  let validId: string;
  signedInAppForEachTest(ctx, async (fresh) => {
    ({ app, session } = fresh);
    ({ secret: valid, token: { id: validId } } = await app.createToken(session, 'logged'));
  });

  /** No SQL parameter of this test carried a token (the DB-driver spy of item 28). */
  function expectNoTokenSentToDatabase(): void {
    expect(ctx.queries.length).toBeGreaterThan(0);
    for (const { sql, parameters } of ctx.queries) {
      for (const parameter of parameters) {
        const text = Buffer.isBuffer(parameter) ? parameter.toString('latin1') : String(parameter);
        expect(text, sql).not.toMatch(tokenScannerRegExp());
      }
    }
  }

  it('a valid and an invalid token sent everywhere never reach a log line or a SQL parameter', async () => {
    const invalid = unknownWellFormedToken();
    const responses = [...(await sendEverywhere(app, session, valid)), ...(await sendEverywhere(app, session, invalid))];
    // The valid token really authenticated where it was sent properly (so it was really handled).
    expect(responses[0]!.statusCode).toBe(200);
    expect(responses.some((response) => response.statusCode === 401)).toBe(true);

    const text = app.logText();
    expect(text.length).toBeGreaterThan(0);
    expectNoTrace(text, valid, 'valid token');
    expectNoTrace(text, invalid, 'invalid token');
    expectNoTokenSentToDatabase();
  });

  it('writes one request line per request with reqId, status and ms; after bearer auth also token_id and user_id', async () => {
    const responses = [
      await app.http.inject({ url: '/api/v1/me', headers: bearer(valid) }),
      await app.http.inject({ url: '/api/v1/me', headers: { cookie: session.cookie } }),
      await app.http.inject({ url: '/api/v1/me' }),
      await app.http.inject({ url: '/api/v1/me', headers: bearer(unknownWellFormedToken()) }),
      await app.http.inject({ url: '/api/v1/no-such-route' }),
    ];
    const requestLines = app.logs.filter((line) => line.msg === 'request');
    // The sign-in helper created one token through the API before: that request is logged too.
    const ids = responses.map((response) => response.headers['x-request-id']);
    for (const [index, response] of responses.entries()) {
      const lines = requestLines.filter((line) => line.reqId === ids[index]);
      expect(lines, `request ${index}`).toHaveLength(1);
      const line = lines[0]!;
      expect(line.status).toBe(response.statusCode);
      expect(typeof line.ms).toBe('number');
      expect(line.ms as number).toBeGreaterThanOrEqual(0);
      expect(line.method).toBe('GET');
    }
    expect(new Set(requestLines.map((line) => line.reqId)).size).toBe(requestLines.length);

    const [bearerLine, sessionLine, anonymousLine, failedLine] = ids.map((id) => requestLines.find((l) => l.reqId === id)!);
    expect(bearerLine).toMatchObject({ token_id: validId, user_id: session.account.id, status: 200 });
    expect(sessionLine).toMatchObject({ user_id: session.account.id, status: 200 });
    expect(sessionLine).not.toHaveProperty('token_id');
    expect(anonymousLine).not.toHaveProperty('user_id');
    expect(failedLine).not.toHaveProperty('token_id');
    expect(failedLine).not.toHaveProperty('user_id');
  });

  it('writes one auth_failed event per failed authentication with reason, client_ip and a 12-hex token_fingerprint', async () => {
    const owner = await app.signIn();
    const ofDisabled = await app.createToken(owner, 'disabled');
    await app.services.accounts.disable(owner.account.id, SYSTEM_ACTOR);
    const revoked = await app.createToken(session, 'revoked');
    await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${revoked.token.id}`, headers: session.headers });
    const expired = await app.createToken(session, 'expired');
    await expireToken(ctx, expired.token.id);

    const withFingerprint: Array<[string, string]> = [
      ['malformed', valid.slice(0, -1) + (valid.endsWith('A') ? 'B' : 'A')],
      ['unknown', unknownWellFormedToken()],
      ['revoked', revoked.secret],
      ['account_disabled', ofDisabled.secret],
      ['expired', expired.secret],
    ];
    for (const [reason, token] of withFingerprint) {
      const response = await app.http.inject({ url: '/api/v1/me', headers: bearer(token) });
      expect(response.statusCode, reason).toBe(401);
      const events = app.logs.filter((line) => line.event === 'auth_failed' && line.reqId === response.headers['x-request-id']);
      expect(events, reason).toHaveLength(1);
      expect(events[0]).toMatchObject({ reason, client_ip: '127.0.0.1', token_fingerprint: fingerprint(token) });
      expect(events[0]!.token_fingerprint).toMatch(/^[0-9a-f]{12}$/);
      expect(Number(events[0]!.level)).toBeLessThan(50);
    }

    const badRequests: Array<[string, Record<string, string | string[]>, string]> = [
      ['malformed_authorization', { authorization: `Bearer\t${valid}` }, '/api/v1/me'],
      ['duplicate_authorization', { authorization: [`Bearer ${valid}`, 'garbage'] }, '/api/v1/me'],
      ['credentials_in_header_and_query', bearer(valid), `/api/v1/me?access_token=${valid}`],
    ];
    for (const [reason, headers, url] of badRequests) {
      const response = await app.http.inject({ url, headers });
      expect(response.statusCode, reason).toBe(400);
      const events = app.logs.filter((line) => line.event === 'auth_failed' && line.reqId === response.headers['x-request-id']);
      expect(events, reason).toHaveLength(1);
      expect(events[0]).toMatchObject({ reason, client_ip: '127.0.0.1' });
      if (events[0]!.token_fingerprint !== undefined) expect(events[0]!.token_fingerprint).toMatch(/^[0-9a-f]{12}$/);
    }

    // Successes and requests without credentials are not auth failures.
    const ok = await app.http.inject({ url: '/api/v1/me', headers: bearer(valid) });
    const none = await app.http.inject({ url: '/api/v1/me' });
    for (const response of [ok, none]) {
      expect(app.logs.filter((line) => line.event === 'auth_failed' && line.reqId === response.headers['x-request-id'])).toEqual([]);
    }
    expectNoTrace(app.logText(), valid, 'valid token');
    for (const [, token] of withFingerprint) expectNoTrace(app.logText(), token, 'failed token');
  });
});

describe('the SQLite files never hold a token [sqlite file]', () => {
  let directory: string;
  beforeEach(() => {
    directory = mkdtempSync(join(tmpdir(), 'latchkey-logging-'));
  });
  afterEach(() => rmSync(directory, { recursive: true, force: true }));

  it('db, db-wal and db-shm have 0 token-regex matches, while open and after closing', async () => {
    const path = join(directory, 'latchkey.db');
    const store = openDatabase(`sqlite:${path}`);
    await store.migrate();
    const app = await createTestApp(store);
    const secrets: string[] = [];
    try {
      const session = await app.signIn();
      for (let index = 0; index < 5; index++) {
        const { secret } = await app.createToken(session, `file-canary-${index}`);
        secrets.push(secret);
        expect((await app.http.inject({ url: '/api/v1/me', headers: bearer(secret) })).statusCode).toBe(200);
      }
      const victim = await app.createToken(session, 'file-canary-revoked');
      secrets.push(victim.secret);
      await app.http.inject({ method: 'DELETE', url: '/api/v1/tokens/self', headers: bearer(victim.secret) });
      await sendEverywhere(app, session, secrets[0]!);
      await sendEverywhere(app, session, unknownWellFormedToken());
      // Let the fire-and-forget last-used writes land before reading the files.
      await new Promise((resolve) => setTimeout(resolve, 100));

      const files = () =>
        ['', '-wal', '-shm'].map((suffix) => `${path}${suffix}`).filter(existsSync).map((file) => [file, readFileSync(file)] as const);
      const open = files();
      expect(open.map(([file]) => file)).toEqual([path, `${path}-wal`, `${path}-shm`]);
      const everything = Buffer.concat(open.map(([, content]) => content));
      // The controls: the files hold this test's data, as names and digests.
      expect(everything.includes('file-canary-3')).toBe(true);
      expect(everything.includes(hashToken(secrets[2]!))).toBe(true);
      for (const [file, content] of open) expect(content.toString('latin1'), file).not.toMatch(tokenScannerRegExp());
      for (const secret of secrets) expect(everything.includes(secret.slice(8, 40)), 'a token fragment').toBe(false);
      expectNoTrace(app.logText(), secrets[0]!, 'log');
    } finally {
      await app.close();
      await store.close();
    }
    for (const [file, content] of ['', '-wal', '-shm'].map((s) => `${path}${s}`).filter(existsSync).map((f) => [f, readFileSync(f)] as const)) {
      expect(content.toString('latin1'), `${file} after close`).not.toMatch(tokenScannerRegExp());
    }
    expect(readFileSync(path).includes('file-canary-3')).toBe(true);
  });
});
