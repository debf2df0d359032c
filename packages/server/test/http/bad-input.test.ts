/**
 * docs/security.md, items 1–10: bad inputs, each with its exact expected response, on both
 * backends. Items 3 and 7 need bytes Node's HTTP clients will not send (two Authorization
 * headers, oversized or CR/LF/NUL-bearing values), so those go over raw sockets to a real
 * listening server.
 */
import { randomUUID } from 'node:crypto';
import { connect, type AddressInfo } from 'node:net';
import { tokenScannerRegExp } from '@latchkey/contract';
import { sql } from 'kysely';
import { beforeEach, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import { bearer, comparable, signedInAppForEachTest, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import {
  expectResponseCode,
  expireToken,
  unknownWellFormedToken,
  withChecksum,
  type ResponseLike,
} from '../support/protected-route.js';

const DAY_MS = 86_400_000;

interface RawResponse extends ResponseLike {
  raw: string;
}

/**
 * Writes `request` to a fresh TCP connection and reads until the server closes it. The request
 * should say `Connection: close`; a parser error closes the connection by itself.
 */
function rawExchange(port: number, request: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      const raw = Buffer.concat(chunks).toString('latin1');
      const headerEnd = raw.indexOf('\r\n\r\n');
      if (headerEnd === -1) {
        reject(new Error(`no HTTP response: ${JSON.stringify(raw)}`));
        return;
      }
      const [statusLine, ...headerLines] = raw.slice(0, headerEnd).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({ statusCode: Number(statusLine!.split(' ')[1]), headers, body: raw.slice(headerEnd + 4), raw });
    };
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('end', finish);
    socket.on('close', finish);
    // The server may close while a large request is still being written (EPIPE/ECONNRESET);
    // what it answered before that is what the test looks at.
    socket.on('error', () => finish());
    socket.write(request);
  });
}

const getMe = (authorizationLines: string[]) =>
  ['GET /api/v1/me HTTP/1.1', 'Host: 127.0.0.1', ...authorizationLines, 'Connection: close', '', ''].join('\r\n');

