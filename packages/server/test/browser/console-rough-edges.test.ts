/**
 * What a new user hit in the console, in real Chromium against the real binary: a revoked token
 * still counting down, names broken mid-word, the relative wording of a near expiry, the
 * missing favicon, and zod's `new Function` probe tripping Trusted Types on every page.
 */
import { DAY_MS } from '@latchkey/contract';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInBrowser, openContext } from './support/chromium.js';
import { consoleServerAndBrowser, expiryBannerText, signInInBrowser, tokenRow } from './support/console-session.js';
import type { RunningServer } from './support/server.js';

let server: RunningServer;
let browser: Browser;

/** Collects, from the next navigation on, every CSP / Trusted Types violation the page reports. */
async function recordViolations(context: BrowserContext, page: Page): Promise<() => Promise<string[]>> {
  const messages: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Trusted Type|TrustedScript|unsafe-eval/i.test(message.text())) messages.push(message.text());
  });
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { violations: string[] }).violations = seen;
    document.addEventListener('securitypolicyviolation', (event) =>
      seen.push(`${event.effectiveDirective} ${event.blockedURI} ${event.sample}`),
    );
  });
  return async () => [
    ...messages,
    ...(await page.evaluate(() => (window as unknown as { violations?: string[] }).violations ?? [])),
  ];
}

/**
 * For each word of the cell's name (up to and with a hyphen): on how many lines it is drawn (1
 * unless it was broken mid-word).
 */
function nameLayout(page: Page, name: string) {
  return tokenRow(page, name)
    .getByRole('rowheader')
    .evaluate((cell) => {
      const text = cell.firstChild as Text;
      const linesOf = (start: number, end: number) => {
        const range = document.createRange();
        range.setStart(text, start);
        range.setEnd(text, end);
        return new Set([...range.getClientRects()].filter((rect) => rect.width > 0).map((rect) => Math.round(rect.top))).size;
      };
      // A line may end after a space or a hyphen ("read-|only"), never inside a run of letters.
      const words = [...text.data.matchAll(/[^\s-]+-*/g)].map((match) => ({
        word: match[0],
        lines: linesOf(match.index, match.index + match[0].length),
      }));
      return { words };
    });
}

describeInBrowser('console rough edges in Chromium', () => {
  consoleServerAndBrowser((started) => ({ server, browser } = started));

  it('a revoked token shows its expiry date with no countdown', async () => {
    const { context, page, api } = await signInInBrowser(browser, server);
    try {
      const { token } = await api.createToken('revoked next week', { expiresInDays: 7 });
      await api.revokeToken(token.id);
      await api.createToken('still active', { expiresInDays: 7 });
      await page.goto('/settings/tokens');
      await page.getByLabel('Show revoked').check();
      const revoked = tokenRow(page, 'revoked next week');
      await expect.poll(() => revoked.locator('.badge').textContent()).toBe('Revoked');
      const expires = revoked.locator('td[data-label="Expires"]');
      expect(await expires.locator('time').count()).toBe(1);
      expect(await expires.textContent()).not.toMatch(/\bin \d|ago/);
      // An active token keeps its countdown.
      expect(await tokenRow(page, 'still active').locator('td[data-label="Expires"]').textContent()).toMatch(/\(in 7 days\)/);
    } finally {
      await context.close();
    }
  });

  it('wraps long names between words, never inside one, and never makes the page wider than the screen', async () => {
    const names = [
      'deploy previews for the custom-date team',
      'custom-date',
      'nightly database backups to the offsite bucket (read-only)',
      'x'.repeat(64),
    ];
    // 800 px: the list beside the settings menu, where the names were cut ("cust|om-date").
    for (const viewport of [
      { width: 1280, height: 800 },
      { width: 1081, height: 800 },
      { width: 800, height: 800 },
      { width: 390, height: 844 },
    ]) {
      const { context, page, api } = await signInInBrowser(browser, server, { viewport });
      try {
        for (const name of names) await api.createToken(name);
        await page.goto('/settings/tokens');
        await tokenRow(page, names[0]!).waitFor();
        for (const name of names.slice(0, 3)) {
          const layout = await nameLayout(page, name);
          for (const { word, lines } of layout.words) expect(lines, `"${word}" of "${name}" at ${viewport.width}px`).toBe(1);
        }
        // An unbreakable 64-character name wraps inside the page rather than pushing it wider.
        expect(await page.evaluate(() => document.documentElement.scrollWidth), `at ${viewport.width}px`).toBeLessThanOrEqual(viewport.width);
      } finally {
        await context.close();
      }
    }
  });

  it('says "in less than an hour" for a token expiring in minutes, in the list and in the banner', async () => {
    const { context, page, api } = await signInInBrowser(browser, server);
    try {
      await api.createToken('almost gone', { expiresAt: new Date(Date.now() + 10 * 60_000).toISOString() });
      await api.createToken('two days', { expiresAt: new Date(Date.now() + 2 * DAY_MS - 60_000).toISOString() });
      await page.goto('/settings/tokens');
      await expect.poll(() => tokenRow(page, 'almost gone').textContent()).toContain('(in less than an hour)');
      expect(await tokenRow(page, 'two days').textContent()).toContain('(in 2 days)');
      expect(await expiryBannerText(page, '/')).toContain('almost gone expires in less than an hour');
    } finally {
      await context.close();
    }
  });

  it('serves /favicon.ico and links the icon from the console and the sign-in pages, so no page asks for a missing one', async () => {
    const favicon = await fetch(`${server.origin}/favicon.ico`);
    expect(favicon.status).toBe(200);
    expect(favicon.headers.get('content-type')).toMatch(/^image\//);
    expect(favicon.headers.get('x-content-type-options')).toBe('nosniff');
    expect(favicon.headers.get('cache-control')).toMatch(/max-age=\d+/);
    expect((await favicon.text()).startsWith('<svg')).toBe(true);

    const context = await openContext(browser, server.origin);
    try {
      const page = await context.newPage();
      const failed: string[] = [];
      // Every file the pages load (the API's 401 for a signed-out visitor is expected).
      page.on('response', (response) => {
        if (response.status() >= 400 && !new URL(response.url()).pathname.startsWith('/api/')) {
          failed.push(`${response.status()} ${response.url()}`);
        }
      });
      for (const url of [server.signInLink(`favicon-${Date.now()}@example.test`), '/sign-in']) {
        await page.goto(url);
        const icon = await page.locator('link[rel="icon"]').getAttribute('href');
        expect(icon, url).toBeTruthy();
        const image = await context.request.get(new URL(icon!, page.url()).href);
        expect(image.status(), icon!).toBe(200);
        expect(image.headers()['content-type']).toMatch(/^image\//);
      }
      expect(failed).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('reports no Content-Security-Policy or Trusted Types violation on any console page', async () => {
    const { context, page, api } = await signInInBrowser(browser, server);
    try {
      await api.createToken('parsed everywhere');
      const violations = await recordViolations(context, page);
      for (const path of ['/', '/settings/tokens', '/settings/tokens?new=1', '/namespaces']) {
        await page.goto(path);
        await page.getByRole('heading', { level: 1 }).waitFor();
        await page.waitForLoadState('networkidle');
        expect(await violations(), path).toEqual([]);
      }
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((url) => url.pathname === '/sign-in');
      await page.waitForLoadState('networkidle');
      expect(await violations(), '/sign-in').toEqual([]);
    } finally {
      await context.close();
    }
  });
});
