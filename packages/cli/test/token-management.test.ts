/**
 * `latchkey token create|list|show|revoke` with scopes, namespaces and allowlists, in-process
 * against the real app. The CLI's requests come from 10.1.2.3, so tokens limited to 10.0.0.0/8
 * work; the account's first token is made in the console (a session) with the scopes each test
 * needs.
 */
import { TOKEN_SCOPES, TOKEN_STATES } from '@latchkey/contract';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp, TestSession } from '../../server/test/support/app.js';
import { TOKEN_STATE_FILTERS } from '../src/commands/token/list.js';
import { createCliHarness, type CliHarness, type CliResult } from './support/cli-harness.js';
import { createInjectFetch, type InjectFetch } from './support/inject-fetch.js';
import { closeServerApp, createServerApp } from './support/server.js';

const URL_A = 'https://latchkey.test';
const SECRET = /^lk_pat_1[0-9A-Za-z]{49}$/;

let app: TestApp;
let api: InjectFetch;
let cli: CliHarness;
let session: TestSession;

beforeEach(async () => {
  app = await createServerApp();
  api = createInjectFetch(app, { remoteAddress: '10.1.2.3' });
  cli = createCliHarness({ fetch: api.fetch, env: { LATCHKEY_URL: URL_A } });
  session = await app.signIn({ email: 'dev@example.test' });
});

afterEach(async () => {
  cli?.cleanup();
  await closeServerApp(app);
});

/** A token made in the console with `extra` in its create body (`{ scopes: [...] }`). */
async function consoleToken(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (await app.createToken(session, name, extra)).secret;
}

/** Runs the CLI with `token` as LATCHKEY_TOKEN. */
function as(token: string, argv: string[], options: { tty?: boolean; stdin?: string } = {}): Promise<CliResult> {
  return cli.run(argv, { ...options, env: { LATCHKEY_TOKEN: token } });
}

/** `token create …` that must succeed: the secret it printed. */
async function created(token: string, argv: string[]): Promise<string> {
  const result = await as(token, ['token', 'create', ...argv]);
  expect(result, result.stderr).toMatchObject({ code: 0 });
  return result.stdout.trim();
}

