/**
 * Regenerate in real headless Chromium against the built server (docs/security.md, item 51):
 * from the expiry banner with a one-hour grace period (the new secret shown once, the old one
 * still working, its uses shown on its page), and from a token's page with none (the old
 * secret refused as the dialog shows the new one).
 */
import { DAY_MS, TOKEN_SHAPE } from '@latchkey/contract';
import type { Browser } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInBrowser } from './support/chromium.js';
import { consoleServerAndBrowser, expiryBannerText, screenshot, signInInBrowser } from './support/console-session.js';
import type { RunningServer } from './support/server.js';

let server: RunningServer;
let browser: Browser;

const bearerMe = (token: string) => fetch(`${server.origin}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });

describeInBrowser('Regenerate in Chromium', () => {
  consoleServerAndBrowser((started) => ({ server, browser } = started));

  it('from the expiry banner with a 1 hour grace period: the new secret once, the old one working and its uses shown', async () => {
    const { context, page, api } = await signInInBrowser(browser, server);
    try {
      const old = await api.createToken('deploy', { note: 'CI deploy job', expiresAt: new Date(Date.now() + 3 * DAY_MS).toISOString() });
      expect(await expiryBannerText(page, '/')).toContain('deploy');
      await page.getByRole('link', { name: 'Regenerate deploy' }).click();
      const dialog = page.getByRole('dialog', { name: 'Regenerate personal access token?' });
      await dialog.getByLabel('1 hour').check();
      await screenshot(page, 'regenerate-dialog');
      await dialog.getByRole('button', { name: 'Regenerate' }).click();

      const reveal = page.getByRole('dialog', { name: 'Your regenerated personal access token' });
      const secret = await reveal.getByLabel('Your new token').inputValue();
      expect(secret).toMatch(TOKEN_SHAPE);
      expect(await reveal.textContent()).toContain('The old token keeps working until');
      await reveal.getByRole('button', { name: 'Copy' }).click();
      await reveal.getByRole('button', { name: 'Copied' }).waitFor();
      await reveal.getByRole('button', { name: 'Done' }).click();

      // The new token's page: same name and note, naming the token it replaces.
      await page.waitForURL((url) => /^\/settings\/tokens\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(old.token.id));
      await page.getByRole('heading', { name: 'deploy' }).waitFor();
      expect(await page.locator('main').textContent()).toContain('CI deploy job');
      expect((await bearerMe(secret)).status).toBe(200);
      for (let use = 0; use < 3; use++) expect((await bearerMe(old.secret)).status).toBe(200);

      await page.getByRole('link', { name: 'the token it was regenerated from' }).click();
      await page.waitForURL(`**/settings/tokens/${old.token.id}`);
      const status = page.locator('.rotation-status');
      // The uses are written just after they are answered: reload until all three show.
      await expect
        .poll(async () => {
          await page.reload();
          return status.textContent();
        })
        .toMatch(/used 3 times since rotation, last from 127\.0\.0\.1/);
      expect(await status.textContent()).toMatch(/^Rotating — old secret valid until .+/);
      // "1 hour" was what the server got: the old secret's grace ends an hour after the rotation.
      const replaced = await api.getToken(old.token.id);
      expect(replaced).toMatchObject({ state: 'rotating', usesSinceRotation: 3, lastUseSinceRotation: { ip: '127.0.0.1' } });
      expect(Date.parse(replaced.graceUntil!) - Date.parse(replaced.rotatedAt!)).toBe(3_600_000);
      expect(await page.locator('.badge').first().textContent()).toBe('Rotating');
      expect(await page.getByRole('button', { name: 'Regenerate' }).count()).toBe(0);
      await screenshot(page, 'token-rotating');
      // Neither token is expiring now: the banner is gone (checked once the list has loaded).
      await page.goto('/settings/tokens');
      await page.locator('.badge', { hasText: 'Rotating' }).waitFor();
      expect(await page.getByRole('region', { name: 'Expiring tokens' }).count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('from the token page with no grace: the old secret is refused once the new one shows; closing uncopied asks first', async () => {
    const { context, page, api } = await signInInBrowser(browser, server);
    try {
      const old = await api.createToken('nightly');
      await page.goto(`/settings/tokens/${old.token.id}`);
      await page.getByRole('heading', { name: 'nightly' }).waitFor();
      await page.getByRole('button', { name: 'Regenerate' }).click();
      const dialog = page.getByRole('dialog', { name: 'Regenerate personal access token?' });
      expect(await dialog.getByLabel('None — the old token stops working now').isChecked()).toBe(true);
      await dialog.getByRole('button', { name: 'Regenerate' }).click();

      const reveal = page.getByRole('dialog', { name: 'Your regenerated personal access token' });
      const secret = await reveal.getByLabel('Your new token').inputValue();
      expect(await reveal.textContent()).toContain('The old token no longer works.');
      expect((await bearerMe(old.secret)).status).toBe(401);
      expect((await bearerMe(secret)).status).toBe(200);

      await page.keyboard.press('Escape');
      await reveal.getByRole('button', { name: 'Close without copying' }).click();
      await page.waitForURL((url) => url.pathname !== `/settings/tokens/${old.token.id}` && url.pathname.startsWith('/settings/tokens/'));
      await page.getByRole('link', { name: 'the token it was regenerated from' }).click();
      await expect.poll(() => page.locator('.rotation-status').textContent()).toContain('Regenerated: this token’s secret no longer works.');
      expect(await page.locator('.badge').first().textContent()).toBe('Expired');
    } finally {
      await context.close();
    }
  });
});
