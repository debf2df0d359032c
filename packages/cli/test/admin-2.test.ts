/**
 * `latchkey admin service-accounts|policy|throttles`, in-process against the real app: an
 * administrator's token with admin:read and admin:write creates a service account, mints it a
 * token (the secret printed once) that works, deletes it (its token then refused); reads and
 * changes the instance policy (token-settings follows it); lists and lifts a throttled address.
 */
import { spawnSync } from 'node:child_process';
import { generateToken } from '@latchkey/contract/token';
import { createMemoryFailureLimiter } from '../../server/src/auth-failures/memory-failure-limiter.js';
import { systemClock } from '../../server/src/kernel/clock.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp, TestSession } from '../../server/test/support/app.js';
import { commandShape } from '../src/command-runner.js';
import { latchkey as root } from '../src/commands/latchkey.js';
import { completionScript } from '../src/completion.js';
import { createCliHarness, type CliHarness, type CliResult } from './support/cli-harness.js';
import { createInjectFetch, type InjectFetch } from './support/inject-fetch.js';
import { closeServerApp, createServerApp } from './support/server.js';

const URL_A = 'https://latchkey.test';

let app: TestApp;
let api: InjectFetch;
let cli: CliHarness;
let admin: TestSession;
let adminToken: string;

beforeEach(async () => {
  app = await createServerApp();
  api = createInjectFetch(app);
  cli = createCliHarness({ fetch: api.fetch, env: { LATCHKEY_URL: URL_A } });
  admin = await app.signIn({ email: 'admin@example.test', isAdmin: true });
  adminToken = (await app.createToken(admin, 'admin-cli', { scopes: ['admin:read', 'admin:write', 'tokens:read'] })).secret;
});

afterEach(async () => {
  cli?.cleanup();
  await closeServerApp(app);
});

function run(argv: string[], options: { token?: string; tty?: boolean; stdin?: string } = {}): Promise<CliResult> {
  return cli.run(argv, { tty: options.tty, stdin: options.stdin, env: { LATCHKEY_TOKEN: options.token ?? adminToken } });
}

