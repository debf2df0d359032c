/**
 * The web console in real headless Chromium against the real `latchkey-server` binary on
 * SQLite: signing in, creating, copying and deleting tokens, namespaces, the expiry banner, a
 * narrow screen, and the security properties of docs/security.md, items 29, 37, 40 and 42. One
 * server and one browser for the file; every test signs in a fresh account in a fresh browser
 * context. Screenshots of each page go to test-results/screenshots/ (ignored by git).
 */
import { DAY_MS, TOKEN_SHAPE, tokenScannerRegExp } from '@latchkey/contract';
import type { Browser, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInBrowser, openContext } from './support/chromium.js';
import {
  consoleServerAndBrowser,
  expiryBannerText,
  framedByAnotherOrigin,
  recordDialogs,
  screenshot,
  signInInBrowser,
  tokenNameCells,
  tokenRow as rowOf,
} from './support/console-session.js';
import type { RunningServer } from './support/server.js';

let server: RunningServer;
let browser: Browser;

/** The one-time link page's Sign in button: a plain form POST from a no-referrer page. */
async function pressSignIn(page: Page) {
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A new account signed in through its one-time link, in a fresh context. */
const signedIn = (options: { viewport?: { width: number; height: number } } = {}) => signInInBrowser(browser, server, options);

async function openTokens(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  await page.waitForURL('**/settings/tokens');
  await page.getByRole('heading', { name: 'Personal Access Tokens' }).waitFor();
}

function bearerMe(token: string) {
  return fetch(`${server.origin}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
}

describeInBrowser('web console in Chromium', () => {
  consoleServerAndBrowser((started) => ({ server, browser } = started));

  it('sends a signed-out visit to the sign-in page and back after the one-time link', async () => {
    const context = await openContext(browser, server.origin);
    try {
      const page = await context.newPage();
      await page.goto('/namespaces');
      await page.waitForURL((url) => url.pathname === '/sign-in' && url.search === '?return_to=%2Fnamespaces');
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in to Latchkey');
      // The sign-in options arrive after the heading (an API call): wait for them.
      await expect.poll(() => page.locator('main').textContent()).toContain('one-time links');
      expect(await page.title()).toBe('Sign in · Latchkey');
      await screenshot(page, 'sign-in');

      await page.goto(server.firstSignInLink);
      await pressSignIn(page);
      await page.waitForURL('**/namespaces');
      await page.getByRole('heading', { name: 'Namespaces' }).waitFor();
      await screenshot(page, 'namespaces-empty');

      // Signing out lands on the sign-in page; the API then answers 401 and the console says so.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((url) => url.pathname === '/sign-in');
      await page.goto('/settings/tokens');
      await page.waitForURL((url) => url.pathname === '/sign-in' && url.search === '?return_to=%2Fsettings%2Ftokens');
    } finally {
      await context.close();
    }
  });

  it('the one-time link page signs in from Chromium (a no-referrer form POST: Origin null, Sec-Fetch-Site same-origin)', async () => {
    const context = await openContext(browser, server.origin);
    try {
      const page = await context.newPage();
      await page.goto(server.signInLink(`canary-${Date.now()}@example.test`));
      const [response] = await Promise.all([
        page.waitForResponse((candidate) => candidate.request().method() === 'POST'),
        page.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      expect(response.status()).toBe(303);
    } finally {
      await context.close();
    }
  });

  it('New Token → Generate → Copy: the copied token works until Delete → Delete Token', async () => {
    const { context, page } = await signedIn();
    try {
      await openTokens(page);
      await expect.poll(() => page.locator('main').textContent()).toContain('You have no personal access tokens yet.');
      await screenshot(page, 'tokens-empty');

      await page.getByRole('button', { name: 'New Token', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'New personal access token' });
      await dialog.getByLabel('Name').fill('ci preview environments');
      expect(await dialog.getByLabel('Expiration', { exact: true }).inputValue()).toBe('180');
      expect(await dialog.textContent()).toContain('The token will expire on');
      await screenshot(page, 'new-token-dialog');
      await dialog.getByRole('button', { name: 'Generate' }).click();

      const reveal = page.getByRole('dialog', { name: 'Your new personal access token' });
      const secretField = reveal.getByLabel('Your new token');
      const secret = await secretField.inputValue();
      expect(secret).toMatch(TOKEN_SHAPE);
      expect(await reveal.textContent()).toContain('You won’t be able to see it again');
      expect(await secretField.evaluate((element) => getComputedStyle(element).fontFamily)).toMatch(/mono/i);

      // Copy with the keyboard: Tab from the field to the button, Enter.
      await secretField.focus();
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Copy');
      await page.keyboard.press('Enter');
      await reveal.getByRole('button', { name: 'Copied' }).waitFor();
      const copied = await page.evaluate(() => navigator.clipboard.readText());
      expect(copied).toBe(secret);
      await screenshot(page, 'new-token-secret', { mask: [secretField] });

      // The secret is nowhere but that field: not the URL, title, storage, or the list.
      const where = await page.evaluate(() => ({
        url: location.href,
        title: document.title,
        local: JSON.stringify({ ...localStorage }),
        session: JSON.stringify({ ...sessionStorage }),
      }));
      for (const value of Object.values(where)) expect(value).not.toContain(secret);

      const me = await bearerMe(copied);
      expect(me.status).toBe(200);
      expect(((await me.json()) as { authenticatedWith: string }).authenticatedWith).toBe('token');

      await reveal.getByRole('button', { name: 'Done' }).click();
      await reveal.waitFor({ state: 'detached' });
      expect(await page.content()).not.toContain(secret);
      expect((await page.content()).match(tokenScannerRegExp())).toBeNull();

      const row = rowOf(page, 'ci preview environments');
      await expect.poll(() => row.locator('.badge').textContent()).toBe('Active');
      await expect.poll(() => row.textContent()).toMatch(/in 180 days/);
      await expect.poll(() => row.textContent()).toMatch(/from 127\.0\.0\.1|Never used/);
      await screenshot(page, 'tokens-list');

      await row.getByRole('button', { name: /^Delete/ }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Delete personal access token?' });
      await confirm.waitFor();
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
      await screenshot(page, 'delete-token-dialog');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Delete Token');
      await page.keyboard.press('Enter');
      await confirm.waitFor({ state: 'detached' });
      await row.waitFor({ state: 'detached' });
      expect((await bearerMe(copied)).status).toBe(401);

      await page.getByLabel('Show revoked').check();
      const revoked = rowOf(page, 'ci preview environments');
      await expect.poll(() => revoked.locator('.badge').textContent()).toBe('Revoked');
      expect(await revoked.textContent()).toMatch(/Revoked \w/);
      await screenshot(page, 'tokens-show-revoked');
    } finally {
      await context.close();
    }
  });

  it('shows server validation at the field, and asks before discarding a secret nobody copied', async () => {
    const { context, page, api } = await signedIn();
    try {
      await api.createToken('taken');
      await openTokens(page);
      await page.getByRole('button', { name: 'New Token', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'New personal access token' });
      await dialog.getByLabel('Name').fill('taken');
      await dialog.getByRole('button', { name: 'Generate' }).click();
      const nameField = dialog.getByLabel('Name');
      await expect.poll(() => nameField.getAttribute('aria-invalid')).toBe('true');
      expect(await dialog.textContent()).toContain('You already have an active token with this name.');
      await screenshot(page, 'new-token-validation');

      await nameField.fill('fresh');
      await dialog.getByRole('button', { name: 'Generate' }).click();
      const reveal = page.getByRole('dialog', { name: 'Your new personal access token' });
      await reveal.getByRole('button', { name: 'Done' }).click();
      await reveal.getByRole('button', { name: 'Close without copying' }).click();
      await reveal.waitFor({ state: 'detached' });
      await rowOf(page, 'fresh').waitFor();
    } finally {
      await context.close();
    }
  });

  it('banner on every page for a token expiring in 3 days, not for one in 8 days; expired tokens show as such', async () => {
    const { context, page, api } = await signedIn();
    try {
      await api.createToken('eight days', { expiresAt: new Date(Date.now() + 8 * DAY_MS).toISOString() });
      await openTokens(page);
      await rowOf(page, 'eight days').waitFor();
      expect(await rowOf(page, 'eight days').locator('.badge').textContent()).toBe('Active');
      expect(await page.getByRole('region', { name: 'Expiring tokens' }).count()).toBe(0);

      await api.createToken('three days', { expiresAt: new Date(Date.now() + 3 * DAY_MS).toISOString() });
      for (const path of ['/settings/tokens', '/namespaces', '/']) {
        const text = await expiryBannerText(page, path);
        expect(text).toContain('three days');
        expect(text).toContain('in 3 days');
        expect(text).not.toContain('eight days');
      }
      await screenshot(page, 'overview-with-banner');
      await page.getByRole('link', { name: 'Regenerate three days' }).click();
      await page.getByRole('dialog', { name: 'Regenerate personal access token?' }).waitFor();
      expect(page.url()).toMatch(new RegExp(`^${server.origin}/settings/tokens/[0-9a-f-]{36}\\?regenerate=1$`));
      await page.keyboard.press('Escape');
      await page.getByRole('dialog').waitFor({ state: 'detached' });
      await openTokens(page);
      expect(await rowOf(page, 'three days').locator('.badge').textContent()).toBe('Expiring soon');
      await screenshot(page, 'tokens-with-banner');

      // A token that expires while the page is open: it turns Expired and has no way back.
      await api.createToken('two seconds', { expiresAt: new Date(Date.now() + 2_000).toISOString() });
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      await page.reload();
      const expired = rowOf(page, 'two seconds');
      await expect.poll(() => expired.locator('.badge').textContent()).toBe('Expired');
      expect(await expired.getByRole('button', { name: /renew|extend/i }).count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('renders token names carrying HTML/JS payloads as text (no dialog fires)', async () => {
    const payloads = [
      '<img src=x onerror=alert(1)>',
      '"><svg onload=alert(1)>',
      'javascript:alert(1)',
      '<script>alert(1)</script>',
      "'><iframe src=javascript:alert(1)>",
      '{{constructor.constructor("alert(1)")()}}',
    ];
    const { context, page, api } = await signedIn();
    const dialogs = recordDialogs(page);
    try {
      for (const [index, name] of payloads.entries()) {
        await api.createToken(name, index === 0 ? { expiresAt: new Date(Date.now() + 2 * DAY_MS).toISOString() } : {});
      }
      await openTokens(page);
      await page.locator('th.token-name').nth(payloads.length - 1).waitFor();
      const cells = await tokenNameCells(page);
      expect(cells.map((cell) => cell.text).sort()).toEqual([...payloads].sort());
      expect(cells.every((cell) => cell.onlyText)).toBe(true);
      const banner = page.getByRole('region', { name: 'Expiring tokens' });
      expect(await banner.locator('strong').textContent()).toBe(payloads[0]);
      expect(await page.locator('img, svg, iframe, main script').count()).toBe(0);

      await rowOf(page, 'javascript:alert(1)').getByRole('button', { name: /^Delete/ }).click();
      const confirm = page.getByRole('alertdialog');
      expect(await confirm.locator('strong').textContent()).toBe('javascript:alert(1)');
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await page.waitForTimeout(200);
      await screenshot(page, 'tokens-xss-payloads');
      expect(dialogs).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('Namespaces: New Namespace with inline DNS-1123 validation, delete with confirmation', async () => {
    const { context, page } = await signedIn();
    try {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Namespaces' }).click();
      await page.getByRole('heading', { name: 'Namespaces' }).waitFor();
      await expect.poll(() => page.locator('main').textContent()).toContain('You have no namespaces yet.');

      await page.getByRole('button', { name: 'New Namespace' }).click();
      const dialog = page.getByRole('dialog', { name: 'New namespace' });
      const field = dialog.getByLabel('Name');
      await field.fill('Team_A');
      await expect.poll(() => field.getAttribute('aria-invalid')).toBe('true');
      expect(await dialog.locator('.field-error').textContent()).toBe('Use lowercase letters only.');
      await field.fill('team-a-');
      expect(await dialog.locator('.field-error').textContent()).toBe('Start and end with a letter or digit.');
      await screenshot(page, 'new-namespace-validation');
      await field.fill('team-a');
      expect(await field.getAttribute('aria-invalid')).toBeNull();
      await field.press('Enter');
      await dialog.waitFor({ state: 'detached' });
      const row = page.locator('tbody tr', { hasText: 'team-a' });
      await row.waitFor();
      await screenshot(page, 'namespaces-list');

      await row.getByRole('button', { name: /^Delete/ }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Delete namespace?' });
      await confirm.waitFor();
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
      await confirm.getByRole('button', { name: 'Delete Namespace' }).click();
      await row.waitFor({ state: 'detached' });
      await expect.poll(() => page.locator('main').textContent()).toContain('You have no namespaces yet.');
    } finally {
      await context.close();
    }
  });

  it('is readable at 375 px wide: no horizontal scrolling', async () => {
    const { context, page, api } = await signedIn({ viewport: { width: 375, height: 812 } });
    try {
      await api.createToken('deploy bot for the staging cluster', { expiresAt: new Date(Date.now() + 5 * DAY_MS).toISOString() });
      await api.createToken('laptop');
      for (const [path, name] of [
        ['/', 'mobile-overview'],
        ['/settings/tokens', 'mobile-tokens'],
        ['/namespaces', 'mobile-namespaces'],
      ] as const) {
        await page.goto(path);
        await page.locator('main h1').waitFor();
        if (path === '/settings/tokens') await rowOf(page, 'laptop').waitFor();
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
        await screenshot(page, name);
      }
      await page.goto('/settings/tokens?new=1');
      const dialog = page.getByRole('dialog', { name: 'New personal access token' });
      await dialog.waitFor();
      const box = (await dialog.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(375);
      await screenshot(page, 'mobile-new-token-dialog');
    } finally {
      await context.close();
    }
  });

  it('serves the console with a strict CSP and refuses to render inside a frame', async () => {
    const response = await fetch(`${server.origin}/settings/tokens`);
    const csp = response.headers.get('content-security-policy')!;
    for (const directive of ["frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "default-src 'self'"]) {
      expect(csp).toContain(directive);
    }
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).not.toContain('unsafe-inline');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const page = await response.text();
    const scripts = [...page.matchAll(/<script\b[^>]*>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [tag, body] of scripts) {
      expect(body!.trim()).toBe(''); // no inline script: every script is a file
      expect(tag).toContain(`nonce="${nonce}"`);
    }
    expect((await fetch(`${server.origin}/settings/tokens`)).headers.get('content-security-policy')).not.toContain(nonce);
    // The console never shadows the API, sign-in or health routes.
    expect((await fetch(`${server.origin}/api/v1/nope`)).headers.get('content-type')).toMatch(/problem\+json/);
    expect((await fetch(`${server.origin}/healthz`)).headers.get('content-type')).toMatch(/json/);

    await framedByAnotherOrigin(browser, server.origin, `${server.origin}/`, async ({ page: framing, frame, text: framedText }) => {
      expect(frame.url()).not.toBe(`${server.origin}/`);
      expect(framedText).not.toContain('Latchkey');
      expect(framedText).not.toContain('Sign in');
      await screenshot(framing, 'framed-console-blocked');
    });
  });
});
