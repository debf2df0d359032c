/** `latchkey namespace …` and `latchkey token …` in-process against the real app. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DAY_MS } from '@latchkey/contract';
import { generateToken } from '@latchkey/contract/token';
import { createMemoryFailureLimiter } from '../../server/src/auth-failures/memory-failure-limiter.js';
import { systemClock } from '../../server/src/kernel/clock.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp, TestSession } from '../../server/test/support/app.js';
import { createCliHarness, type CliHarness } from './support/cli-harness.js';
import { createInjectFetch, type InjectFetch } from './support/inject-fetch.js';
import { closeServerApp, createServerApp, seedNamespace, seedToken } from './support/server.js';

const URL_A = 'https://latchkey.test';

let app: TestApp;
let api: InjectFetch;
let cli: CliHarness;
let session: TestSession;
let token: string;

beforeEach(async () => {
  app = await createServerApp();
  api = createInjectFetch(app);
  cli = createCliHarness({ fetch: api.fetch });
  session = await app.signIn({ email: 'dev@example.test' });
  token = (await app.createToken(session, 'laptop')).secret;
  expect((await cli.run(['context', 'use', URL_A, '--token-stdin'], { stdin: token })).code).toBe(0);
});

afterEach(async () => {
  cli.cleanup();
  await closeServerApp(app);
});

describe('namespace', () => {
  it('create → list (aligned table, stable JSON) → delete --yes', async () => {
    const created = await cli.run(['namespace', 'create', 'test-cindylopez']);
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^Created namespace "test-cindylopez"/);
    await cli.run(['namespace', 'create', 'pr-123']);

    const table = await cli.run(['namespace', 'list']);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+DEFAULT\s+CREATED$/);
    expect(new Set(lines.map((line) => line.search(/CREATED|\d{4}-\d\d-\d\d/))).size).toBe(1);

    const json = JSON.parse((await cli.run(['namespace', 'list', '--output', 'json'])).stdout);
    expect(json.namespaces.map((namespace: { name: string }) => namespace.name).sort()).toEqual(['pr-123', 'test-cindylopez']);
    expect(Object.keys(json.namespaces[0]).sort()).toEqual(['createdAt', 'id', 'name']);

    const deleted = await cli.run(['namespace', 'delete', 'pr-123', '--yes']);
    expect(deleted).toMatchObject({ code: 0, stdout: 'Deleted namespace "pr-123".\n' });
    const missing = await cli.run(['namespace', 'delete', 'pr-123', '--yes']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: No such namespace.\n');
  });

  it('delete asks on a terminal, refuses without --yes in a script', async () => {
    await cli.run(['namespace', 'create', 'keep-me']);
    const declined = await cli.run(['namespace', 'delete', 'keep-me'], { tty: true, stdin: 'n\n' });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain('Delete namespace "keep-me"? This cannot be undone. [y/N]');
    const script = await cli.run(['namespace', 'delete', 'keep-me']);
    expect(script.code).toBe(2);
    expect(script.stderr).toContain('pass --yes');
    expect(api.requests.filter((request) => request.method === 'DELETE')).toHaveLength(0);
    const accepted = await cli.run(['namespace', 'delete', 'keep-me'], { tty: true, stdin: 'y\n' });
    expect(accepted.code).toBe(0);
  });

  it('a duplicate is the server’s CONFLICT detail; an invalid name is a usage error with no request', async () => {
    await cli.run(['namespace', 'create', 'dup']);
    const again = await cli.run(['namespace', 'create', 'dup']);
    expect(again).toMatchObject({ code: 1, stderr: 'error: The namespace "dup" already exists.\n' });
    const before = api.requests.length;
    const bad = await cli.run(['namespace', 'create', 'Not_Valid']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a valid namespace name');
    expect(api.requests).toHaveLength(before);
  });

  it('namespace use refuses a namespace you do not have', async () => {
    const result = await cli.run(['namespace', 'use', 'ghost']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('You have no namespace "ghost"');
  });

  it('prints names seeded with ESC/OSC sequences escaped, in tables and JSON', async () => {
    await seedNamespace(app.database, session.account.id, 'evil\u001b]0;pwned\u0007\u001b[31mred\u202e');
    const table = await cli.run(['namespace', 'list']);
    expect(table.stdout).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(table.stdout).toContain('evil\\x1b]0;pwned\\x07\\x1b[31mred\\u{202e}');
    const json = await cli.run(['namespace', 'list', '-o', 'json']);
    expect(json.stdout).not.toMatch(/[\u001b\u0007\u202e]/);
    expect(JSON.parse(json.stdout).namespaces[0].name).toBe('evil\u001b]0;pwned\u0007\u001b[31mred\u202e');
  });
});

describe('token', () => {
  it('token show: name, state, expiry, masked token — never the secret', async () => {
    const shown = await cli.run(['token', 'show']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^Name:\s+laptop$/m);
    expect(shown.stdout).toMatch(/^State:\s+active$/m);
    expect(shown.stdout).toMatch(new RegExp(`^Token:\\s+lk_pat_1…${token.slice(-4)}$`, 'm'));
    expect(shown.stdout).toMatch(/^Expires:\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 180 days\)$/m);
    expect(shown.stdout).not.toContain(token);
    const json = JSON.parse((await cli.run(['token', 'show', '--output', 'json'])).stdout);
    expect(json).toMatchObject({ name: 'laptop', state: 'active', displayToken: `lk_pat_1…${token.slice(-4)}` });
    expect(JSON.stringify(json)).not.toContain(token);
  });

  it('token revoke revokes at the server and removes the token from the context; the next command says so', async () => {
    const revoked = await cli.run(['token', 'revoke', '--yes']);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain('Revoked the token. Removed it from context "latchkey.test"');
    const stored = JSON.parse(readFileSync(join(cli.latchkeyHome, 'config.json'), 'utf8'));
    expect(stored.contexts[0].token).toBeNull();
    expect((await app.http.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);

    const next = await cli.run(['namespace', 'list']);
    expect(next.code).toBe(1);
    expect(next.stderr).toContain('has no token any more (it was revoked)');
  });

  it('a token revoked elsewhere: INVALID_TOKEN says it is not valid any more, exit 1', async () => {
    await app.http.inject({ method: 'DELETE', url: '/api/v1/tokens/self', headers: { authorization: `Bearer ${token}` } });
    const result = await cli.run(['namespace', 'list']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: the token is not valid any more .*Settings › Personal Access Tokens/);
    expect(result.stderr).not.toContain(token);
  });

  it('an expired token: says on which date it expired and how to create a new one, however it was given', async () => {
    const expiresAt = Date.UTC(2025, 10, 3, 9, 30);
    const expired = await seedToken(app.database, session.account.id, { name: 'old', expiresAt });
    const expiredMessage =
      'error: the token expired on 2025-11-03 09:30 UTC. Expired tokens cannot be renewed: ' +
      'create a new one in the console at https://latchkey.test (Settings › Personal Access Tokens), ' +
      'then run `latchkey context use https://latchkey.test --token-stdin` (or update LATCHKEY_TOKEN).\n';

    // The server says when (`expiresAt` in the TOKEN_EXPIRED problem), so env and flag tokens get the date too.
    const fromEnv = await cli.run(['namespace', 'list'], { env: { LATCHKEY_TOKEN: expired } });
    expect(fromEnv).toMatchObject({ code: 1, stdout: '', stderr: expiredMessage });
    const fromFlag = await cli.run(['token', 'show', '--token', expired]);
    expect(fromFlag.code).toBe(1);
    expect(fromFlag.stderr.split('\n')[1]).toBe(expiredMessage.trimEnd());
    const fromStdin = await cli.run(['namespace', 'create', 'nope', '--token-stdin'], { stdin: expired });
    expect(fromStdin).toMatchObject({ code: 1, stderr: expiredMessage });

    const configPath = join(cli.latchkeyHome, 'config.json');
    const stored = JSON.parse(readFileSync(configPath, 'utf8'));
    stored.contexts[0].token = expired;
    writeFileSync(configPath, JSON.stringify(stored));
    const fromContext = await cli.run(['namespace', 'list']);
    expect(fromContext).toMatchObject({ code: 1, stderr: expiredMessage });
    expect(fromEnv.stderr + fromFlag.stderr + fromStdin.stderr + fromContext.stderr).not.toContain(expired);
  });

  it('an expired token from a server that does not say when: the date the context stored, else none', async () => {
    const expiredAnswer = async () =>
      new Response(JSON.stringify({ type: '/docs/errors/token-expired', title: 'Token expired', status: 401, code: 'TOKEN_EXPIRED' }), {
        status: 401,
        headers: { 'content-type': 'application/problem+json' },
      });
    const configPath = join(cli.latchkeyHome, 'config.json');
    const stored = JSON.parse(readFileSync(configPath, 'utf8'));
    stored.contexts[0].tokenExpiresAt = new Date(Date.UTC(2025, 10, 3, 9, 30)).toISOString();
    writeFileSync(configPath, JSON.stringify(stored));
    const fromContext = await cli.run(['namespace', 'list'], { fetch: expiredAnswer });
    expect(fromContext.code).toBe(1);
    expect(fromContext.stderr).toMatch(/^error: the token expired on 2025-11-03 09:30 UTC\. Expired tokens cannot be renewed/);
    const fromEnv = await cli.run(['namespace', 'list'], { fetch: expiredAnswer, env: { LATCHKEY_TOKEN: token } });
    expect(fromEnv.stderr).toMatch(/^error: the token expired\. Expired tokens cannot be renewed: create a new one/);
  });

  it('words a near expiry as the console does: "in less than an hour" for 40 seconds, never "in 1 day"', async () => {
    const closing = await seedToken(app.database, session.account.id, { name: 'closing', expiresAt: Date.now() + 40_000 });
    const result = await cli.run(['token', 'show'], { env: { LATCHKEY_TOKEN: closing } });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^warning: this token expires in less than an hour \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\); /);
    expect(result.stdout).toMatch(/^Expires:\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC \(in less than an hour\)$/m);
    expect(result.stderr + result.stdout).not.toContain('1 day');
  });

  it('warns once on stderr when the token expires within 7 days', async () => {
    const soon = await seedToken(app.database, session.account.id, { name: 'soon', expiresAt: Date.now() + 3 * DAY_MS - 60_000 });
    const result = await cli.run(['namespace', 'list', '-o', 'json'], { env: { LATCHKEY_TOKEN: soon } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ namespaces: [] });
    expect(result.stderr).toMatch(/^warning: this token expires in 3 days \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\); create a new one/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect((await cli.run(['namespace', 'list'])).stderr).not.toContain('warning');
  });

  it('token names seeded with control characters are shown escaped', async () => {
    const sneaky = await seedToken(app.database, session.account.id, {
      name: 'ci\u001b[2J\u001b]52;c;aGk=\u0007',
      expiresAt: Date.now() + 100 * DAY_MS,
    });
    const result = await cli.run(['token', 'show'], { env: { LATCHKEY_TOKEN: sneaky } });
    expect(result.stdout).toMatch(/^Name:\s+ci\\x1b\[2J\\x1b\]52;c;aGk=\\x07$/m);
    expect(result.stdout).not.toMatch(/[\u001b\u0007]/);
  });

  it('token show prints the token’s note on a Note line, escaped like names, and no Note line without one', async () => {
    const noted = await seedToken(app.database, session.account.id, {
      name: 'deploy',
      note: 'GitHub Actions in acme/web\u001b[2J',
      expiresAt: Date.now() + 100 * DAY_MS,
    });
    const result = await cli.run(['token', 'show'], { env: { LATCHKEY_TOKEN: noted } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Note:\s+GitHub Actions in acme\/web\\x1b\[2J$/m);
    expect(result.stdout).not.toMatch(/\u001b/);
    expect((await cli.run(['token', 'show'])).stdout).not.toMatch(/^Note:/m);
  });
});

describe('exit policy', () => {
  it('network failure names the URL it could not reach', async () => {
    const result = await cli.run(['namespace', 'list'], {
      fetch: async () => {
        throw new TypeError('fetch failed', { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
      },
    });
    expect(result).toMatchObject({ code: 1 });
    expect(result.stderr).toBe(
      'error: could not reach https://latchkey.test (ECONNREFUSED). Check the URL and your network connection.\n',
    );
  });

  it('masks anything token-shaped in a server’s message, also where it is glued to other text', async () => {
    const conflict = async () =>
      new Response(
        JSON.stringify({ type: '/docs/errors/conflict', title: 'Conflict', status: 409, code: 'CONFLICT', detail: `x${token} and ${token}.` }),
        { status: 409, headers: { 'content-type': 'application/problem+json' } },
      );
    const result = await cli.run(['namespace', 'create', 'dup'], { fetch: conflict });
    expect(result).toMatchObject({ code: 1, stderr: 'error: xlk_pat_1… and lk_pat_1….\n' });
  });

  it('a non-Latchkey answer, --help, version, unknown commands and bad options', async () => {
    const proxy = await cli.run(['namespace', 'list'], { fetch: async () => new Response('<html>', { status: 502 }) });
    expect(proxy.code).toBe(1);
    expect(proxy.stderr).toContain('answered 502; is https://latchkey.test a Latchkey server?');

    const help = await cli.run(['namespace', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Example:\n  $ latchkey namespace create test-cindylopez');
    expect(help.stdout).toContain('--token-stdin');

    expect((await cli.run(['version'])).stdout).toMatch(/^latchkey \d+\.\d+\.\d+ \(node /);
    expect(JSON.parse((await cli.run(['version', '-o', 'json'])).stdout)).toHaveProperty('version');
    expect((await cli.run(['frobnicate'])).code).toBe(2);
    expect((await cli.run(['namespace', 'list', '--output', 'yaml'])).code).toBe(2);
    expect((await cli.run([])).code).toBe(2);
  });

  it('--verbose shows requests, never the token or its header', async () => {
    const result = await cli.run(['namespace', 'list', '--verbose']);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('> GET https://latchkey.test/api/v1/namespaces');
    expect(result.stderr).toMatch(/< 200 \(\d+ ms\)/);
    expect(result.stderr).not.toContain(token);
    expect(result.stderr.toLowerCase()).not.toContain('authorization');
  });
});

// docs/security.md, item 39: a throttle must never lock out a valid token.
describe('behind an address throttled by other clients\' failures', () => {
  it('a valid token the server has not verified yet gets through: the CLI waits out the short Retry-After and asks again', async () => {
    const throttling = await createServerApp({ failureLimiter: createMemoryFailureLimiter({ clock: systemClock }) });
    try {
      const owner = await throttling.signIn({ email: 'ci@example.test' });
      // Unknown well-formed tokens from the same address as the CLI's requests (inject's).
      const unknown = () => throttling.http.inject({ url: '/api/v1/me', headers: { authorization: `Bearer ${generateToken().token}` } });
      const answers: number[] = [];
      for (let request = 0; request < 40; request++) answers.push((await unknown()).statusCode);
      expect(answers.indexOf(429)).toBeGreaterThanOrEqual(30);
      expect(answers.slice(answers.indexOf(429))).toEqual(Array(40 - answers.indexOf(429)).fill(429));

      const fresh = (await throttling.createToken(owner, 'ci-runner')).secret;
      const inProcess = createCliHarness({ fetch: createInjectFetch(throttling).fetch });
      try {
        const listed = await inProcess.run(['namespace', 'list', '--output', 'json'], { env: { LATCHKEY_URL: URL_A, LATCHKEY_TOKEN: fresh } });
        expect(listed, listed.stderr).toMatchObject({ code: 0, stderr: '' });
        expect(JSON.parse(listed.stdout)).toEqual({ namespaces: [] });
      } finally {
        inProcess.cleanup();
      }
    } finally {
      await closeServerApp(throttling);
    }
  });
});
