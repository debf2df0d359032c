/**
 * The loopback browser login, with the test acting as the browser against a local fake of the
 * two server endpoints. The run against the real `latchkey-server` (sign-in link, consent page,
 * the built binary) is in cli-binary.test.ts.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { generateToken } from '@latchkey/contract/token';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loginWithBrowser } from '../src/browser-login.js';
import type { CliIo } from '../src/io.js';
import { createCliHarness } from './support/cli-harness.js';
import { createInjectFetch } from './support/inject-fetch.js';
import { startFakeCliAuth, type FakeCliAuth } from './support/fake-cli-auth.js';
import { closeServerApp, createServerApp } from './support/server.js';

let fake: FakeCliAuth;
let stderr: string;
let browserPages: string[];

beforeEach(async () => {
  fake = await startFakeCliAuth(generateToken().token);
  stderr = '';
  browserPages = [];
});
afterEach(() => fake.close());

/** A browser: follows the authorize URL and its redirect to the CLI's loopback listener. */
async function browse(url: string): Promise<boolean> {
  const page = await fetch(url);
  browserPages.push(`${page.status} ${await page.text()}`);
  return true;
}

function io(openBrowser: CliIo['openBrowser']): CliIo {
  return {
    env: {},
    home: '/nonexistent',
    fetch,
    stdout: { write: () => true },
    stderr: { write: (text: string) => (stderr += text) },
    stdin: Readable.from([]),
    openBrowser,
  };
}