describe('token create', () => {
  it('prints the secret alone on stdout, a one-line hint on stderr; show ID/NAME has its scopes, namespaces and allowed IPs', async () => {
    const writer = await consoleToken('writer');
    const result = await as(writer, [
      'token', 'create', '--name', 'preview-deployer',
      '--scope', 'namespaces:write', '--scope', 'tokens:read',
      '--namespace', 'preview-*,staging',
      '--allow-ip', '10.0.0.0/8', '--allow-ip', '192.168.1.7',
      '--expires-in', '30',
      '--note', 'GitHub Actions',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^${SECRET.source.slice(1, -1)}\\n$`));
    const secret = result.stdout.trim();
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^Created token "preview-deployer" \(namespaces:write, tokens:read; expires \d{4}-\d\d-\d\d \d\d:\d\d UTC; id [0-9a-f-]{36}\)\. Copy the secret above now: it is not shown again\.\n$/);
    const id = /id ([0-9a-f-]{36})/.exec(result.stderr)![1]!;

    // What the request carried: the scopes as given, the namespace list split at the comma.
    const body = JSON.parse(api.requests.find((request) => request.method === 'POST')!.body!);
    expect(body).toEqual({
      name: 'preview-deployer',
      scopes: ['namespaces:write', 'tokens:read'],
      namespaces: ['preview-*', 'staging'],
      allowedIps: ['10.0.0.0/8', '192.168.1.7'],
      expiresInDays: 30,
      note: 'GitHub Actions',
    });

    for (const which of [id, 'preview-deployer']) {
      const shown = await as(writer, ['token', 'show', which]);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(/^Name:\s+preview-deployer$/m);
      expect(shown.stdout).toMatch(/^Note:\s+GitHub Actions$/m);
      expect(shown.stdout).toMatch(/^Scopes:\s+namespaces:write, tokens:read$/m);
      expect(shown.stdout).toMatch(/^Namespaces:\s+preview-\*, staging$/m);
      expect(shown.stdout).toMatch(/^Allowed IPs:\s+10\.0\.0\.0\/8, 192\.168\.1\.7(\/32)?$/m);
      expect(shown.stdout).toMatch(/^Expires:\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 30 days\)$/m);
      expect(shown.stdout).toMatch(new RegExp(`^ID:\\s+${id}$`, 'm'));
      // A token named by id or name is not the one in use: no "From" line.
      expect(shown.stdout).not.toMatch(/^From:/m);
      expect(shown.stdout).not.toContain(secret);
    }

    // The new token itself works, and `token show` (the one in use) now prints the same lines.
    const self = await as(secret, ['token', 'show']);
    expect(self.code, self.stderr).toBe(0);
    expect(self.stdout).toMatch(/^Scopes:\s+namespaces:write, tokens:read$/m);
    expect(self.stdout).toMatch(/^From:\s+LATCHKEY_TOKEN$/m);
  });

  it('without --scope, --namespace or --allow-ip: the server default; show says every namespace, anywhere', async () => {
    const writer = await consoleToken('writer');
    const secret = await created(writer, ['--name', 'plain']);
    expect(secret).toMatch(SECRET);
    expect(JSON.parse(api.requests.at(-1)!.body!)).toEqual({ name: 'plain' });
    const shown = await as(secret, ['token', 'show']);
    expect(shown.stdout).toMatch(/^Scopes:\s+namespaces:read, namespaces:write, tokens:read, tokens:write$/m);
    expect(shown.stdout).toMatch(/^Namespaces:\s+every namespace$/m);
    expect(shown.stdout).toMatch(/^Allowed IPs:\s+anywhere$/m);
  });

  it('--output json prints the whole create answer, the secret included', async () => {
    const writer = await consoleToken('writer');
    const result = await as(writer, ['token', 'create', '--name', 'scripted', '--scope', 'namespaces:read', '-o', 'json']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const json = JSON.parse(result.stdout);
    expect(json.secret).toMatch(SECRET);
    expect(json.token).toMatchObject({ name: 'scripted', scopes: ['namespaces:read'], namespaces: null, allowedIps: null, state: 'active' });
  });

  it('an unknown scope, a bad namespace pattern, a missing name or a bad lifetime: usage errors (exit 2) with no request', async () => {
    const writer = await consoleToken('writer');
    const before = api.requests.length;
    const unknown = await as(writer, ['token', 'create', '--name', 'x', '--scope', 'namespaces:read,namespace:write']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain(`error: unknown scope "namespace:write"; the scopes are ${TOKEN_SCOPES.join(', ')}.`);
    const pattern = await as(writer, ['token', 'create', '--name', 'x', '--namespace', 'Prod']);
    expect(pattern.code).toBe(2);
    expect(pattern.stderr).toContain('--namespace "Prod" must be a namespace name or a prefix ending in "*"');
    const nameless = await as(writer, ['token', 'create', '--scope', 'tokens:read']);
    expect(nameless.code).toBe(2);
    expect(nameless.stderr).toContain("missing required option '--name <name>'");
    const lifetime = await as(writer, ['token', 'create', '--name', 'x', '--expires-in', 'soon']);
    expect(lifetime.code).toBe(2);
    expect(lifetime.stderr).toContain('--expires-in "soon" is not a number of days');
    expect(api.requests).toHaveLength(before);
  });

  it('what only the server can judge comes back as its refusal: an address that is none, a lifetime it does not offer', async () => {
    const writer = await consoleToken('writer');
    const address = await as(writer, ['token', 'create', '--name', 'x', '--allow-ip', '10.0.0.300']);
    expect(address.code).toBe(1);
    expect(address.stderr).toMatch(/^error: the server refused the request: \/allowedIps\/0 /);
    const lifetime = await as(writer, ['token', 'create', '--name', 'x', '--expires-in', '11']);
    expect(lifetime.code).toBe(1);
    expect(lifetime.stderr).toMatch(/^error: the server refused the request: \/expiresInDays must be one of/);
  });

  it('--help lists the scopes and what each allows', async () => {
    const help = await cli.run(['token', 'create', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Scopes:\n {2}namespaces:read {3}List namespaces$/m);
    for (const scope of TOKEN_SCOPES) expect(help.stdout).toContain(`  ${scope} `);
  });
});

describe('token list', () => {
  it('an aligned table (NAME, SCOPES, STATE, EXPIRES, LAST USED, ID), JSON, and --state', async () => {
    const writer = await consoleToken('writer', { scopes: ['tokens:write', 'namespaces:write'] });
    await consoleToken('reader', { scopes: ['namespaces:read'] });
    const gone = await created(writer, ['--name', 'gone', '--scope', 'namespaces:read']);
    expect((await as(gone, ['token', 'revoke', '--yes'])).code).toBe(0);

    const table = await as(writer, ['token', 'list']);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+SCOPES\s+STATE\s+EXPIRES\s+LAST USED\s+ID$/);
    expect(lines).toHaveLength(3);
    const columns = (line: string) => [...line.matchAll(/\S+(?: \S+)*/g)].map((match) => match.index);
    // Every row's cells start where the header's do.
    for (const line of lines.slice(1)) expect(columns(line)).toEqual(columns(lines[0]!));
    expect(table.stdout).toMatch(/^writer\s+namespaces:write,tokens:write\s+active\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC\s+(\d{4}-\d\d-\d\d \d\d:\d\d UTC|never)\s+[0-9a-f-]{36}$/m);
    expect(table.stdout).toMatch(/^reader\s+namespaces:read\s+active\s+\S+ \S+ UTC\s+never\s+[0-9a-f-]{36}$/m);
    expect(table.stdout).not.toContain('gone');

    const json = JSON.parse((await as(writer, ['token', 'list', '--output', 'json'])).stdout);
    expect(json.tokens.map((token: { name: string }) => token.name).sort()).toEqual(['reader', 'writer']);
    expect(json.tokens[0]).toHaveProperty('scopes');
    expect(JSON.stringify(json)).not.toMatch(/lk_pat_1[0-9A-Za-z]{49}/);

    const revoked = await as(writer, ['token', 'list', '--state', 'revoked']);
    expect(revoked.stdout).toMatch(/^gone\s+namespaces:read\s+revoked\s/m);
    expect(revoked.stdout.trimEnd().split('\n')).toHaveLength(2);
    const all = JSON.parse((await as(writer, ['token', 'list', '--state', 'all', '-o', 'json'])).stdout);
    expect(all.tokens).toHaveLength(3);
    expect((await as(writer, ['token', 'list', '--state', 'gone'])).code).toBe(2);
  });

  it('--state offers the contract’s states and all', () => {
    expect(TOKEN_STATE_FILTERS).toEqual([...TOKEN_STATES, 'all']);
  });

  it('none in a state: says so on stderr, nothing on stdout', async () => {
    const writer = await consoleToken('writer');
    expect(await as(writer, ['token', 'list', '--state', 'expired'])).toMatchObject({ code: 0, stdout: '', stderr: 'No expired tokens.\n' });
  });
});

describe('token revoke ID|NAME', () => {
  it('by id and by name, after confirmation; the token stops working; the one in use is untouched', async () => {
    const writer = await consoleToken('writer');
    const first = await created(writer, ['--name', 'first', '--scope', 'namespaces:read']);
    const second = await created(writer, ['--name', 'second', '--scope', 'namespaces:read']);
    const { tokens } = JSON.parse((await as(writer, ['token', 'list', '-o', 'json'])).stdout) as { tokens: Array<{ id: string; name: string }> };
    const firstId = tokens.find((token) => token.name === 'first')!.id;

    // A script must say --yes; a person is asked.
    const script = await as(writer, ['token', 'revoke', firstId]);
    expect(script.code).toBe(2);
    expect(script.stderr).toContain(`Revoke token "first" (${firstId})? Everything using it stops working at once.`);
    expect(script.stderr).toContain('pass --yes');
    const declined = await as(writer, ['token', 'revoke', firstId], { tty: true, stdin: 'n\n' });
    expect(declined).toMatchObject({ code: 1, stderr: expect.stringContaining('error: Not revoked.') });
    expect(api.requests.filter((request) => request.method === 'DELETE')).toHaveLength(0);

    const byId = await as(writer, ['token', 'revoke', firstId], { tty: true, stdin: 'y\n' });
    expect(byId.code, byId.stderr).toBe(0);
    expect(byId.stdout).toBe(`Revoked token "first" (${firstId}).\n`);
    const byName = await as(writer, ['token', 'revoke', 'second', '--yes']);
    expect(byName.code, byName.stderr).toBe(0);
    expect(byName.stdout).toMatch(/^Revoked token "second" \([0-9a-f-]{36}\)\.\n$/);

    for (const secret of [first, second]) {
      expect((await as(secret, ['namespace', 'list'])).stderr).toContain('the token is not valid any more');
    }
    expect((await as(writer, ['token', 'show'])).code).toBe(0);
    // A revoked token is no longer found by name for revoking, but `show` still finds it.
    const again = await as(writer, ['token', 'revoke', 'second', '--yes']);
    expect(again).toMatchObject({ code: 1, stderr: 'error: You have no live token named "second"; `latchkey token list` shows yours.\n' });
    expect((await as(writer, ['token', 'show', 'second'])).stdout).toMatch(/^State:\s+revoked$/m);
  });

  it('an unknown id is the server’s not-found; naming the token in use revokes it as `token revoke` does', async () => {
    const writer = await consoleToken('writer');
    const missing = await as(writer, ['token', 'revoke', '00000000-0000-4000-8000-000000000000', '--yes']);
    expect(missing.code).toBe(1);
    const self = await as(writer, ['token', 'revoke', 'writer', '--yes']);
    expect(self).toMatchObject({ code: 0, stdout: 'Revoked the token.\n' });
    expect((await as(writer, ['token', 'show'])).stderr).toContain('the token is not valid any more');
  });

  it('a name shared with a revoked token: show picks the live one', async () => {
    const writer = await consoleToken('writer');
    // Names are unique among live tokens on this server; a revoked one leaves its name free.
    const old = await created(writer, ['--name', 'twin', '--scope', 'namespaces:read']);
    await as(old, ['token', 'revoke', '--yes']);
    await created(writer, ['--name', 'twin', '--scope', 'namespaces:read']);
    const shown = await as(writer, ['token', 'show', 'twin']);
    expect(shown.stdout).toMatch(/^State:\s+active$/m);
  });
});

describe('scopes', () => {
  it('a token without tokens:write is told which scope it lacks; without tokens:read, too', async () => {
    const reader = await consoleToken('reader', { scopes: ['namespaces:read', 'tokens:read'] });
    const create = await as(reader, ['token', 'create', '--name', 'x']);
    expect(create).toMatchObject({ code: 1, stdout: '', stderr: 'error: this token lacks the "tokens:write" scope.\n' });
    await consoleToken('other');
    const revoke = await as(reader, ['token', 'revoke', 'other', '--yes']);
    expect(revoke).toMatchObject({ code: 1, stderr: 'error: this token lacks the "tokens:write" scope.\n' });

    const namespacesOnly = await consoleToken('namespaces-only', { scopes: ['namespaces:write'] });
    const list = await as(namespacesOnly, ['token', 'list']);
    expect(list).toMatchObject({ code: 1, stderr: 'error: this token lacks the "tokens:read" scope.\n' });
    // Every token may still see and revoke itself.
    expect((await as(namespacesOnly, ['token', 'show'])).code).toBe(0);
    const namespace = await as(reader, ['namespace', 'create', 'nope']);
    expect(namespace).toMatchObject({ code: 1, stderr: 'error: this token lacks the "namespaces:write" scope.\n' });
  });

  it('a refusal naming no scope, or the console session, says a token cannot do it', async () => {
    const refusal = (extra: Record<string, unknown>) => async () =>
      new Response(JSON.stringify({ type: '/docs/errors/insufficient-scope', title: 'Insufficient scope', status: 403, code: 'INSUFFICIENT_SCOPE', ...extra }), {
        status: 403,
        headers: { 'content-type': 'application/problem+json' },
      });
    const token = await consoleToken('any');
    for (const extra of [{}, { requiredScope: 'session' }]) {
      const result = await cli.run(['token', 'list'], { fetch: refusal(extra), env: { LATCHKEY_TOKEN: token } });
      expect(result).toMatchObject({ code: 1, stderr: 'error: a personal access token cannot do this; use the console.\n' });
    }
    const scoped = await cli.run(['token', 'list'], { fetch: refusal({ requiredScope: 'tokens:read' }), env: { LATCHKEY_TOKEN: token } });
    expect(scoped.stderr).toBe('error: this token lacks the "tokens:read" scope.\n');
  });

  it('a tokens:write token cannot create a broader token: the server’s refusal, exit 1', async () => {
    const writer = await consoleToken('narrow', { scopes: ['tokens:write', 'namespaces:read'], namespaces: ['preview-*'], allowedIps: ['10.0.0.0/8'] });
    const scope = await as(writer, ['token', 'create', '--name', 'wider', '--scope', 'namespaces:write']);
    expect(scope).toMatchObject({ code: 1, stdout: '', stderr: 'error: this token lacks the "namespaces:write" scope.\n' });
    const namespace = await as(writer, ['token', 'create', '--name', 'wider', '--scope', 'namespaces:read', '--namespace', 'prod-*']);
    expect(namespace.code).toBe(1);
    expect(namespace.stderr).toBe('error: the server refused the request: /namespaces/0 is outside the namespaces of the token creating it (preview-*)\n');
    const address = await as(writer, ['token', 'create', '--name', 'wider', '--scope', 'namespaces:read', '--allow-ip', '192.168.0.0/16']);
    expect(address.code).toBe(1);
    expect(address.stderr).toMatch(/^error: the server refused the request: \/allowedIps\/0 is outside the allowlist of the token creating it \(10\.0\.0\.0\/8\)\n$/);
    const admin = await as(writer, ['token', 'create', '--name', 'wider', '--scope', 'admin:read']);
    expect(admin.code).toBe(1);
    expect(admin.stderr).toContain('a token cannot grant admin scopes');
    expect(JSON.parse((await as(writer, ['token', 'list', '-o', 'json'])).stdout).tokens).toHaveLength(1);
  });

  it('a token limited to preview-* from 10.0.0.0/8 creates preview-1 but not prod-1, and nothing from elsewhere', async () => {
    const writer = await consoleToken('writer');
    const preview = await created(writer, [
      '--name', 'ci-preview', '--scope', 'namespaces:write', '--namespace', 'preview-*', '--allow-ip', '10.0.0.0/8',
    ]);
    const ok = await as(preview, ['namespace', 'create', 'preview-1']);
    expect(ok, ok.stderr).toMatchObject({ code: 0 });
    const refused = await as(preview, ['namespace', 'create', 'prod-1']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toBe(
      'error: this token may not use namespace "prod-1": it is limited to other namespaces (`latchkey token show` lists them).\n',
    );
    const listed = JSON.parse((await as(writer, ['namespace', 'list', '-o', 'json'])).stdout);
    expect(listed.namespaces.map((namespace: { name: string }) => namespace.name)).toEqual(['preview-1']);

    // From 127.0.0.1 the same token is refused like an unknown one, and the CLI says allowlists do that.
    const elsewhere = createCliHarness({ fetch: createInjectFetch(app).fetch });
    try {
      const outside = await elsewhere.run(['namespace', 'create', 'preview-2'], { env: { LATCHKEY_URL: URL_A, LATCHKEY_TOKEN: preview } });
      expect(outside.code).toBe(1);
      expect(outside.stderr).toContain('the token is not valid any more');
      expect(outside.stderr).toContain('A token limited to some addresses is refused like this from any other.');
    } finally {
      elsewhere.cleanup();
    }
  });
});
