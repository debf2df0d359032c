/**
 * `latchkey admin accounts|tokens|audit`, in-process against the real app: an administrator's
 * token with admin:read and admin:write manages another account and its tokens and reads the
 * audit log; a member's token, or an administrator's without the admin scopes, is refused.
 */
import { ADMIN_ACCOUNT_STATES } from '@latchkey/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp, TestSession } from '../../server/test/support/app.js';
import { ACCOUNT_STATE_FILTERS } from '../src/commands/admin/accounts/list.js';
import { createCliHarness, type CliHarness, type CliResult } from './support/cli-harness.js';
import { createInjectFetch, type InjectFetch } from './support/inject-fetch.js';
import { closeServerApp, createServerApp } from './support/server.js';

const URL_A = 'https://latchkey.test';

let app: TestApp;
let api: InjectFetch;
let cli: CliHarness;
let admin: TestSession;
let bob: TestSession;
let adminToken: string;
let bobToken: { id: string; secret: string };

beforeEach(async () => {
  app = await createServerApp();
  api = createInjectFetch(app);
  cli = createCliHarness({ fetch: api.fetch, env: { LATCHKEY_URL: URL_A } });
  admin = await app.signIn({ email: 'admin@example.test', isAdmin: true });
  bob = await app.signIn({ email: 'bob@example.test' });
  adminToken = (await app.createToken(admin, 'admin-cli', { scopes: ['admin:read', 'admin:write', 'tokens:read'] })).secret;
  const created = await app.createToken(bob, 'laptop');
  bobToken = { id: created.token.id, secret: created.secret };
});

afterEach(async () => {
  cli?.cleanup();
  await closeServerApp(app);
});

/** Runs the CLI as the administrator (or with `token`). */
function run(argv: string[], options: { token?: string; tty?: boolean; stdin?: string } = {}): Promise<CliResult> {
  return cli.run(argv, { tty: options.tty, stdin: options.stdin, env: { LATCHKEY_TOKEN: options.token ?? adminToken } });
}