describe('loginWithBrowser', () => {
  it('runs PKCE S256 through a 127.0.0.1 loopback and returns the minted token', async () => {
    let opened = '';
    const result = await loginWithBrowser(
      io(async (url) => {
        opened = url;
        void browse(url);
        return true;
      }),
      { url: fake.url, clientName: 'dev-laptop' },
    );
    expect(result.token).toBe(fake.token);
    expect(result.name).toBe('cli@test-host');

    const query = fake.authorizeRequests[0]!;
    expect(opened.startsWith(`${fake.url}/auth/cli?`)).toBe(true);
    expect(query.get('code_challenge_method')).toBe('S256');
    expect(query.get('client_name')).toBe('dev-laptop');
    expect(query.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(query.get('state')).toMatch(/^[A-Za-z0-9_-]{16,}$/);
    expect(opened).not.toContain('code_verifier');
    expect(fake.exchanges).toEqual([
      { code: expect.any(String), code_verifier: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), redirect_uri: query.get('redirect_uri') },
    ]);
    expect(browserPages[0]).toMatch(/^200 .*You can close this window/);
    expect(stderr).toContain('Opened your browser');
  });

  it('prints the address when no browser opens, and the user can finish by hand', async () => {
    const login = loginWithBrowser(io(async () => false), { url: fake.url, clientName: 'h' });
    await expect.poll(() => stderr).toContain('Open this address in a browser');
    const printed = /\n {2}(http:\S+)\n/.exec(stderr)![1]!;
    await browse(printed);
    expect((await login).token).toBe(fake.token);
  });

  it('ignores a callback with the wrong state (400) and keeps waiting for the right one', async () => {
    const login = loginWithBrowser(
      io(async (url) => {
        const redirect = new URL(new URL(url).searchParams.get('redirect_uri')!);
        const forged = await fetch(`${redirect.href}?code=stolen&state=forged`);
        browserPages.push(`${forged.status}`);
        void browse(url);
        return true;
      }),
      { url: fake.url, clientName: 'h' },
    );
    expect((await login).token).toBe(fake.token);
    expect(browserPages[0]).toBe('400');
    expect(fake.exchanges).toHaveLength(1);
  });

  it('a denial in the browser fails with a clear message and no exchange', async () => {
    fake.decision = 'deny';
    await expect(
      loginWithBrowser(io(async (url) => (void browse(url), true)), { url: fake.url, clientName: 'h' }),
    ).rejects.toThrow('The sign-in was denied in the browser');
    expect(fake.exchanges).toHaveLength(0);
  });

  it('an INVALID_GRANT answer to the exchange surfaces as that code', async () => {
    const login = loginWithBrowser(
      io(async (url) => {
        // A browser that replays the code first: the real exchange then finds it used.
        const redirect = await fetch(url, { redirect: 'manual' });
        const callback = new URL(redirect.headers.get('location')!);
        await fetch(`${fake.url}/auth/cli/token`, {
          method: 'POST',
          body: JSON.stringify({ code: callback.searchParams.get('code'), code_verifier: 'x', redirect_uri: 'x' }),
        });
        void fetch(callback);
        return true;
      }),
      { url: fake.url, clientName: 'h' },
    );
    await expect(login).rejects.toMatchObject({ failureKind: 'api', code: 'INVALID_GRANT' });
  });

  it("the page the browser lands on after the login is allowed its own style by that page's CSP", async () => {
    let landed: Response | undefined;
    await loginWithBrowser(
      io(async (url) => {
        void fetch(url).then((response) => (landed = response));
        return true;
      }),
      { url: fake.url, clientName: 'h' },
    );
    await expect.poll(() => landed).toBeDefined();
    const page = await landed!.text();
    expect(page).toContain('Signed in to Latchkey');
    const csp = landed!.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(page).not.toMatch(/\sstyle=/); // an inline style attribute would need 'unsafe-inline'
    const styles = [...page.matchAll(/<style>([^<]*)<\/style>/g)].map((match) => match[1]!);
    expect(styles.length).toBeGreaterThan(0);
    const allowed = /style-src ([^;]*)/.exec(csp)?.[1]?.split(' ') ?? [];
    for (const style of styles) {
      expect(allowed).toContain(`'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    }
  });

  it('gives up after the timeout', async () => {
    await expect(loginWithBrowser(io(async () => true), { url: fake.url, clientName: 'h', timeoutMs: 50 })).rejects.toThrow(
      'Timed out',
    );
  });
});

describe('context use URL with the browser', () => {
  it('stores the context with the token the browser login minted (verified against the real app)', async () => {
    const app = await createServerApp();
    const cli = createCliHarness();
    try {
      const session = await app.signIn({ email: 'browser@example.test' });
      fake.token = (await app.createToken(session, 'cli@test-host')).secret;
      const inject = createInjectFetch(app);
      const result = await cli.run(['context', 'use', fake.url], {
        tty: true,
        // /auth/cli/* goes to the fake over real HTTP; the API to the real app.
        fetch: (input, init) => (String(input).includes('/auth/cli') ? fetch(input, init) : inject.fetch(input, init)),
        openBrowser: async (url) => (void browse(url), true),
      });
      expect(result.stderr).toContain('Opened your browser');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('browser@example.test');
      expect(result.stdout + result.stderr).not.toContain(fake.token);
      expect(inject.requests.map((request) => request.headers.authorization)).toEqual([`Bearer ${fake.token}`]);
    } finally {
      cli.cleanup();
      await closeServerApp(app);
    }
  });

  it('with the test hook (LATCHKEY_TEST_BROWSER_LOGIN=print) and no terminal: prints the address, opens nothing; CI still refuses', async () => {
    const app = await createServerApp();
    const cli = createCliHarness();
    try {
      const session = await app.signIn({ email: 'hook@example.test' });
      fake.token = (await app.createToken(session, 'cli@test-host')).secret;
      const inject = createInjectFetch(app);
      let opened = false;
      const common = {
        env: { LATCHKEY_TEST_BROWSER_LOGIN: 'print' },
        fetch: ((input, init) => (String(input).includes('/auth/cli') ? fetch(input, init) : inject.fetch(input, init))) as typeof fetch,
        openBrowser: async () => (opened = true),
      };

      const ci = await cli.run(['context', 'use', fake.url], { ...common, env: { ...common.env, CI: 'true' } });
      expect(ci.code).toBe(2);
      expect(ci.stderr).toContain('off when CI is set');

      let printed = '';
      const run = cli.run(['context', 'use', fake.url], { ...common, onStderr: (text) => (printed += text) });
      await expect.poll(() => printed).toContain('Open this address in a browser');
      await browse(/\n {2}(http:\S+)\n/.exec(printed)![1]!);
      const result = await run;
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('hook@example.test');
      expect(opened).toBe(false);
      expect(fake.authorizeRequests).toHaveLength(1);
    } finally {
      cli.cleanup();
      await closeServerApp(app);
    }
  });
});
