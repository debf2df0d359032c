/**
 * The built `latchkey` binary, run as a user runs it, against a real `latchkey-server` on
 * SQLite. The account and token are made by opening the same database file, as an operator's
 * script would; revocation goes through the real API.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYSTEM_ACTOR } from '../../server/src/audit/audit-event.js';
import type { Database } from '../../server/src/database/database.js';
import { openDatabase } from '../../server/src/database/open-database.js';
import { createLogger } from '../../server/src/http/logging.js';
import { createServices, type Services } from '../../server/src/services.js';
import { systemClock } from '../../server/src/kernel/clock.js';
import { SESSION_COOKIE } from '@latchkey/contract';
import { ensureServerBuilt, freePort, startServer, type ServerProcess } from '../../server/test/support/server-process.mjs';
import { seedNamespace } from './support/server.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const latchkey = join(root, 'node_modules/.bin/latchkey');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let workDir: string;
let server: ServerProcess | undefined;
let baseUrl: string;
/** The first administrator's one-time link, printed by the server at its first start. */
let signInLink: string;
let database: Database;
let services: Services;
const secrets: string[] = [];

interface RunOptions {
  home: string;
  env?: Record<string, string>;
  input?: string;
}

/** Starts the binary; `stderr()` is what it has written so far, `result` its end. */
function startLatchkey(args: string[], options: RunOptions): { stderr(): string; result: Promise<Result> } {
  let stdout = '';
  let stderr = '';
  const result = new Promise<Result>((resolve, reject) => {
    const child = spawn(latchkey, args, {
      env: { PATH: process.env.PATH ?? '', HOME: options.home, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      for (const secret of secrets) {
        // Every run, at every verbosity: the token is never printed (only --include-token may).
        if (!args.includes('--include-token') && (stdout + stderr).includes(secret)) {
          reject(new Error(`latchkey ${args.join(' ')} printed a token`));
        }
      }
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
  return { stderr: () => stderr, result };
}

function runLatchkey(args: string[], options: RunOptions): Promise<Result> {
  return startLatchkey(args, options).result;
}

function freshHome(name: string): string {
  const home = join(workDir, name);
  mkdirSync(home);
  return home;
}

async function newToken(email: string): Promise<{ accountId: string; secret: string }> {
  const account = await services.accounts.create({ email }, SYSTEM_ACTOR);
  const { secret } = await services.tokens.create(account.id, { name: 'e2e' }, SYSTEM_ACTOR);
  secrets.push(secret);
  return { accountId: account.id, secret };
}

beforeAll(async () => {
  ensureServerBuilt();
  // The CLI bundle is always rebuilt (esbuild: well under a second) so this tests the sources.
  const build = spawnSync('node', ['packages/cli/scripts/build.mjs'], { cwd: root, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`the CLI build failed:\n${build.stdout}\n${build.stderr}`);
  workDir = mkdtempSync(join(tmpdir(), 'latchkey-cli-e2e-'));
  const databaseUrl = `sqlite:${join(workDir, 'db', 'latchkey.db')}`;
  // A known port, so PUBLIC_URL (which the sign-in link and the Origin check use) can match it.
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  server = await startServer({
    name: 'latchkey-server',
    port,
    env: { PUBLIC_URL: baseUrl, DATABASE_URL: databaseUrl },
    expectSignInLink: true,
  });
  signInLink = server.signInLink!;
  database = openDatabase(databaseUrl);
  services = createServices({
    database,
    clock: systemClock,
    logger: createLogger({ level: 'silent' }),
    settings: { maxLifetimeDays: 180, maxTokensPerAccount: 100 },
    publicUrl: baseUrl,
  });
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await services?.close();
  await database?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('latchkey (built binary) against latchkey-server', () => {
  it('context use --token → namespace create → list --output json → token revoked via the API → clear failure, exit 1', async () => {
    const { secret } = await newToken('flow@example.test');
    const home = freshHome('flow');

    const use = await runLatchkey(['context', 'use', baseUrl, '--token', secret], { home });
    expect(use.code).toBe(0);
    expect(use.stdout).toContain('is now current: flow@example.test');
    expect(use.stderr).toMatch(/^warning: a token on the command line .* use LATCHKEY_TOKEN or --token-stdin instead\.\n$/);

    const config = join(home, '.latchkey', 'config.json');
    expect(statSync(config).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, '.latchkey')).mode & 0o777).toBe(0o700);

    const create = await runLatchkey(['namespace', 'create', 'test-cindylopez'], { home });
    expect(create).toMatchObject({ code: 0, stderr: '' });
    const list = await runLatchkey(['namespace', 'list', '--output', 'json', '--verbose'], { home });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).namespaces).toEqual([
      { id: expect.any(String), name: 'test-cindylopez', createdAt: expect.any(String) },
    ]);
    expect(list.stderr).toContain(`> GET ${baseUrl}/api/v1/namespaces`);

    const revoke = await fetch(`${baseUrl}/api/v1/tokens/self`, { method: 'DELETE', headers: { authorization: `Bearer ${secret}` } });
    expect(revoke.status).toBe(204);

    const after = await runLatchkey(['namespace', 'list'], { home });
    expect(after.code).toBe(1);
    expect(after.stdout).toBe('');
    expect(after.stderr).toMatch(/^error: the token is not valid any more \(revoked, deleted, or unknown to http:\/\/127\.0\.0\.1:\d+\)/);
    expect(after.stderr).toContain('Settings › Personal Access Tokens');
  });

  it('runs on LATCHKEY_URL + LATCHKEY_TOKEN alone: no config needed, none written', async () => {
    const { secret } = await newToken('ci@example.test');
    const home = freshHome('ci');
    const env = { LATCHKEY_URL: baseUrl, LATCHKEY_TOKEN: secret, CI: 'true' };
    const create = await runLatchkey(['namespace', 'create', 'pr-123'], { home, env });
    expect(create).toMatchObject({ code: 0, stderr: '' });
    const show = await runLatchkey(['token', 'show', '-o', 'json', '-v'], { home, env });
    expect(JSON.parse(show.stdout)).toMatchObject({ name: 'e2e', state: 'active' });
    expect(existsSync(join(home, '.latchkey'))).toBe(false);
  });

  it('reads the token from stdin with --token-stdin, and shows it only with --include-token', async () => {
    const { secret } = await newToken('stdin@example.test');
    const home = freshHome('stdin');
    const use = await runLatchkey(['context', 'use', baseUrl, '--token-stdin'], { home, input: `${secret}\n` });
    expect(use).toMatchObject({ code: 0, stderr: '' });
    const shown = await runLatchkey(['context', 'show'], { home });
    expect(shown.stdout).toMatch(/^Token:\s+lk_pat_1…/m);
    const revealed = await runLatchkey(['context', 'show', '--include-token'], { home });
    expect(revealed.stdout).toContain(secret);
  });

  it('refuses a token failing the checksum without connecting anywhere', async () => {
    const { secret } = await newToken('typo@example.test');
    const typo = secret.slice(0, 20) + (secret[20] === 'x' ? 'y' : 'x') + secret.slice(21);
    let connections = 0;
    const listener: Server = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(listener.address() as { port: number }).port}`;
    try {
      const home = freshHome('typo');
      const viaFlag = await runLatchkey(['context', 'use', url, '--token', typo], { home });
      expect(viaFlag.code).toBe(1);
      expect(viaFlag.stderr).toContain('checksum does not match');
      const viaEnv = await runLatchkey(['namespace', 'list'], { home, env: { LATCHKEY_URL: url, LATCHKEY_TOKEN: 'lk_pat_1short' } });
      expect(viaEnv.code).toBe(1);
      expect(viaEnv.stderr).toContain('has 13 characters instead of 57');
      const viaStdin = await runLatchkey(['context', 'use', url, '--token-stdin'], { home, input: typo });
      expect(viaStdin.code).toBe(1);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(connections).toBe(0);
      expect(existsSync(join(home, '.latchkey'))).toBe(false);
      expect(viaFlag.stderr + viaEnv.stderr + viaStdin.stderr).not.toContain(typo);
    } finally {
      listener.close();
    }
  });

  it('names near escape sequences are printed escaped', async () => {
    const { accountId, secret } = await newToken('escape@example.test');
    await seedNamespace(database, accountId, 'x\u001b]8;;https://evil.example\u001b\\click\u001b]8;;\u001b\\\u001b[1;31m');
    const result = await runLatchkey(['namespace', 'list'], { home: freshHome('escape'), env: { LATCHKEY_URL: baseUrl, LATCHKEY_TOKEN: secret } });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).toContain('x\\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\\\x1b[1;31m');
  });

  it('context use URL runs the browser login: sign-in link → consent → Allow → a stored, working cli@<host> token', async () => {
    const browser = { origin: baseUrl, 'sec-fetch-site': 'same-origin', 'content-type': 'application/x-www-form-urlencoded' };
    // The person signs in through the server's one-time link (the page's form POSTs back to it).
    const signIn = await fetch(`${baseUrl}${new URL(signInLink).pathname}`, { method: 'POST', headers: browser, body: '', redirect: 'manual' });
    expect(signIn.status).toBe(303);
    const cookie = signIn.headers
      .getSetCookie()
      .map((header) => header.split(';')[0]!)
      .find((pair) => pair.startsWith(`${SESSION_COOKIE}=`))!;
    expect(cookie).toBeDefined();

    // Pipes, not a terminal: the test hook has the binary print the address instead of refusing.
    const home = freshHome('browser');
    const run = startLatchkey(['context', 'use', baseUrl], { home, env: { LATCHKEY_TEST_BROWSER_LOGIN: 'print' } });
    await expect.poll(run.stderr, { timeout: 15_000 }).toMatch(/\n {2}http:\S+\n/);
    const authorize = /\n {2}(http:\S+)\n/.exec(run.stderr())![1]!;
    expect(authorize.startsWith(`${baseUrl}/auth/cli?`)).toBe(true);

    // The browser: the consent page, with the session cookie …
    const host = hostname().replace(/[^A-Za-z0-9._-]/g, '').slice(0, 48) || 'unknown-host';
    const consent = await fetch(authorize, { headers: { cookie }, redirect: 'manual' });
    expect(consent.status).toBe(200);
    const page = await consent.text();
    expect(page).toContain(`<code>cli@${host}</code>`);
    const fields = Object.fromEntries(
      [...page.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)].map((match) => [match[1]!, unescapeHtml(match[2]!)]),
    );
    // … Allow …
    const allowed = await fetch(`${baseUrl}/auth/cli/consent`, {
      method: 'POST',
      headers: { ...browser, cookie },
      body: new URLSearchParams({ ...fields, decision: 'allow' }).toString(),
      redirect: 'manual',
    });
    expect(allowed.status).toBe(303);
    const callback = allowed.headers.get('location')!;
    expect(callback).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?code=lk_code_[0-9a-f]+&state=/);
    // … and back to the waiting CLI's loopback listener, which then collects the token.
    const landing = await fetch(callback);
    expect(landing.status).toBe(200);
    expect(await landing.text()).toContain('Signed in to Latchkey');

    const use = await run.result;
    expect(use.code).toBe(0);
    expect(use.stdout).toContain(`token "cli@${host}"`);
    const config = JSON.parse(readFileSync(join(home, '.latchkey', 'config.json'), 'utf8'));
    const stored = config.contexts[0];
    expect(config.currentContext).toBe(stored.name);
    expect(stored).toMatchObject({ url: baseUrl, tokenName: `cli@${host}`, token: expect.stringMatching(/^lk_pat_1[0-9A-Za-z]{49}$/) });
    expect(use.stdout + use.stderr).not.toContain(stored.token);
    expect(statSync(join(home, '.latchkey', 'config.json')).mode & 0o777).toBe(0o600);
    secrets.push(stored.token);

    const show = await runLatchkey(['token', 'show', '--output', 'json'], { home });
    expect(show.code).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ name: `cli@${host}`, state: 'active' });
    const namespace = await runLatchkey(['namespace', 'create', 'from-browser-login'], { home });
    expect(namespace).toMatchObject({ code: 0, stderr: '' });
  });

  it('token create prints the secret alone on stdout; token list --output json shows what it may do; the new token is held to it', async () => {
    const { secret } = await newToken('creator@example.test');
    const home = freshHome('token-create');
    const env = { LATCHKEY_URL: baseUrl, LATCHKEY_TOKEN: secret };
    const create = await runLatchkey(
      ['token', 'create', '--name', 'ci-preview', '--scope', 'namespaces:write', '--scope', 'tokens:read', '--namespace', 'preview-*', '--allow-ip', '127.0.0.0/8'],
      { home, env },
    );
    expect(create, create.stderr).toMatchObject({ code: 0 });
    expect(create.stdout).toMatch(/^lk_pat_1[0-9A-Za-z]{49}\n$/);
    expect(create.stderr).toMatch(/^Created token "ci-preview" \(namespaces:write, tokens:read; .*\)\. Copy the secret above now: it is not shown again\.\n$/);
    const created = create.stdout.trim();
    secrets.push(created);

    const list = await runLatchkey(['token', 'list', '--output', 'json'], { home, env });
    expect(list).toMatchObject({ code: 0, stderr: '' });
    const { tokens } = JSON.parse(list.stdout) as { tokens: Array<Record<string, unknown>> };
    expect(tokens.map((token) => token.name).sort()).toEqual(['ci-preview', 'e2e']);
    expect(tokens.find((token) => token.name === 'ci-preview')).toMatchObject({
      scopes: ['namespaces:write', 'tokens:read'],
      namespaces: ['preview-*'],
      allowedIps: ['127.0.0.0/8'],
      state: 'active',
    });

    const limited = { LATCHKEY_URL: baseUrl, LATCHKEY_TOKEN: created };
    expect(await runLatchkey(['namespace', 'create', 'preview-1'], { home, env: limited })).toMatchObject({ code: 0, stderr: '' });
    const refused = await runLatchkey(['namespace', 'create', 'prod-1'], { home, env: limited });
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^error: this token may not use namespace "prod-1"/);
    const wider = await runLatchkey(['token', 'create', '--name', 'wider', '--scope', 'introspect'], { home, env: limited });
    expect(wider).toMatchObject({ code: 1, stderr: 'error: this token lacks the "tokens:write" scope.\n' });
    expect(existsSync(join(home, '.latchkey'))).toBe(false);
  });

  it('admin: an administrator\'s admin-scoped token disables an account (its token then refused) and streams the audit export as NDJSON', async () => {
    const adminAccount = await services.accounts.create({ email: 'root@example.test', isAdmin: true }, SYSTEM_ACTOR);
    const { secret: adminSecret } = await services.tokens.create(adminAccount.id, { name: 'admin', scopes: ['admin:read', 'admin:write'] }, SYSTEM_ACTOR, { isAdmin: true });
    secrets.push(adminSecret);
    const member = await newToken('member@example.test');
    const home = freshHome('admin');
    const env = { LATCHKEY_URL: baseUrl, LATCHKEY_TOKEN: adminSecret };

    const disable = await runLatchkey(['admin', 'accounts', 'disable', 'member@example.test', '--yes'], { home, env });
    expect(disable, disable.stderr).toMatchObject({ code: 0, stdout: `Disabled account member@example.test (${member.accountId}).\n` });
    const refused = await runLatchkey(['namespace', 'list'], { home, env: { LATCHKEY_URL: baseUrl, LATCHKEY_TOKEN: member.secret } });
    expect(refused.code).toBe(1);

    const audit = await runLatchkey(['admin', 'audit', '--action', 'account.disabled', '--output', 'ndjson'], { home, env });
    expect(audit, audit.stderr).toMatchObject({ code: 0, stderr: '' });
    const events = audit.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { action: string; targetId: string; actor: { accountId: string } });
    expect(events).toEqual([expect.objectContaining({ action: 'account.disabled', targetId: member.accountId, actor: expect.objectContaining({ accountId: adminAccount.id }) })]);

    const memberList = await runLatchkey(['admin', 'accounts', 'list'], { home, env: { LATCHKEY_URL: baseUrl, LATCHKEY_TOKEN: (await newToken('other@example.test')).secret } });
    expect(memberList).toMatchObject({ code: 1, stdout: '' });
    expect(memberList.stderr).toContain('Only administrators');
  });

  it('admin slice 2: a service account is created and minted a token (printed once) that works; the policy is set; throttles are listed', async () => {
    const adminAccount = await services.accounts.create({ email: 'root2@example.test', isAdmin: true }, SYSTEM_ACTOR);
    const { secret: adminSecret } = await services.tokens.create(adminAccount.id, { name: 'admin', scopes: ['admin:read', 'admin:write'] }, SYSTEM_ACTOR, { isAdmin: true });
    secrets.push(adminSecret);
    const home = freshHome('admin-2');
    const env = { LATCHKEY_URL: baseUrl, LATCHKEY_TOKEN: adminSecret };

    const created = await runLatchkey(['admin', 'service-accounts', 'create', 'nightly-backup', '--output', 'json'], { home, env });
    expect(created, created.stderr).toMatchObject({ code: 0, stderr: '' });
    const account = JSON.parse(created.stdout) as { id: string };
    const minted = await runLatchkey(['admin', 'service-accounts', 'mint', 'nightly-backup', '--name', 'backup', '--scope', 'namespaces:read'], { home, env });
    expect(minted.code, minted.stderr).toBe(0);
    const secret = minted.stdout.trim();
    expect(minted.stderr).toContain('it is not shown again');
    const me = await fetch(`${baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { account: { id: string } }).account.id).toBe(account.id);
    secrets.push(secret);

    const policy = await runLatchkey(['admin', 'policy', 'set', '--max-lifetime', '45', '--output', 'json'], { home, env });
    expect(policy, policy.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(policy.stdout)).toMatchObject({ maxLifetimeDays: 45 });
    const shown = await runLatchkey(['admin', 'policy'], { home, env });
    expect(shown.stdout).toMatch(/Personal token max lifetime:\s+45 days/);
    await runLatchkey(['admin', 'policy', 'set', '--max-lifetime', '180'], { home, env });

    const throttles = await runLatchkey(['admin', 'throttles', 'list', '--output', 'json'], { home, env });
    expect(throttles, throttles.stderr).toMatchObject({ code: 0 });
    expect(JSON.parse(throttles.stdout)).toEqual({ throttles: expect.any(Array) });

    const deleted = await runLatchkey(['admin', 'service-accounts', 'delete', account.id, '--yes'], { home, env });
    expect(deleted, deleted.stderr).toMatchObject({ code: 0 });
    expect((await fetch(`${baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
  });

  it('admin accounts show and admin service-accounts token create, built: one account\'s fields by email and by id; a service account\'s token printed once that works', async () => {
    const adminAccount = await services.accounts.create({ email: 'root3@example.test', isAdmin: true }, SYSTEM_ACTOR);
    const { secret: adminSecret } = await services.tokens.create(adminAccount.id, { name: 'admin', scopes: ['admin:read', 'admin:write'] }, SYSTEM_ACTOR, { isAdmin: true });
    secrets.push(adminSecret);
    const member = await newToken('shown@example.test');
    const home = freshHome('admin-3');
    const env = { LATCHKEY_URL: baseUrl, LATCHKEY_TOKEN: adminSecret };

    const shown = await runLatchkey(['admin', 'accounts', 'show', 'shown@example.test'], { home, env });
    expect(shown, shown.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toMatch(/^Email:\s+shown@example\.test$/m);
    expect(shown.stdout).toMatch(/^Role:\s+member$/m);
    expect(shown.stdout).toMatch(/^State:\s+active$/m);
    expect(shown.stdout).toMatch(new RegExp(`^ID:\\s+${member.accountId}$`, 'm'));
    const json = await runLatchkey(['admin', 'accounts', 'show', member.accountId, '--output', 'json'], { home, env });
    expect(JSON.parse(json.stdout)).toMatchObject({ id: member.accountId, email: 'shown@example.test', isAdmin: false, disabledAt: null });

    const created = await runLatchkey(['admin', 'service-accounts', 'create', 'ci-deploy-3', '--output', 'json'], { home, env });
    const account = JSON.parse(created.stdout) as { id: string };
    const minted = await runLatchkey(['admin', 'service-accounts', 'token', 'create', 'ci-deploy-3', '--name', 'deploy', '--scope', 'namespaces:read', '--expires-in', '30'], { home, env });
    expect(minted.code, minted.stderr).toBe(0);
    const secret = minted.stdout.trimEnd();
    expect(minted.stdout).toBe(`${secret}\n`);
    secrets.push(secret);
    expect(minted.stderr).toContain('it is not shown again');
    const me = await fetch(`${baseUrl}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as { account: { id: string } }).account.id).toBe(account.id);
    expect((await runLatchkey(['admin', 'service-accounts', 'delete', account.id, '--yes'], { home, env })).code).toBe(0);
  });

  it('completion offers the scope names after --scope', async () => {
    const home = freshHome('scope-completion');
    const completion = await runLatchkey(['completion', 'bash'], { home });
    const script = join(home, 'latchkey.bash');
    writeFileSync(script, completion.stdout);
    const line = 'latchkey token create --scope tokens:';
    const bash = spawnSync(
      'bash',
      ['-c', 'source "$1"; COMP_LINE="$2"; COMP_POINT=${#2}; COMP_WORDS=(latchkey token create --scope tokens : ""); COMP_CWORD=6; _latchkey; echo "${COMPREPLY[*]}"', 'bash', script, line],
      { encoding: 'utf8' },
    );
    expect(bash.stdout).toBe('read write\n');
  });

  it('the test hook never lifts the CI rule', async () => {
    const result = await runLatchkey(['context', 'use', baseUrl], {
      home: freshHome('hook-ci'),
      env: { LATCHKEY_TEST_BROWSER_LOGIN: 'print', CI: 'true' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('off when CI is set');
  });

  it('--help, version, completion and usage errors load neither the actions bundle nor node:stream, node:net or node:tty (P6)', () => {
    const probe = join(workDir, 'module-probe.cjs');
    const out = join(workDir, 'module-probe.json');
    writeFileSync(
      probe,
      "process.on('exit', () => require('fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) })));\n",
    );
    writeFileSync(join(workDir, 'empty.cjs'), '');
    const load = (file: string, args: string[]) => {
      spawnSync(process.execPath, ['--require', probe, file, ...args], { env: { PATH: process.env.PATH ?? '', HOME: workDir, PROBE_OUT: out } });
      return JSON.parse(readFileSync(out, 'utf8')) as { builtins: string[]; files: string[] };
    };
    const baseline = new Set(load(join(workDir, 'empty.cjs'), []).builtins);
    for (const args of [['--help'], ['version'], ['completion', 'bash'], ['namespace', 'frobnicate']]) {
      const loaded = load(join(root, 'packages/cli/bin/latchkey.cjs'), args);
      const extra = loaded.builtins.filter((name) => !baseline.has(name));
      expect(extra.filter((name) => /stream|net|tty|http|undici/.test(name)), args.join(' ')).toEqual([]);
      expect(loaded.files.map((file) => file.slice(file.lastIndexOf('/') + 1))).toEqual(['module-probe.cjs', 'latchkey.cjs', 'latchkey.cjs']);
    }
  });

  it('is installed as a bin: --help (with examples), version, completion that bash can source', async () => {
    const home = freshHome('bin');
    const help = await runLatchkey(['--help'], { home });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: latchkey');
    expect(help.stdout).toContain('Examples:');
    const version = await runLatchkey(['version'], { home });
    expect(version.stdout).toMatch(/^latchkey 0\.1\.0/);
    const usage = await runLatchkey(['namespace', 'create'], { home });
    expect(usage.code).toBe(2);

    const completion = await runLatchkey(['completion', 'bash'], { home });
    const script = join(home, 'latchkey.bash');
    writeFileSync(script, completion.stdout);
    const bash = spawnSync(
      'bash',
      ['-c', 'source "$1"; COMP_WORDS=(latchkey namespace ""); COMP_CWORD=2; _latchkey; echo "${COMPREPLY[*]}"; COMP_WORDS=(latchkey namespace delete --y); COMP_CWORD=3; _latchkey; echo "${COMPREPLY[*]}"', 'bash', script],
      { encoding: 'utf8' },
    );
    expect(bash.stdout).toBe('create list delete use\n--yes\n');
  });
});

function unescapeHtml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, entity: string) =>
    ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" })[entity]!,
  );
}

// `context use` takes a bare host as `gh` and `kubectl` do (http for a loopback address) and says
// which URL it stored; an account without an email is called by its name, never by its id.
describe('latchkey context use HOST (built binary)', () => {
  const port = () => new URL(baseUrl).port;

  /** An account as the first administrator gets one (a name, no email), and a token of its. */
  async function tokenOfNamedAccount(name: string): Promise<string> {
    const account = await services.accounts.create({ name }, SYSTEM_ACTOR);
    const { secret } = await services.tokens.create(account.id, { name: 'laptop' }, SYSTEM_ACTOR);
    secrets.push(secret);
    return secret;
  }

  it('takes 127.0.0.1:PORT with --token-stdin as http://127.0.0.1:PORT, says so, stores it, and works with it', async () => {
    const secret = await tokenOfNamedAccount('Ada Lovelace');
    const home = freshHome('loopback');
    const use = await runLatchkey(['context', 'use', `127.0.0.1:${port()}`, '--token-stdin'], { home, input: `${secret}\n` });
    expect(use, use.stderr).toMatchObject({ code: 0 });
    expect(use.stderr).toBe(`Using http://127.0.0.1:${port()} for "127.0.0.1:${port()}".\n`);
    expect(use.stdout).toContain(`on http://127.0.0.1:${port()}, token "laptop"`);

    const config = JSON.parse(readFileSync(join(home, '.latchkey', 'config.json'), 'utf8'));
    expect(config.contexts).toEqual([expect.objectContaining({ name: `127.0.0.1:${port()}`, url: `http://127.0.0.1:${port()}` })]);
    expect(config.currentContext).toBe(`127.0.0.1:${port()}`);

    const shown = await runLatchkey(['token', 'show'], { home });
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(shown.stdout).toMatch(/^Name:\s+laptop$/m);

    // The stored name switches back to it, as before.
    const again = await runLatchkey(['context', 'use', `127.0.0.1:${port()}`], { home });
    expect(again).toMatchObject({ code: 0, stderr: '' });
    expect(again.stdout).toBe(`Switched to context "127.0.0.1:${port()}" (http://127.0.0.1:${port()}).\n`);
  });

  it('calls an account without an email by its name, in context use, list and show, never by its id', async () => {
    const secret = await tokenOfNamedAccount('Grace Hopper');
    const home = freshHome('named');
    const use = await runLatchkey(['context', 'use', `http://127.0.0.1:${port()}`, '--token-stdin'], { home, input: secret });
    expect(use.code).toBe(0);
    expect(use.stdout).toContain('is now current: Grace Hopper on');
    const list = await runLatchkey(['context', 'list'], { home });
    expect(list.stdout).toMatch(/^\*\s+127\.0\.0\.1:\d+\s+http:\S+\s+Grace Hopper\s+-$/m);
    const show = await runLatchkey(['context', 'show'], { home });
    expect(show.stdout).toMatch(/^Account:\s+Grace Hopper$/m);
    const config = JSON.parse(readFileSync(join(home, '.latchkey', 'config.json'), 'utf8'));
    const accountId = config.contexts[0].account.id as string;
    for (const output of [use.stdout, list.stdout, show.stdout]) expect(output).not.toContain(accountId);
  });
});
