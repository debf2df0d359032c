/**
 * The CLI's browser login in real Chromium, against the app served over HTTP in this process:
 * a login that starts signed out comes back to its consent page after a one-time link; a [::1]
 * loopback redirect finishes; the real CLI binary's own answer page is styled; and no page
 * breaks its own CSP on the way (Chromium reports each refusal on the console).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import type { Database } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createLogger } from '../../src/http/logging.js';
import { systemClock } from '../../src/kernel/clock.js';
import { createServices, type Services } from '../../src/services.js';
import { freePort, repositoryRoot } from '../support/server-process.mjs';
import { describeInBrowser, launchChromium } from './support/chromium.js';

/** What Chromium prints when a page's CSP refuses something of its own (a style, a form target …). */
const CSP_COMPLAINT = /Content Security Policy|Refused to|invalid source/;

describeInBrowser('CLI browser login in Chromium', () => {
  let browser: Browser;
  let database: Database;
  let services: Services;
  let app: App;
  let origin: string;
  let context: BrowserContext;
  let page: Page;
  let consoleMessages: string[];
  let accounts = 0;

  beforeAll(async () => {
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    database = openDatabase('sqlite::memory:');
    await database.migrate();
    const logger = createLogger({ level: 'silent' });
    services = createServices({
      database,
      clock: systemClock,
      logger,
      settings: { maxLifetimeDays: 180, maxTokensPerAccount: 100 },
      publicUrl: origin,
    });
    app = await createApp({ services, logger, publicUrl: origin });
    await app.http.listen({ port, host: '127.0.0.1' });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.http.close();
    await database?.close();
  });

  beforeEach(async () => {
    // Only this machine's loopback, over IPv4 and IPv6 (the shared helper allows 127.0.0.1 only).
    context = await browser.newContext();
    await context.route('**/*', (route) => {
      const url = new URL(route.request().url());
      return url.protocol === 'http:' && (url.hostname === '127.0.0.1' || url.hostname === '[::1]')
        ? route.continue()
        : route.abort('blockedbyclient');
    });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    consoleMessages = [];
    page.on('console', (message) => consoleMessages.push(message.text()));
  });
  afterEach(() => context.close());

  /** A fresh account's one-time sign-in link, as `latchkey-server signin-link --email` prints it. */
  async function signInLink(): Promise<string> {
    return (await services.signInLinks.issueFor({ email: `cli-user${++accounts}@example.test` })).url;
  }

  /** From the sign-in page: the person opens their link in this browser and presses Sign in. */
  async function signInWithLink() {
    await expect.poll(() => page.textContent('body')).toContain('Open it in this browser');
    await page.goto(await signInLink());
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('a login over [::1] that starts signed out: one-time link → back to the consent page → Allow reaches the [::1] listener', async () => {
    const received: URL[] = [];
    const listener: Server = createServer((request, response) => {
      received.push(new URL(request.url ?? '/', 'http://[::1]'));
      response.end('ok');
    });
    await new Promise<void>((resolve) => listener.listen(0, '::1', resolve));
    try {
      const redirectUri = `http://[::1]:${(listener.address() as AddressInfo).port}/callback`;
      const verifier = randomBytes(32).toString('base64url');
      const authorize = new URL(`${origin}/auth/cli`);
      authorize.search = new URLSearchParams({
        redirect_uri: redirectUri,
        code_challenge: createHash('sha256').update(verifier).digest('base64url'),
        code_challenge_method: 'S256',
        state: 'ipv6-state',
        client_name: 'v6-box',
      }).toString();

      await page.goto(authorize.href);
      expect(new URL(page.url()).pathname).toBe('/auth/sign-in');
      await signInWithLink();
      await page.getByRole('heading', { name: 'Authorize the Latchkey CLI' }).waitFor();
      expect(new URL(page.url()).pathname).toBe('/auth/cli');
      // The page's own style applied (its CSP allows it by nonce): the card is white.
      expect(await page.locator('main').evaluate((element) => getComputedStyle(element).backgroundColor)).toBe('rgb(255, 255, 255)');

      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((url) => url.hostname === '[::1]');
      const callback = received.find((url) => url.pathname === '/callback')!;
      expect(callback.searchParams.get('state')).toBe('ipv6-state');
      const exchange = await fetch(`${origin}/auth/cli/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: callback.searchParams.get('code'), code_verifier: verifier, redirect_uri: redirectUri }),
      });
      expect(exchange.status).toBe(200);
      expect(((await exchange.json()) as { name: string }).name).toBe('cli@v6-box');
      expect(consoleMessages.filter((message) => CSP_COMPLAINT.test(message))).toEqual([]);
    } finally {
      listener.closeAllConnections();
      await new Promise((resolve) => listener.close(resolve));
    }
  });

  it("the real CLI binary's login, signed out at first, ends on the CLI's own page, styled, with no CSP refusal", async () => {
    const build = spawnSync(process.execPath, ['packages/cli/scripts/build.mjs'], { cwd: repositoryRoot, encoding: 'utf8' });
    expect(build.status, build.stderr).toBe(0);
    const home = mkdtempSync(join(tmpdir(), 'latchkey-cli-login-'));
    let stderr = '';
    const cli = spawn(join(repositoryRoot, 'node_modules/.bin/latchkey'), ['context', 'use', origin], {
      // Pipes, not a terminal: the test hook prints the address instead of opening a browser.
      env: { PATH: process.env.PATH ?? '', HOME: home, LATCHKEY_TEST_BROWSER_LOGIN: 'print' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cli.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => cli.on('close', resolve));
    try {
      await expect.poll(() => stderr, { timeout: 15_000 }).toMatch(/\n {2}http:\S+\n/);
      await page.goto(/\n {2}(http:\S+)\n/.exec(stderr)![1]!);
      await signInWithLink();
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((url) => url.pathname === '/callback');
      await expect.poll(() => page.textContent('body')).toContain('Signed in to Latchkey');
      // 3em at 16px: the page's <style> applied.
      expect(await page.evaluate(() => getComputedStyle(document.body).marginTop)).toBe('48px');
      expect(await exited).toBe(0);
      expect(consoleMessages.filter((message) => CSP_COMPLAINT.test(message))).toEqual([]);
    } finally {
      cli.kill();
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
