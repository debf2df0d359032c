/**
 * docs/security.md, item 58, as a property over every route the app registers (read from its
 * route table, so a new route is fuzzed too): malformed paths (bad percent-encoding, %00,
 * overlong segments, encoded slashes, non-Latin and control characters), malformed query
 * strings, hostile headers and bodies, with and without credentials. Invariants:
 *   - never a 5xx, and nothing logged at error level (no unhandled exception);
 *   - every response has a request id;
 *   - every error is problem+json with the usual headers and the hygiene of item 11 — except the
 *     sign-in pages under /auth/, which answer a person's browser with an HTML page carrying
 *     the page security headers;
 *   - no body echoes the raw path.
 *
 * Requests go through `app.inject`, which resolves the URL the way a client would before
 * sending it (dot segments, non-ASCII as UTF-8 escapes); header values are mapped to what the
 * wire can carry, as in authorization-fuzz.test.ts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect, it } from 'vitest';
import { CONSOLE_PATHS } from '../../src/console/console-routes.js';
import { appForEachTest, bearer, type TestApp, type TestSession } from '../support/app.js';
import { describeEachBackend } from '../support/databases.js';
import { REQUEST_ID, expectProblemHeaders, expectProblemHygiene } from '../support/problem-checks.js';

/** Per backend: two backends, so about 3,000 requests in all. */
const RUNS = 1500;

const CONSOLE_BUILT = existsSync(fileURLToPath(new URL('../../../web/dist/index.html', import.meta.url)));

/** `%XX` for a byte. */
const escapeByte = (code: number) => `%${code.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * A generated string as a client puts it in a path or query: its UTF-8 bytes (non-Latin text
 * arrives as escapes or raw high bytes), with controls, space and `#` escaped (a client cannot
 * send them raw in a request line; a raw `#` would start a fragment that is never sent).
 */
function toWireUrlPart(value: string): string {
  return Buffer.from(value, 'utf8')
    .toString('latin1')
    .replace(/[\x00-\x20\x7f#]/g, (char) => escapeByte(char.charCodeAt(0)));
}

/** A header value the wire can carry: UTF-8 bytes read as latin1, controls other than HTAB shifted out. */
function toWireHeader(value: string): string {
  const latin1 = Buffer.from(value, 'utf8').toString('latin1');
  return latin1.replace(/[\x00-\x08\x0A-\x1F\x7F]/g, (char) => String.fromCharCode(char.charCodeAt(0) ^ 0x40));
}

const HOSTILE_PIECES = [
  '%', '%Z', '%ZZ', '%E4%B8', '%C0%AF', '%FF', '%80', '%00', '%0D%0A', '%09', '%7F', '%2F', '%2f%2F', '%5C', '%2e%2e',
  '%252F', '..', '.', '%E4%B8%AD', '%F0%9F%98%80', '%E2%80%AE', '中', 'ü', '😀', '\u202e', '\\', '//', ';', ':', '@',
  '*', '~', "'", '"', '<script>', 'lk_pat_1', 'self', 'null', '__proto__', 'constructor',
];

const hostileSegment: fc.Arbitrary<string> = fc.oneof(
  fc.array(fc.constantFrom(...HOSTILE_PIECES), { minLength: 1, maxLength: 6 }).map((pieces) => pieces.join('')),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 16 }).map(toWireUrlPart),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 16 }).map(toWireUrlPart),
  fc.integer({ min: 90, max: 4000 }).map((length) => 'x'.repeat(length)),
);

const QUERY_PIECES = [
  'return_to=', 'return_to=%2F%7F', 'return_to=/%E4%B8%AD', 'return_to=//evil.example', 'return_to=%2F%5Cevil',
  'state=', 'state=all', 'search=', 'access_token=x', 'redirect_uri=http://127.0.0.1:1/', 'code_challenge_method=S256',
  '%ZZ', '%', '&', '=', '==', '[]', 'a[b]=c', '__proto__[x]=1', 'constructor[prototype][x]=1', '%00', '中', '?', ';',
];

const hostileQuery: fc.Arbitrary<string> = fc.oneof(
  fc.constant(''),
  fc.array(fc.constantFrom(...QUERY_PIECES), { minLength: 1, maxLength: 8 }).map((pieces) => `?${pieces.join('')}`),
  fc.string({ unit: 'binary', maxLength: 24 }).map((value) => `?${toWireUrlPart(value)}`),
  fc.integer({ min: 600, max: 6000 }).map((length) => `?return_to=/${'r'.repeat(length)}`),
);

const HEADER_NAMES = [
  'accept', 'accept-language', 'accept-encoding', 'content-type', 'cookie', 'origin', 'referer', 'host',
  'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'sec-fetch-site', 'x-csrf-token',
  'user-agent', 'if-none-match', 'if-modified-since', 'range', 'accept-version', 'x-request-id', 'content-encoding',
];

const HEADER_VALUES = [
  '', ' ', '%ZZ', '中', '*/*', 'application/json', 'application/json; charset=latin1', 'text/plain', 'text/html',
  'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'bytes=0-1,5-', 'bytes=-1', 'gzip, br, *',
  '__Host-latchkey_session=garbage', '__Host-latchkey_session=', 'a=b; a=c', 'https://evil.example', 'null',
  'cross-site', 'same-origin', '1.2.3.4, ::1, garbage', 'for="[::1]:80";proto=https', '9999999999999999999999',
  'W/"x", *', 'Thu, 01 Jan 1970 00:00:00 GMT', 'not a date', '1.0.0', '>=1',
];