// docs/security.md, items 1–10
describeEachBackend('bad inputs get their exact documented answers', (ctx) => {
  let app: TestApp;
  let session: TestSession;
  let valid: string;
  let validExpiresAt: string;
  signedInAppForEachTest(ctx, async (fresh) => {
    ({ app, session } = fresh);
    const created = await app.createToken(session, 'valid');
    valid = created.secret;
    validExpiresAt = created.token.expiresAt;
  });

  const me = (headers: Record<string, string>, url = '/api/v1/me') => app.http.inject({ url, headers });
  const count = async (table: 'tokens' | 'audit_events') => {
    const [row] = (await ctx.exec(sql`select count(*) as n from ${sql.table(table)}`)) as Array<{ n: unknown }>;
    return Number(row!.n);
  };

  // docs/security.md, item 1
  describe('no credentials', () => {
    it('GET /api/v1/me without Authorization → R-NOAUTH', async () => {
      expectResponseCode(await me({}), 'R-NOAUTH');
    });

    it('Basic and Token schemes → R-NOAUTH, even with a valid token', async () => {
      expectResponseCode(await me({ authorization: 'Basic dXNlcjpwYXNz' }), 'R-NOAUTH');
      expectResponseCode(await me({ authorization: `Token ${valid}` }), 'R-NOAUTH');
    });
  });

  // docs/security.md, item 2
  describe('scheme case and spacing', () => {
    for (const [label, value] of [
      ['bearer', (t: string) => `bearer ${t}`],
      ['BEARER', (t: string) => `BEARER ${t}`],
      ['two spaces', (t: string) => `Bearer  ${t}`],
    ] as const) {
      it(`${label} → 200 with Latchkey-Token-Expires-At`, async () => {
        const response = await me({ authorization: value(valid) });
        expect(response.statusCode, response.body).toBe(200);
        expect(response.headers['latchkey-token-expires-at']).toBe(validExpiresAt);
        expect(response.json().account.id).toBe(session.account.id);
      });
    }
  });

  // docs/security.md, item 3
  describe('malformed header or duplicate credentials → R-BADREQ', () => {
    it('Bearer, "Bearer ", a tab, extra parts', async () => {
      for (const value of ['Bearer', 'Bearer ', `Bearer\t${valid}`, `Bearer ${valid} extra`]) {
        expectResponseCode(await me({ authorization: value }), 'R-BADREQ');
      }
    });

    it('a header token plus ?access_token= → R-BADREQ', async () => {
      expectResponseCode(await me(bearer(valid), `/api/v1/me?access_token=${valid}`), 'R-BADREQ');
    });

    it('two Authorization headers over a raw socket, in either order → R-BADREQ', async () => {
      await app.http.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.http.server.address() as AddressInfo;
      const validLine = `Authorization: Bearer ${valid}`;
      for (const lines of [
        [validLine, 'Authorization: garbage'],
        ['Authorization: garbage', validLine],
        [validLine, validLine],
      ]) {
        expectResponseCode(await rawExchange(port, getMe(lines)), 'R-BADREQ');
      }
      // The control: one header on the same wire path authenticates.
      expect((await rawExchange(port, getMe([validLine]))).statusCode).toBe(200);
    });
  });

  // docs/security.md, item 4
  describe('a token only in the URL or the body', () => {
    it('?access_token=<valid> → R-NOAUTH, and the access log has the value redacted', async () => {
      const response = await me({}, `/api/v1/me?access_token=${valid}`);
      expectResponseCode(response, 'R-NOAUTH');
      const line = app.logs.find((entry) => entry.reqId === response.headers['x-request-id'] && entry.msg === 'request');
      expect(line?.url).toBe('/api/v1/me?access_token=[REDACTED]');
      expect(app.logText()).not.toMatch(tokenScannerRegExp());
      expect(app.logText()).not.toContain(valid.slice(8));
    });

    it('a form POST access_token=<valid> → R-NOAUTH, nothing written', async () => {
      const before = await count('audit_events');
      const response = await app.http.inject({
        method: 'POST',
        url: '/api/v1/namespaces',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `access_token=${valid}`,
      });
      expectResponseCode(response, 'R-NOAUTH');
      expect(await count('audit_events')).toBe(before);
      expect(app.logText()).not.toMatch(tokenScannerRegExp());
    });
  });

  // docs/security.md, item 5
  describe('invalid tokens are short-circuited and indistinguishable', () => {
    it('format failures → R-INVALID with 0 DB queries; the rest → R-INVALID; all byte-identical', async () => {
      const body = valid.slice(8, 51);
      const formatFailures: Record<string, string> = {
        'wrong tag': withChecksum(`lx_pat_1${body}`),
        'wrong kind': withChecksum(`lk_sat_1${body}`),
        'wrong version': withChecksum(`lk_pat_2${body}`),
        'length 56': withChecksum(`lk_pat_1${body.slice(1)}`),
        'length 58': withChecksum(`lk_pat_1${body}A`),
        'length 60': withChecksum(`lk_pat_1${body}AAA`),
        'a non-base62 character': withChecksum(`lk_pat_1${body.slice(0, 20)}-${body.slice(21)}`),
        'flipped last character (CRC mismatch)': valid.slice(0, -1) + (valid.endsWith('A') ? 'B' : 'A'),
      };
      // The control: the same construction without a defect is a real token.
      expect(withChecksum(`lk_pat_1${body}`)).toBe(valid);

      const responses: Array<{ label: string; response: ReturnType<typeof comparable> }> = [];
      for (const [label, token] of Object.entries(formatFailures)) {
        ctx.queries.length = 0;
        const response = await me(bearer(token));
        expectResponseCode(response, 'R-INVALID');
        expect(ctx.queries, label).toEqual([]);
        responses.push({ label, response: comparable(response) });
      }

      const owner = await app.signIn();
      const disabledOwners = await app.createToken(owner, 'owner-disabled');
      await app.services.accounts.disable(owner.account.id, SYSTEM_ACTOR);
      const revoked = await app.createToken(session, 'revoked');
      const del = await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${revoked.token.id}`, headers: session.headers });
      expect(del.statusCode).toBe(204);
      const wellFormed: Record<string, string> = {
        'random well-formed with a correct CRC': unknownWellFormedToken(),
        revoked: revoked.secret,
        'owner disabled': disabledOwners.secret,
      };
      for (const [label, token] of Object.entries(wellFormed)) {
        ctx.queries.length = 0;
        const response = await me(bearer(token));
        expectResponseCode(response, 'R-INVALID');
        expect(ctx.queries.length, `${label} is looked up`).toBeGreaterThan(0);
        responses.push({ label, response: comparable(response) });
      }

      const [first, ...rest] = responses;
      for (const { label, response } of rest) expect(response, `${label} vs ${first!.label}`).toEqual(first!.response);
    });
  });

  // docs/security.md, item 6
  describe('expired token', () => {
    it('expires_at = DB now − 1 s → exactly R-EXPIRED', async () => {
      const { token, secret } = await app.createToken(session, 'expiring');
      await expireToken(ctx, token.id);
      const body = expectResponseCode(await me(bearer(secret)), 'R-EXPIRED');
      expect(body.type).toBe('/docs/errors/token-expired');
      // Another token of the account is unaffected.
      expect((await me(bearer(valid))).statusCode).toBe(200);
    });
  });

  // docs/security.md, item 7
  describe('oversized and hostile headers', () => {
    it('a 17 KiB Authorization → 431 from Node; the process keeps serving; nothing token-shaped logged', async () => {
      await app.http.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.http.server.address() as AddressInfo;
      const huge = `Bearer ${valid}${'A'.repeat(17 * 1024)}`;
      const response = await rawExchange(port, getMe([`Authorization: ${huge}`]));
      expect(response.statusCode).toBe(431);
      expect(response.raw).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/);
      expect(response.raw).toContain('"status":431,"code":"HEADERS_TOO_LARGE"');
      expect(response.raw).not.toMatch(tokenScannerRegExp());

      const next = await rawExchange(port, getMe([`Authorization: Bearer ${valid}`]));
      expect(next.statusCode).toBe(200);
      const text = app.logText();
      expect(text).not.toMatch(tokenScannerRegExp());
      expect(text).not.toContain('A'.repeat(64));
    });

    it('a 4 KiB Bearer value → R-INVALID with 0 DB queries, quickly', async () => {
      const value = `Bearer lk_pat_1${'A'.repeat(4096 - 15)}`;
      expect(value).toHaveLength(4096);
      const times: number[] = [];
      for (let round = 0; round < 21; round++) {
        ctx.queries.length = 0;
        const started = process.hrtime.bigint();
        const response = await me({ authorization: value });
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        expectResponseCode(response, 'R-INVALID');
        expect(ctx.queries).toEqual([]);
      }
      // The median of 21 in-process requests: robust against one slow GC pause on a busy CI host.
      times.sort((a, b) => a - b);
      expect(times[10]).toBeLessThan(5);
    });

    it('NUL, CR or LF in the value → 400 from the parser, no crash; a new connection → 200', async () => {
      await app.http.listen({ port: 0, host: '127.0.0.1' });
      const { port } = app.http.server.address() as AddressInfo;
      for (const hostile of ['\u0000', '\r', '\n']) {
        const request = getMe([`Authorization: Bearer ${valid.slice(0, 30)}${hostile}${valid.slice(30)}`]);
        const response = await rawExchange(port, Buffer.from(request, 'latin1'));
        expect(response.statusCode, JSON.stringify(hostile)).toBe(400);
        expect(response.raw).toContain('"status":400,"code":"BAD_REQUEST"');
        expect(response.raw).not.toMatch(tokenScannerRegExp());
        const next = await rawExchange(port, getMe([`Authorization: Bearer ${valid}`]));
        expect(next.statusCode, `after ${JSON.stringify(hostile)}`).toBe(200);
      }
      expect(app.logs.filter((entry) => Number(entry.level) >= 50)).toEqual([]);
    });
  });

  // docs/security.md, item 8
  describe('create-token body validation', () => {
    const create = (payload: unknown) =>
      app.http.inject({ method: 'POST', url: '/api/v1/tokens', headers: session.headers, payload: payload as object });

    const badNames: Array<[string, unknown]> = [
      ['{}', {}],
      ['empty name', { name: '' }],
      ['blank name', { name: '   ' }],
      ['65 code points', { name: '😀'.repeat(65) }],
      ['65 ASCII characters', { name: 'a'.repeat(65) }],
      ['a number', { name: 123 }],
      ['ESC [2J', { name: 'a\u001b[2Jb' }],
      ['BEL', { name: 'a\u0007b' }],
      ['NUL', { name: 'a\u0000b' }],
      ['RLO (U+202E)', { name: 'a\u202eb' }],
      ['LRI (U+2066)', { name: 'a\u2066b' }],
      ['CR LF', { name: 'a\r\nb' }],
    ];
    for (const [label, payload] of badNames) {
      it(`${label} → R-422 at /name, token count unchanged`, async () => {
        const before = await count('tokens');
        const body = expectResponseCode(await create(payload), 'R-422') as { errors: Array<{ pointer: string }> };
        expect(body.errors[0]!.pointer).toBe('/name');
        expect(await count('tokens')).toBe(before);
      });
    }

    it('64 code points are accepted (the boundary)', async () => {
      expect((await create({ name: '😀'.repeat(64) })).statusCode).toBe(201);
    });

    it('"café" in NFD is stored as NFC', async () => {
      const nfd = 'cafe\u0301';
      const response = await create({ name: nfd });
      expect(response.statusCode).toBe(201);
      expect(response.json().token.name).toBe('caf\u00e9');
      const rows = (await ctx.exec(sql`select name from tokens where id = ${response.json().token.id}`)) as Array<{ name: string }>;
      expect(rows[0]!.name).toBe('caf\u00e9');
    });

    it('a duplicate active name → R-409; reusable after revoking', async () => {
      const first = await create({ name: 'ci' });
      expect(first.statusCode).toBe(201);
      const before = await count('tokens');
      expectResponseCode(await create({ name: 'ci' }), 'R-409');
      expect(await count('tokens')).toBe(before);
      const del = await app.http.inject({
        method: 'DELETE',
        url: `/api/v1/tokens/${first.json().token.id}`,
        headers: session.headers,
      });
      expect(del.statusCode).toBe(204);
      expect((await create({ name: 'ci' })).statusCode).toBe(201);
    });

    it('expiresInDays outside the allowed set → R-422; the allowed values work', async () => {
      for (const expiresInDays of [0, 1, 29, 181, 365, -30, 30.5, '30', null]) {
        const before = await count('tokens');
        const body = expectResponseCode(await create({ name: `e-${String(expiresInDays)}`, expiresInDays }), 'R-422') as {
          errors: Array<{ pointer: string }>;
        };
        expect(body.errors[0]!.pointer, String(expiresInDays)).toBe('/expiresInDays');
        expect(await count('tokens')).toBe(before);
      }
      for (const days of [7, 30, 60, 90, 180]) {
        const response = await create({ name: `ok-${days}`, expiresInDays: days });
        expect(response.statusCode).toBe(201);
        const { createdAt, expiresAt } = response.json().token as { createdAt: string; expiresAt: string };
        expect(Date.parse(expiresAt) - Date.parse(createdAt)).toBe(days * DAY_MS);
      }
    });

    it('the default lifetime is exactly 180 days', async () => {
      const response = await create({ name: 'default' });
      expect(response.statusCode).toBe(201);
      const { id, createdAt, expiresAt } = response.json().token as { id: string; createdAt: string; expiresAt: string };
      expect(Date.parse(expiresAt) - Date.parse(createdAt)).toBe(180 * DAY_MS);
      const rows = (await ctx.exec(sql`select created_at, expires_at from tokens where id = ${id}`)) as Array<{
        created_at: unknown;
        expires_at: unknown;
      }>;
      expect(Number(rows[0]!.expires_at) - Number(rows[0]!.created_at)).toBe(180 * DAY_MS);
    });
  });

  // docs/security.md, item 9
  describe('transport-level body errors write nothing', () => {
    const post = (contentType: string, payload: string) =>
      app.http.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: { ...session.headers, 'content-type': contentType },
        payload,
      });

    for (const [label, contentType, payload, code] of [
      ['invalid JSON', 'application/json', '{"name": "x"', 'R-400B'],
      ['Content-Type: text/plain', 'text/plain', '{"name":"x"}', 'R-415'],
      ['a 20 KiB body', 'application/json', JSON.stringify({ name: 'x', pad: 'p'.repeat(20 * 1024) }), 'R-413'],
    ] as const) {
      it(`${label} → ${code}, no row written`, async () => {
        const before = { tokens: await count('tokens'), audit: await count('audit_events') };
        expectResponseCode(await post(contentType, payload), code);
        expect({ tokens: await count('tokens'), audit: await count('audit_events') }).toEqual(before);
      });
    }
  });

  // docs/security.md, item 10
  describe('delete edge cases and IDOR', () => {
    let other: TestSession;
    let aTokenId: string;
    beforeEach(async () => {
      other = await app.signIn();
      const list = await app.http.inject({ url: '/api/v1/tokens', headers: session.headers });
      aTokenId = (list.json().tokens as Array<{ id: string }>)[0]!.id;
    });

    it("B deleting A's id, a random uuid or a non-uuid → identical R-404; A's token still works", async () => {
      const responses = [];
      for (const id of [aTokenId, randomUUID(), 'not-a-uuid']) {
        const response = await app.http.inject({ method: 'DELETE', url: `/api/v1/tokens/${id}`, headers: other.headers });
        expectResponseCode(response, 'R-404');
        responses.push(comparable(response));
      }
      expect(responses[1]).toEqual(responses[0]);
      expect(responses[2]).toEqual(responses[0]);
      expect((await me(bearer(valid))).statusCode).toBe(200);
    });

    it("B's list shows only B's tokens", async () => {
      const mine = await app.createToken(other, 'b-token');
      const list = await app.http.inject({ url: '/api/v1/tokens?state=all', headers: other.headers });
      expect((list.json().tokens as Array<{ id: string }>).map((t) => t.id)).toEqual([mine.token.id]);
      expect(list.body).not.toContain(aTokenId);
    });

    it('deleting the same id twice → 204, then R-404', async () => {
      const url = `/api/v1/tokens/${aTokenId}`;
      expect((await app.http.inject({ method: 'DELETE', url, headers: session.headers })).statusCode).toBe(204);
      expectResponseCode(await app.http.inject({ method: 'DELETE', url, headers: session.headers }), 'R-404');
      expectResponseCode(await me(bearer(valid)), 'R-INVALID');
    });

    it('GET variants of delete → 404/405 with no state change', async () => {
      const audit = await count('audit_events');
      for (const url of [
        `/api/v1/tokens/${aTokenId}/delete`,
        `/api/v1/tokens/${aTokenId}/revoke`,
        `/api/v1/tokens/${aTokenId}?_method=DELETE`,
        `/api/v1/tokens/delete/${aTokenId}`,
      ]) {
        const response = await app.http.inject({ method: 'GET', url, headers: session.headers });
        expect([200, 404, 405], url).toContain(response.statusCode);
        if (response.statusCode === 200) expect(response.json().state, url).toBe('active');
      }
      const response = await app.http.inject({ method: 'GET', url: `/api/v1/tokens/${aTokenId}/delete`, headers: session.headers });
      expect([404, 405]).toContain(response.statusCode);
      expect(await count('audit_events')).toBe(audit);
      expect((await me(bearer(valid))).statusCode).toBe(200);
    });
  });
});

