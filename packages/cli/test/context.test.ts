/** `latchkey context …` in-process against the real app: storing, switching, showing, precedence. */
import { readFileSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TestApp } from '../../server/test/support/app.js';
import { createCliHarness, type CliHarness } from './support/cli-harness.js';
import { createInjectFetch, type InjectFetch } from './support/inject-fetch.js';
import { closeServerApp, createServerApp } from './support/server.js';

const URL_A = 'https://latchkey.test';

let app: TestApp;
let api: InjectFetch;
let cli: CliHarness;
let token: string;

beforeEach(async () => {
  app = await createServerApp();
  api = createInjectFetch(app);
  cli = createCliHarness({ fetch: api.fetch });
  const session = await app.signIn({ email: 'dev@example.test' });
  token = (await app.createToken(session, 'laptop')).secret;
});

afterEach(async () => {
  cli.cleanup();
  await closeServerApp(app);
});

function config() {
  return JSON.parse(readFileSync(join(cli.latchkeyHome, 'config.json'), 'utf8'));
}

describe('context use URL', () => {
  it('verifies the token with GET /api/v1/me, stores the context 0600 in a 0700 directory, and makes it current', async () => {
    const result = await cli.run(['context', 'use', `${URL_A}/`, '--token-stdin'], { stdin: `${token}\n` });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Context "latchkey.test" is now current: dev@example.test');
    expect(result.stdout).toContain('token "laptop"');
    expect(api.requests.map((request) => `${request.method} ${request.url}`)).toEqual([`GET ${URL_A}/api/v1/me`]);
    expect(api.requests[0]!.headers.authorization).toBe(`Bearer ${token}`);

    const stored = config();
    expect(stored.currentContext).toBe('latchkey.test');
    expect(stored.contexts).toEqual([
      expect.objectContaining({ name: 'latchkey.test', url: URL_A, token, tokenName: 'laptop', namespace: null }),
    ]);
    expect(statSync(join(cli.latchkeyHome, 'config.json')).mode & 0o777).toBe(0o600);
    expect(statSync(cli.latchkeyHome).mode & 0o777).toBe(0o700);
  });

  it('takes --token with a one-line warning about shell history that never repeats the token', async () => {
    const result = await cli.run(['context', 'use', URL_A, '--token', token]);
    expect(result.code).toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^warning: .*shell history.*LATCHKEY_TOKEN or --token-stdin/);
    expect(result.stderr + result.stdout).not.toContain(token);
  });

  it('takes LATCHKEY_TOKEN as the explicit token (never the browser)', async () => {
    const result = await cli.run(['context', 'use', URL_A], { env: { LATCHKEY_TOKEN: token }, tty: true });
    expect(result.code).toBe(0);
    expect(config().contexts[0].token).toBe(token);
  });

  it('refuses a token with a wrong checksum before any request, exit 1', async () => {
    const broken = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const result = await cli.run(['context', 'use', URL_A, '--token-stdin'], { stdin: broken });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('checksum does not match');
    expect(result.stderr).toContain('nothing was sent to the server');
    expect(api.requests).toHaveLength(0);
    expect(existsSync(cli.latchkeyHome)).toBe(false);
  });

  it('refuses junk that is not token-shaped, saying why', async () => {
    const result = await cli.run(['context', 'use', URL_A, '--token-stdin'], { stdin: 'ghp_1234567890' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not start with lk_pat_1');
    expect(api.requests).toHaveLength(0);
  });

  it('a token the server does not know is not stored', async () => {
    const result = await cli.run(['context', 'use', URL_A, '--token-stdin'], {
      stdin: (await import('@latchkey/contract/token')).generateToken().token,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the token is not valid any more');
    expect(existsSync(join(cli.latchkeyHome, 'config.json'))).toBe(false);
  });

  it('without a token in a script or CI, says to pass --token instead of opening a browser (exit 2)', async () => {
    let opened = false;
    const openBrowser = async () => (opened = true);
    const notTty = await cli.run(['context', 'use', URL_A], { openBrowser });
    expect(notTty.code).toBe(2);
    expect(notTty.stderr).toContain('pass --token-stdin (or --token');
    const ci = await cli.run(['context', 'use', URL_A], { openBrowser, tty: true, env: { CI: 'true' } });
    expect(ci.code).toBe(2);
    expect(ci.stderr).toContain('off when CI is set');
    expect(opened).toBe(false);
    expect(api.requests).toHaveLength(0);
  });

  it('usage errors exit 2: a bad URL, both --token and --token-stdin, a missing argument', async () => {
    expect((await cli.run(['context', 'use', 'ftp://x', '--token', token])).code).toBe(2);
    expect((await cli.run(['context', 'use', URL_A, '--token', token, '--token-stdin'], { stdin: token })).code).toBe(2);
    const missing = await cli.run(['context', 'use']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'url-or-name'");
  });
});

describe('context use HOST (no scheme)', () => {
  it('takes a bare host as https and says which URL it used', async () => {
    const result = await cli.run(['context', 'use', 'latchkey.test', '--token-stdin'], { stdin: token });
    expect(result).toMatchObject({ code: 0, stderr: 'Using https://latchkey.test for "latchkey.test".\n' });
    expect(api.requests.map((request) => request.url)).toEqual([`${URL_A}/api/v1/me`]);
    expect(config().contexts).toEqual([expect.objectContaining({ name: 'latchkey.test', url: URL_A })]);
  });

  it('takes http for loopback hosts: 127.0.0.0/8, ::1 and localhost', async () => {
    for (const [host, url] of [
      ['127.0.0.1:8080', 'http://127.0.0.1:8080'],
      ['127.1.2.3', 'http://127.1.2.3'],
      ['[::1]:8080', 'http://[::1]:8080'],
      ['localhost:8080', 'http://localhost:8080'],
      ['localhost', 'http://localhost'],
    ]) {
      api.requests.length = 0;
      const result = await cli.run(['context', 'use', host!, '--token-stdin'], { stdin: token });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stderr).toBe(`Using ${url} for "${host}".\n`);
      expect(api.requests.map((request) => request.url)).toEqual([`${url}/api/v1/me`]);
    }
  });

  it('takes a bare host in --url and LATCHKEY_URL too', async () => {
    const result = await cli.run(['namespace', 'list', '--url', 'latchkey.test'], { env: { LATCHKEY_TOKEN: token } });
    expect(result.code, result.stderr).toBe(0);
    expect(api.requests.map((request) => request.url)).toEqual([`${URL_A}/api/v1/namespaces`]);
  });

  it('a word that is no host stays a context name: switched to, or refused with a token', async () => {
    await cli.run(['context', 'use', URL_A, '--name', 'prod', '--token-stdin'], { stdin: token });
    await cli.run(['context', 'use', URL_A, '--name', 'other', '--token-stdin'], { stdin: token });
    expect(await cli.run(['context', 'use', 'prod'])).toMatchObject({ code: 0, stdout: 'Switched to context "prod" (https://latchkey.test).\n' });
    const refused = await cli.run(['context', 'use', 'prod', '--token-stdin'], { stdin: token });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('"prod" is not a URL');
  });
});

describe('several contexts', () => {
  it('lists them (table and JSON, never the token), switches with `context use NAME`, deletes', async () => {
    const session = await app.signIn({ email: 'ops@example.test' });
    const second = (await app.createToken(session, 'ops')).secret;
    await cli.run(['context', 'use', URL_A, '--token-stdin'], { stdin: token });
    await cli.run(['context', 'use', URL_A, '--name', 'ops', '--token-stdin'], { stdin: second });

    const table = await cli.run(['context', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^CURRENT\s+NAME\s+URL\s+ACCOUNT\s+NAMESPACE$/);
    expect(table.stdout).toMatch(/^\*\s+ops\s+https:\/\/latchkey\.test\s+ops@example\.test\s+-$/m);
    const columns = table.stdout.trim().split('\n').map((line) => line.indexOf(line.startsWith('CURRENT') ? 'URL' : 'https://'));
    expect(new Set(columns).size).toBe(1);

    const json = await cli.run(['context', 'list', '--output', 'json']);
    expect(JSON.parse(json.stdout).contexts).toEqual([
      expect.objectContaining({ name: 'latchkey.test', current: false, url: URL_A, hasToken: true }),
      expect.objectContaining({ name: 'ops', current: true, account: expect.objectContaining({ email: 'ops@example.test' }) }),
    ]);
    expect(table.stdout + json.stdout).not.toMatch(/lk_pat_1[0-9A-Za-z]{49}/);

    const switched = await cli.run(['context', 'use', 'latchkey.test']);
    expect(switched).toMatchObject({ code: 0, stdout: 'Switched to context "latchkey.test" (https://latchkey.test).\n' });
    expect(config().currentContext).toBe('latchkey.test');
    expect((await cli.run(['context', 'use', 'nope'])).code).toBe(2);

    const deleted = await cli.run(['context', 'delete', 'latchkey.test']);
    expect(deleted.code).toBe(0);
    expect(config()).toMatchObject({ currentContext: null, contexts: [expect.objectContaining({ name: 'ops' })] });
    expect((await cli.run(['context', 'delete', 'latchkey.test'])).code).toBe(2);
  });

  it('context show masks the token unless --include-token', async () => {
    await cli.run(['context', 'use', URL_A, '--token-stdin'], { stdin: token });
    const shown = await cli.run(['context', 'show']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^Token:\s+lk_pat_1…/m);
    expect(shown.stdout).not.toContain(token);
    const json = JSON.parse((await cli.run(['context', 'show', '-o', 'json'])).stdout);
    expect(json).not.toHaveProperty('token');
    expect(json.displayToken).toBe(`lk_pat_1…${token.slice(-4)}`);

    const revealed = await cli.run(['context', 'show', '--include-token']);
    expect(revealed.stdout).toContain(token);
    expect(JSON.parse((await cli.run(['context', 'show', '--include-token', '-o', 'json'])).stdout).token).toBe(token);
  });
});

describe('credential precedence', () => {
  it('env-only (LATCHKEY_URL + LATCHKEY_TOKEN) works with no config file and writes none', async () => {
    const result = await cli.run(['namespace', 'create', 'pr-123'], { env: { LATCHKEY_URL: URL_A, LATCHKEY_TOKEN: token } });
    expect(result).toMatchObject({ code: 0 });
    expect(existsSync(cli.latchkeyHome)).toBe(false);
  });

  it('flags beat env, env beats the stored context', async () => {
    const session = await app.signIn({ email: 'env@example.test' });
    const envToken = (await app.createToken(session, 'env')).secret;
    const flagToken = (await app.createToken(session, 'flag')).secret;
    await cli.run(['context', 'use', URL_A, '--token-stdin'], { stdin: token });

    const fromContext = await cli.run(['token', 'show', '-o', 'json']);
    expect(JSON.parse(fromContext.stdout).name).toBe('laptop');
    const fromEnv = await cli.run(['token', 'show', '-o', 'json'], { env: { LATCHKEY_TOKEN: envToken } });
    expect(JSON.parse(fromEnv.stdout).name).toBe('env');
    const fromFlag = await cli.run(['token', 'show', '-o', 'json', '--token', flagToken], { env: { LATCHKEY_TOKEN: envToken } });
    expect(JSON.parse(fromFlag.stdout).name).toBe('flag');
    expect(api.requests.at(-1)!.headers.authorization).toBe(`Bearer ${flagToken}`);
  });

  it('never sends a stored token to a URL it was not stored for', async () => {
    await cli.run(['context', 'use', URL_A, '--token-stdin'], { stdin: token });
    const before = api.requests.length;
    const result = await cli.run(['namespace', 'list', '--url', 'https://elsewhere.example']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('No token for https://elsewhere.example');
    expect(api.requests).toHaveLength(before);
  });

  it('LATCHKEY_NAMESPACE beats the context default', async () => {
    await cli.run(['context', 'use', URL_A, '--token-stdin'], { stdin: token });
    await cli.run(['namespace', 'create', 'alpha']);
    await cli.run(['namespace', 'create', 'beta']);
    expect((await cli.run(['namespace', 'use', 'alpha'])).code).toBe(0);
    expect(config().contexts[0].namespace).toBe('alpha');
    expect((await cli.run(['namespace', 'list'])).stdout).toMatch(/^alpha\s+\*/m);
    expect((await cli.run(['namespace', 'list'], { env: { LATCHKEY_NAMESPACE: 'beta' } })).stdout).toMatch(/^beta\s+\*/m);
  });

  it('with nothing configured, says how to configure, exit 1', async () => {
    const result = await cli.run(['namespace', 'list']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('run `latchkey context use URL`, or set LATCHKEY_URL and LATCHKEY_TOKEN');
  });
});