const hostileHeaders: fc.Arbitrary<Record<string, string>> = fc.dictionary(
  fc.constantFrom(...HEADER_NAMES),
  fc.oneof(fc.constantFrom(...HEADER_VALUES), fc.string({ unit: 'binary', maxLength: 40 }).map(toWireHeader)),
  { maxKeys: 4 },
);

type Credentials = 'none' | 'session' | 'token' | 'bad token';
const credentials: fc.Arbitrary<Credentials> = fc.constantFrom('none', 'session', 'token', 'bad token');

type Body = { kind: 'none' } | { kind: 'json'; value: unknown } | { kind: 'raw'; contentType: string; text: string };
const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.jsonValue({ maxDepth: 3 }).map((value) => ({ kind: 'json' as const, value })),
  fc
    .record({
      name: fc.oneof(fc.string({ maxLength: 70 }), fc.constant('ok')),
      expiresInDays: fc.oneof(fc.constant(undefined), fc.integer({ min: -5, max: 400 })),
      extra: fc.oneof(fc.constant(undefined), fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 })),
    })
    .map(({ name, expiresInDays, extra }) => ({ kind: 'json' as const, value: { ...extra, name, expiresInDays } })),
  fc.record({
    kind: fc.constant('raw' as const),
    contentType: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'application/json; charset=utf-16'),
    text: fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('{', '{"name":', 'null', '[]', '""', 'name=x&name=y', '{"__proto__":{"x":1}}')),
  }),
);

/** One request: a route to aim at, and what to break in it. */
const requestCase = fc.record({
  route: fc.nat(),
  segment: hostileSegment,
  /** For a route without parameters: whether to append the hostile segment as one more level. */
  append: fc.boolean(),
  query: hostileQuery,
  headers: hostileHeaders,
  credentials,
  body,
});

function pathFor(url: string, segment: string, append: boolean): string {
  const path =
    url.includes(':') || url.includes('*')
      ? url.replace(/:[A-Za-z]+|\*/g, segment)
      : append
        ? `${url.replace(/\/$/, '')}/${segment}`
        : url;
  // `/\…` is sent as is by a client, but `inject` cannot resolve it (it reads it as `//host`).
  return path.replace(/^\/\\/, '/%5C');
}

function isDistinctive(segment: string): boolean {
  // The bare token prefix is in every answer that shows a masked token (`lk_pat_1…AbCd`).
  return segment.length >= 8 && !/^[a-z]+$/.test(segment) && segment !== 'lk_pat_1';
}

function decoded(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

describeEachBackend('every route survives malformed URLs, queries, headers and bodies', (ctx) => {
  let app: TestApp;
  appForEachTest(ctx, (fresh) => (app = fresh));

  it(`answers ${RUNS} hostile requests without a 5xx, each error as problem+json with the usual headers, never echoing the path`, async () => {
    const routes = app.routes.filter((route) => CONSOLE_BUILT || !(CONSOLE_PATHS as readonly string[]).includes(route.url));
    const session: TestSession = await app.signIn();
    const { secret } = await app.createToken(session, 'fuzz');
    let seen = 0;

    await fc.assert(
      fc.asyncProperty(requestCase, async (input) => {
        const route = routes[input.route % routes.length]!;
        const path = pathFor(route.url, input.segment, input.append);
        const headers: Record<string, string> = { ...input.headers };
        // Credentials last for the ones that must hold, first for the ones the fuzz may garble.
        if (input.credentials === 'session') Object.assign(headers, { ...session.headers, ...input.headers });
        if (input.credentials === 'token') Object.assign(headers, bearer(secret));
        if (input.credentials === 'bad token') Object.assign(headers, bearer(`lk_pat_1${input.segment.slice(0, 60)}`));

        const url = `${path}${input.query}`;
        const options: InjectOptions = { method: route.method as InjectOptions['method'], url, headers };
        if (route.method !== 'GET' && route.method !== 'HEAD' && input.body.kind !== 'none') {
          if (input.body.kind === 'json') {
            headers['content-type'] ??= 'application/json';
            options.payload = JSON.stringify(input.body.value) ?? 'null';
          } else {
            headers['content-type'] = input.body.contentType;
            options.payload = input.body.text;
          }
        }

        const response: LightMyRequestResponse = await app.http.inject(options);
        seen++;
        const label = `${route.method} ${url.slice(0, 200)} → ${response.statusCode} ${response.body.slice(0, 200)}`;

        expect(response.statusCode, label).toBeLessThan(500);
        expect(response.headers['x-request-id'], label).toMatch(REQUEST_ID);

        if (response.statusCode >= 400 && route.method !== 'HEAD') {
          const type = String(response.headers['content-type'] ?? '');
          if (type.startsWith('text/html')) {
            // The sign-in pages answer a person with a page; nothing else may.
            expect(path.startsWith('/auth/'), label).toBe(true);
            expect(response.headers['content-security-policy'], label).toBeTruthy();
            expect(response.headers['x-content-type-options'], label).toBe('nosniff');
          } else {
            expectProblemHygiene(response, label);
            expectProblemHeaders(response, label);
          }
        }

        if (isDistinctive(input.segment)) {
          expect(response.body.includes(input.segment), label).toBe(false);
          const plain = decoded(input.segment);
          if (plain !== undefined && isDistinctive(plain)) expect(response.body.includes(plain), label).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );

    expect(seen).toBeGreaterThanOrEqual(RUNS);
    // An error answered politely is still a bug if it was unexpected: nothing logged at error level.
    const errors = app.logs.filter((line) => typeof line.level === 'number' && line.level >= 50);
    expect(errors.map((line) => line.msg)).toEqual([]);
  });
});