async function ok(argv: string[], options: Parameters<typeof run>[1] = {}): Promise<CliResult> {
  const result = await run(argv, options);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

async function me(secret: string): Promise<{ status: number; body: { account?: { id: string } } }> {
  const response = await api.fetch(`${URL_A}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
  return { status: response.status, body: (await response.json()) as { account?: { id: string } } };
}

describe('admin service-accounts', () => {
  it('creates one, lists it with its creator, mints a token printed once that works as the service account, and deletes it', async () => {
    const created = await ok(['admin', 'service-accounts', 'create', 'ci-deploy', '--description', 'Deploys from CI', '--output', 'json']);
    const account = JSON.parse(created.stdout) as { id: string; name: string; description: string };
    expect(account).toMatchObject({ name: 'ci-deploy', description: 'Deploys from CI' });

    const table = (await ok(['admin', 'service-accounts', 'list'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^NAME\s+DESCRIPTION\s+CREATED BY\s+TOKENS\s+CREATED\s+ID$/);
    expect(table).toMatch(/ci-deploy\s+Deploys from CI\s+admin@example\.test\s+0\s/);

    const minted = await ok(['admin', 'service-accounts', 'mint', 'ci-deploy', '--name', 'deploy', '--scope', 'namespaces:read', '--expires-in', '30']);
    const secret = minted.stdout.trim();
    expect(secret).toMatch(/^lk_pat_1/);
    expect(minted.stdout).toBe(`${secret}\n`);
    expect(minted.stderr).toContain('Minted token "deploy" for service account "ci-deploy" (namespaces:read;');
    expect(minted.stderr).toContain('it is not shown again');
    const used = await me(secret);
    expect(used.status).toBe(200);
    expect(used.body.account?.id).toBe(account.id);

    const json = JSON.parse((await ok(['admin', 'service-accounts', 'list', '--output', 'json'])).stdout);
    expect(json.serviceAccounts).toEqual([expect.objectContaining({ id: account.id, activeTokens: 1, createdBy: expect.objectContaining({ email: 'admin@example.test' }) })]);

    const refused = await run(['admin', 'service-accounts', 'delete', account.id]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Delete service account "ci-deploy"');
    expect(refused.stderr).toContain('Its 1 active token stops working for good.');
    expect(refused.stderr).toContain('pass --yes');

    const declined = await run(['admin', 'service-accounts', 'delete', 'ci-deploy'], { tty: true, stdin: 'n\n' });
    expect(declined.code).toBe(1);
    expect((await me(secret)).status).toBe(200);

    const deleted = await ok(['admin', 'service-accounts', 'delete', 'ci-deploy', '--yes']);
    expect(deleted.stdout).toBe(`Deleted service account "ci-deploy" (${account.id}).\n`);
    expect((await me(secret)).status).toBe(401);
    expect((await run(['admin', 'service-accounts', 'list'])).stderr).toContain('No service accounts yet');
  });

  it('mint --output json gives the create-token answer; an unknown scope is a usage error before any request; an admin scope is refused', async () => {
    const account = JSON.parse((await ok(['admin', 'service-accounts', 'create', 'backup', '--output', 'json'])).stdout) as { id: string };
    const json = JSON.parse((await ok(['admin', 'service-accounts', 'mint', account.id, '--name', 'nightly', '--output', 'json'])).stdout);
    expect(json.secret).toMatch(/^lk_pat_1/);
    expect(json.token).toMatchObject({ name: 'nightly' });

    const before = api.requests.length;
    const typo = await run(['admin', 'service-accounts', 'mint', account.id, '--name', 'x', '--scope', 'namespace:read']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown scope "namespace:read"');
    expect(api.requests.length).toBe(before);

    const adminScope = await run(['admin', 'service-accounts', 'mint', account.id, '--name', 'x', '--scope', 'admin:read']);
    expect(adminScope.code).toBe(1);
  });

  it('an unknown service account is named in the failure; a member is refused', async () => {
    const unknown = await run(['admin', 'service-accounts', 'delete', 'nope', '--yes']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No service account "nope"');

    const bob = await app.signIn({ email: 'bob@example.test' });
    const bobToken = (await app.createToken(bob, 'laptop')).secret;
    const member = await run(['admin', 'service-accounts', 'list'], { token: bobToken });
    expect(member.code).toBe(1);
    expect(member.stderr).toContain('Only administrators');
  });
});

describe('admin service-accounts token create', () => {
  it('does what mint does: the secret alone on stdout, once, working as the service account; --output json; a bad scope refused before any request', async () => {
    const account = JSON.parse((await ok(['admin', 'service-accounts', 'create', 'ci-deploy', '--output', 'json'])).stdout) as { id: string };
    const created = await ok(['admin', 'service-accounts', 'token', 'create', 'ci-deploy', '--name', 'deploy', '--scope', 'namespaces:read,tokens:read', '--expires-in', '30', '--note', 'from CI']);
    const secret = created.stdout.trimEnd();
    expect(created.stdout).toBe(`${secret}\n`);
    expect(secret).toMatch(/^lk_pat_1/);
    expect(created.stderr).toContain('Minted token "deploy" for service account "ci-deploy" (namespaces:read, tokens:read;');
    expect(created.stderr).toContain('it is not shown again');
    const answer = await me(secret);
    expect(answer.status).toBe(200);
    expect(answer.body.account?.id).toBe(account.id);

    const json = JSON.parse((await ok(['admin', 'service-accounts', 'token', 'create', account.id, '--name', 'reader', '--namespace', 'preview-*', '--allow-ip', '10.0.0.0/8', '--output', 'json'])).stdout);
    expect(json.secret).toMatch(/^lk_pat_1/);
    expect(json.token).toMatchObject({ name: 'reader', namespaces: ['preview-*'], allowedIps: ['10.0.0.0/8'] });
    const listed = JSON.parse((await ok(['admin', 'service-accounts', 'list', '--output', 'json'])).stdout);
    expect(listed.serviceAccounts[0]).toMatchObject({ id: account.id, activeTokens: 2 });

    const before = api.requests.length;
    const typo = await run(['admin', 'service-accounts', 'token', 'create', account.id, '--name', 'x', '--scope', 'namespace:read']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown scope "namespace:read"');
    expect((await run(['admin', 'service-accounts', 'token', 'create', account.id])).code).toBe(2);
    expect(api.requests.length).toBe(before);
    expect((await run(['admin', 'service-accounts', 'token', 'create', 'nope', '--name', 'x'])).stderr).toContain('No service account "nope"');

    const help = (await ok(['admin', 'service-accounts', 'token', 'create', '--help'])).stdout;
    for (const option of ['--name', '--scope', '--namespace', '--allow-ip', '--expires-in', '--note', '--output']) expect(help).toContain(option);
  });
});

describe('admin policy', () => {
  it('shows the policy (bare and with show), sets fields one at a time, and token-settings follows it', async () => {
    const shown = (await ok(['admin', 'policy'])).stdout;
    expect(shown).toMatch(/Personal token max lifetime:\s+\d+ days/);
    expect(shown).toMatch(/Revoke idle tokens after:\s+off/);
    expect((await ok(['admin', 'policy', 'show'])).stdout).toBe(shown);

    const set = await ok(['admin', 'policy', 'set', '--max-lifetime', '30', '--idle-revoke', '90', '--service-max-lifetime', '365']);
    expect(set.stderr).toContain('Policy saved');
    expect(set.stdout).toMatch(/Personal token max lifetime:\s+30 days/);
    expect(set.stdout).toMatch(/Service token max lifetime:\s+365 days/);
    expect(set.stdout).toMatch(/Revoke idle tokens after:\s+90 days/);

    const settings = (await (await api.fetch(`${URL_A}/api/v1/token-settings`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { maxLifetimeDays: number; lifetimeChoices: number[] };
    expect(settings.maxLifetimeDays).toBe(30);
    expect(Math.max(...settings.lifetimeChoices)).toBe(30);

    await ok(['admin', 'policy', 'set', '--personal-scopes', 'tokens:read,namespaces:read', '--service-max-lifetime', 'none', '--idle-revoke', 'off']);
    const json = JSON.parse((await ok(['admin', 'policy', '--output', 'json'])).stdout);
    expect(json).toMatchObject({ maxLifetimeDays: 30, serviceMaxLifetimeDays: null, personalScopes: ['namespaces:read', 'tokens:read'], idleRevokeDays: null });
    expect(json.updatedAt).toEqual(expect.any(String));
  });

  it('refuses bad values and an empty change before any request', async () => {
    const before = api.requests.length;
    for (const [argv, message] of [
      [['--max-lifetime', '0'], '--max-lifetime takes a whole number of days from 1 to 3650'],
      [['--max-lifetime', 'none'], '--max-lifetime takes a whole number of days'],
      [['--service-max-lifetime', '4000'], 'or "none"'],
      [['--idle-revoke', 'never'], 'or "off"'],
      [['--personal-scopes', 'tokens:reed'], 'unknown scope "tokens:reed"'],
      [[], 'Say what to change'],
    ] as const) {
      const result = await run(['admin', 'policy', 'set', ...argv]);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
    expect(api.requests.length).toBe(before);
  });
});

describe('admin throttles', () => {
  it('lists an address throttled for refused tokens and lifts it', async () => {
    // An app that counts refused tokens (the default test app has no failure limiter).
    await closeServerApp(app);
    app = await createServerApp({ failureLimiter: createMemoryFailureLimiter({ clock: systemClock }) });
    api = createInjectFetch(app);
    cli.cleanup();
    cli = createCliHarness({ fetch: api.fetch, env: { LATCHKEY_URL: URL_A } });
    admin = await app.signIn({ email: 'admin@example.test', isAdmin: true });
    adminToken = (await app.createToken(admin, 'admin-cli', { scopes: ['admin:read', 'admin:write'] })).secret;

    expect((await ok(['admin', 'throttles', 'list'])).stderr).toContain('No address is throttled.');
    const attacker = createInjectFetch(app, { remoteAddress: '203.0.113.9' });
    for (let attempt = 0; attempt < 35; attempt++) {
      await attacker.fetch(`${URL_A}/api/v1/me`, { headers: { authorization: `Bearer ${generateToken().token}` } });
    }
    const table = (await ok(['admin', 'throttles', 'list'])).stdout;
    expect(table.split('\n')[0]).toMatch(/^ADDRESS\s+FAILURES\s+SINCE\s+RELEASED AT$/);
    expect(table).toMatch(/203\.0\.113\.9\s+\d+\s/);
    const json = JSON.parse((await ok(['admin', 'throttles', 'list', '--output', 'json'])).stdout);
    expect(json.throttles[0]).toMatchObject({ address: '203.0.113.9' });

    const refused = await run(['admin', 'throttles', 'lift', '203.0.113.9']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Lift the throttle on 203.0.113.9?');
    expect(refused.stderr).toContain('pass --yes to confirm');
    const declined = await run(['admin', 'throttles', 'lift', '203.0.113.9'], { tty: true, stdin: 'n\n' });
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain('error: Not lifted.');
    expect((await ok(['admin', 'throttles', 'list'])).stdout).toContain('203.0.113.9');
    const lifted = await ok(['admin', 'throttles', 'lift', '203.0.113.9'], { tty: true, stdin: 'y\n' });
    expect(lifted.stdout).toBe('Lifted the throttle on 203.0.113.9.\n');
    expect((await run(['admin', 'throttles', 'list'])).stderr).toContain('No address is throttled.');
  });
});

describe('completion of the new admin commands', () => {
  it('offers service-accounts, policy and throttles, their verbs and the scopes after mint --scope', async () => {
    const shape = await commandShape(root);
    const adminShape = shape.commands.find((command) => command.name === 'admin')!;
    const verbs = Object.fromEntries(adminShape.commands.map((command) => [command.name, command.commands.map((verb) => verb.name)]));
    expect(verbs['service-accounts']).toEqual(['list', 'create', 'delete', 'mint', 'token']);
    expect(verbs.accounts).toEqual(['list', 'show', 'disable', 'enable', 'delete']);
    expect(verbs.policy).toEqual(['show', 'set']);
    expect(verbs.throttles).toEqual(['list', 'lift']);
    const mint = adminShape.commands.find((command) => command.name === 'service-accounts')!.commands.find((verb) => verb.name === 'mint')!;
    expect(mint.values).toContainEqual(expect.objectContaining({ option: '--scope', words: expect.arrayContaining(['namespaces:read']) }));
    const policySet = adminShape.commands.find((command) => command.name === 'policy')!.commands.find((verb) => verb.name === 'set')!;
    expect(policySet.options).toEqual(expect.arrayContaining(['--max-lifetime', '--service-max-lifetime', '--personal-scopes', '--idle-revoke']));
    const script = completionScript('bash', shape);
    expect(script).toContain('admin service-accounts mint');
    expect(script).toContain('admin policy set');
  });

  it('bash completes four words deep: admin service-accounts token create, its options and the scopes', async () => {
    const script = completionScript('bash', await commandShape(root));
    const complete = (line: string) => {
      const words = line.split(' ').flatMap((word) => word.split(/(:)/)).filter((word, index, all) => word !== '' || index === all.length - 1);
      return spawnSync(
        'bash',
        ['-c', `eval "$SCRIPT"; COMP_LINE="$LINE"; COMP_POINT=\${#LINE}; COMP_WORDS=(${words.map((word) => `"${word}"`).join(' ')}); COMP_CWORD=${words.length - 1}; _latchkey; echo "\${COMPREPLY[*]}"`],
        { env: { PATH: process.env.PATH ?? '', SCRIPT: script, LINE: line }, encoding: 'utf8' },
      ).stdout.trim();
    };
    expect(complete('latchkey admin service-accounts ')).toBe('list create delete mint token');
    expect(complete('latchkey admin service-accounts token ')).toBe('create');
    expect(complete('latchkey admin service-accounts token create ci --n').split(' ')).toEqual(['--name', '--namespace', '--note']);
    expect(complete('latchkey admin service-accounts token create ci --scope namespaces:')).toBe('read write');
    expect(complete('latchkey admin accounts sh')).toBe('show');
    expect(complete('latchkey admin accounts show bob --o').split(' ')).toEqual(['--output']);
    expect(complete('latchkey admin throttles lift 203.0.113.9 --y')).toBe('--yes');
    expect(complete('latchkey admin service-accounts mint ci --scope tokens:')).toBe('read write');
  });
});