async function ok(argv: string[], options: { token?: string; tty?: boolean; stdin?: string } = {}): Promise<CliResult> {
  const result = await run(argv, options);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

/** What /api/v1/me answers to a bearer token. */
async function statusOf(secret: string): Promise<number> {
  return (await api.fetch(`${URL_A}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } })).status;
}

describe('admin accounts', () => {
  it('the state filters are the contract\'s', () => {
    expect(ACCOUNT_STATE_FILTERS).toEqual([...ADMIN_ACCOUNT_STATES]);
  });

  it('lists accounts as a table and as JSON, searched', async () => {
    const table = (await ok(['admin', 'accounts', 'list'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^ACCOUNT\s+NAME\s+ROLE\s+STATE\s+TOKENS\s+LAST SIGN-IN\s+ID$/);
    expect(table).toMatch(/admin@example\.test\s.*\sadmin\s+active\s+1\s/);
    expect(table).toMatch(/bob@example\.test\s.*\smember\s+active\s+1\s/);

    const json = JSON.parse((await ok(['admin', 'accounts', 'list', '--search', 'BOB', '--output', 'json'])).stdout);
    expect(json.accounts).toHaveLength(1);
    expect(json.accounts[0]).toMatchObject({ id: bob.account.id, email: 'bob@example.test', isAdmin: false, disabledAt: null, activeTokens: 1 });
  });

  it('disables an account by email (its token is refused), lists it as disabled, and enables it by id', async () => {
    expect(await statusOf(bobToken.secret)).toBe(200);
    const disabled = await ok(['admin', 'accounts', 'disable', 'bob@example.test', '--yes']);
    expect(disabled.stdout).toBe(`Disabled account bob@example.test (${bob.account.id}).\n`);
    expect(await statusOf(bobToken.secret)).toBe(401);
    const list = JSON.parse((await ok(['admin', 'accounts', 'list', '--state', 'disabled', '--output', 'json'])).stdout);
    expect(list.accounts.map((account: { id: string }) => account.id)).toEqual([bob.account.id]);

    await ok(['admin', 'accounts', 'enable', bob.account.id]);
    expect(await statusOf(bobToken.secret)).toBe(200);
  });

  it('asks before disabling, naming the account and its tokens; no answer, no change; no terminal, no --yes: usage error', async () => {
    const declined = await run(['admin', 'accounts', 'disable', 'bob@example.test'], { tty: true, stdin: 'n\n' });
    expect(declined.stderr).toContain(`Disable account bob@example.test (${bob.account.id})? It is signed out until it is enabled again. Its 1 active token stops working at once.`);
    expect(declined).toMatchObject({ code: 1 });
    expect(declined.stderr).toContain('error: Not disabled.');
    const script = await run(['admin', 'accounts', 'disable', 'bob@example.test']);
    expect(script.code).toBe(2);
    expect(script.stderr).toContain('pass --yes to confirm');
    expect(await statusOf(bobToken.secret)).toBe(200);
  });

  it('deletes an account after confirmation: its token dies with it', async () => {
    const result = await ok(['admin', 'accounts', 'delete', 'bob@example.test'], { tty: true, stdin: 'y\n' });
    expect(result.stderr).toContain('Delete account bob@example.test');
    expect(result.stderr).toContain('Its 1 active token stops working for good. This cannot be undone.');
    expect(result.stdout).toBe(`Deleted account bob@example.test (${bob.account.id}).\n`);
    expect(await statusOf(bobToken.secret)).toBe(401);
    const list = JSON.parse((await ok(['admin', 'accounts', 'list', '--output', 'json'])).stdout);
    expect(list.accounts.map((account: { email: string }) => account.email)).toEqual(['admin@example.test']);
  });

  it('names an unknown email; an administrator cannot disable their own account', async () => {
    const unknown = await run(['admin', 'accounts', 'disable', 'nobody@example.test', '--yes']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No account has the email "nobody@example.test"');
    const self = await run(['admin', 'accounts', 'disable', 'admin@example.test', '--yes']);
    expect(self.code).toBe(1);
    expect(await statusOf(adminToken)).toBe(200);
  });

  it('shows one account by email (table) and by id (JSON); a disabled one says since when; an unknown email is named', async () => {
    const table = (await ok(['admin', 'accounts', 'show', 'BOB@example.test'])).stdout;
    const fields = Object.fromEntries(table.trimEnd().split('\n').map((line) => line.split(/:\s+/, 2) as [string, string]));
    expect(Object.keys(fields)).toEqual(['Email', 'Name', 'Role', 'State', 'Active tokens', 'Last sign-in', 'Created', 'ID']);
    expect(fields).toMatchObject({ Email: 'bob@example.test', Role: 'member', State: 'active', 'Active tokens': '1', ID: bob.account.id });
    expect(fields.Created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    expect(api.requests.some((request) => request.url.includes('/api/v1/admin/accounts?') && request.url.includes('search=BOB%40example.test'))).toBe(true);

    await ok(['admin', 'accounts', 'disable', bob.account.id, '--yes']);
    const before = api.requests.length;
    const json = JSON.parse((await ok(['admin', 'accounts', 'show', bob.account.id, '--output', 'json'])).stdout);
    expect(json).toMatchObject({ id: bob.account.id, email: 'bob@example.test', isAdmin: false, activeTokens: 1, disabledAt: expect.any(String) });
    expect(api.requests.slice(before).map((request) => request.url)).toEqual([expect.stringMatching(new RegExp(`/api/v1/admin/accounts/${bob.account.id}$`))]);
    expect((await ok(['admin', 'accounts', 'show', bob.account.id])).stdout).toMatch(/^State:\s+disabled \(since \d{4}-.* UTC\)$/m);
    expect((await ok(['admin', 'accounts', 'show', 'admin@example.test'])).stdout).toMatch(/^Role:\s+admin$/m);

    const unknown = await run(['admin', 'accounts', 'show', 'nobody@example.test']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No account has the email "nobody@example.test"');
    expect((await run(['admin', 'accounts', 'show'])).code).toBe(2);
    const member = await run(['admin', 'accounts', 'show', 'admin@example.test'], { token: bobToken.secret });
    expect(member.code).toBe(1);
  });

  it('needs an account to name', async () => {
    const result = await run(['admin', 'accounts', 'disable']);
    expect(result.code).toBe(2);
  });
});

describe('admin tokens', () => {
  it('lists every account\'s tokens with their owner, filtered by owner (email) and scope', async () => {
    const table = (await ok(['admin', 'tokens', 'list'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^NAME\s+OWNER\s+SCOPES\s+STATE\s+EXPIRES\s+LAST USED\s+ID$/);
    expect(table).toMatch(new RegExp(`laptop\\s+bob@example\\.test\\s.*\\s${bobToken.id}\\n`));
    expect(table).toContain('admin-cli');

    const bobs = JSON.parse((await ok(['admin', 'tokens', 'list', '--owner', 'bob@example.test', '--output', 'json'])).stdout);
    expect(bobs.tokens.map((token: { id: string }) => token.id)).toEqual([bobToken.id]);
    expect(bobs.tokens[0].owner).toMatchObject({ id: bob.account.id, email: 'bob@example.test' });

    const admins = JSON.parse((await ok(['admin', 'tokens', 'list', '--scope', 'admin:write', '--output', 'json'])).stdout);
    expect(admins.tokens.map((token: { name: string }) => token.name)).toEqual(['admin-cli']);

    const expiring = JSON.parse((await ok(['admin', 'tokens', 'list', '--expiring-within', '1', '--output', 'json'])).stdout);
    expect(expiring.tokens).toEqual([]);
    const unused = JSON.parse((await ok(['admin', 'tokens', 'list', '--unused-for', '0', '--output', 'json'])).stdout);
    expect(unused.tokens.length).toBeGreaterThan(0);
  });

  it('refuses a non-numeric --expiring-within or --unused-for before any request', async () => {
    const before = api.requests.length;
    for (const option of ['--expiring-within', '--unused-for']) {
      const result = await run(['admin', 'tokens', 'list', option, 'soon']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(`${option} takes a whole number of days`);
    }
    expect(api.requests.length).toBe(before);
  });

  it('revokes another account\'s token after a confirmation naming it and its owner; the owner gets a notice', async () => {
    const result = await ok(['admin', 'tokens', 'revoke', bobToken.id], { tty: true, stdin: 'y\n' });
    expect(result.stderr).toContain(`Revoke token "laptop" of bob@example.test (${bobToken.id})? Everything using it stops working at once; its owner is told.`);
    expect(result.stdout).toBe(`Revoked token "laptop" of bob@example.test (${bobToken.id}).\n`);
    expect(await statusOf(bobToken.secret)).toBe(401);
    const notices = await app.http.inject({ url: '/api/v1/notices', headers: { cookie: bob.cookie } });
    expect(notices.json().notices).toEqual([
      expect.objectContaining({ kind: 'token_revoked_by_admin', token: expect.objectContaining({ id: bobToken.id, name: 'laptop' }) }),
    ]);
    // Revoked already: the server says so.
    const again = await run(['admin', 'tokens', 'revoke', bobToken.id, '--yes']);
    expect(again.code).toBe(1);
  });

  it('takes only a token id', async () => {
    const result = await run(['admin', 'tokens', 'revoke', 'laptop', '--yes']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"laptop" is not a token id');
  });
});

describe('admin audit', () => {
  it('lists what was done, by whom; filters by action and actor; exports NDJSON', async () => {
    await ok(['admin', 'accounts', 'disable', 'bob@example.test', '--yes']);
    const table = (await ok(['admin', 'audit'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^TIME\s+ACTION\s+ACTOR\s+TOKEN\s+IP\s+TARGET$/);
    expect(table.split('\n')[1]).toMatch(new RegExp(`account\\.disabled\\s+admin@example\\.test\\s+[0-9a-f-]{36}\\s.*${bob.account.id}$`));

    const json = JSON.parse((await ok(['admin', 'audit', '--action', 'account.disabled', '--actor', 'admin@example.test', '--output', 'json'])).stdout);
    expect(json.events).toHaveLength(1);
    expect(json.events[0]).toMatchObject({ action: 'account.disabled', actor: { accountId: admin.account.id }, targetId: bob.account.id });

    const exported = await ok(['admin', 'audit', '--since', '2000-01-01', '--output', 'ndjson']);
    const lines = exported.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { action: string });
    expect(lines.map((event) => event.action)).toContain('account.disabled');
    expect(lines.map((event) => event.action)).toContain('token.created');
    const request = api.requests.at(-1)!;
    expect(request.headers.accept).toBe('application/x-ndjson');
    expect(request.url).toContain('since=2000-01-01T00%3A00%3A00.000Z');

    const none = await ok(['admin', 'audit', '--action', 'account.deleted']);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('No audit event matches.');
  });

  it('shows the newest --limit events and says there are more', async () => {
    const result = await ok(['admin', 'audit', '--limit', '1', '--output', 'json']);
    expect(JSON.parse(result.stdout).events).toHaveLength(1);
    expect(result.stderr).toContain('Showing the newest 1 events');
  });

  it('--help explains --token-id in one entry: --token is the credential', async () => {
    const help = (await ok(['admin', 'audit', '--help'])).stdout;
    // The entry's description, its wrapped continuation (80 columns) joined back.
    const entry = help.match(/^ {2}--token-id <id>\s+(.*(?:\n {6,}\S.*)*)/m)![1]!.replace(/\s+/g, ' ');
    expect(entry).toBe("only this token's trail: events made with it and about it (--token is the credential to use)");
  });

  it('refuses a malformed --since or --until before any request', async () => {
    const result = await run(['admin', 'audit', '--until', 'yesterday']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--until takes a date (2026-03-01) or an RFC 3339 date-time');
  });
});

describe('who may', () => {
  it('a member\'s token is refused (403) and told so', async () => {
    const result = await run(['admin', 'accounts', 'list'], { token: bobToken.secret });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: .*administrator/im);
  });

  it('an administrator\'s token without the admin scopes is told which scope it lacks', async () => {
    const plain = (await app.createToken(admin, 'plain')).secret;
    const read = await run(['admin', 'accounts', 'list'], { token: plain });
    expect(read.code).toBe(1);
    expect(read.stderr).toContain('this token lacks the "admin:read" scope');
    const reader = (await app.createToken(admin, 'reader', { scopes: ['admin:read'] })).secret;
    const write = await run(['admin', 'tokens', 'revoke', bobToken.id, '--yes'], { token: reader });
    expect(write.stderr).toContain('this token lacks the "admin:write" scope');
    expect(await statusOf(bobToken.secret)).toBe(200);
  });
});
