/**
 * The Notifications page in real headless Chromium against the real binary (with SMTP_URL set, so
 * the server says it sends email): the switches show the defaults, each change is saved at once,
 * and what was saved is what the page shows after a reload and what the API answers.
 */
import type { Browser } from 'playwright-core';
import { SESSION_COOKIE } from '@latchkey/contract';
import { expect, it } from 'vitest';
import { describeInBrowser } from './support/chromium.js';
import { consoleServerAndBrowser, screenshot, signInInBrowser } from './support/console-session.js';
import type { RunningServer } from './support/server.js';

let server: RunningServer;
let browser: Browser;

// Nothing in this test sends an email: the server only needs to know it could.
const EMAIL_SETTINGS = { SMTP_URL: 'smtp://latchkey:unused@127.0.0.1:2525', MAIL_FROM: 'latchkey@example.test' };

describeInBrowser('Notifications page (Chromium)', () => {
  consoleServerAndBrowser((started) => ({ server, browser } = started), EMAIL_SETTINGS);

  it('shows where emails go and keeps each switch as it was set, across a reload', async () => {
    const { context, page, sessionId } = await signInInBrowser(browser, server);
    try {
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
      await page.getByRole('navigation', { name: 'Settings' }).getByRole('link', { name: 'Notifications' }).click();
      await page.waitForURL('**/settings/notifications');
      await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
      const email = await page.getByTestId('email-delivery').textContent();
      expect(email).toMatch(/^Emails go to user\d+-\d+@example\.test\.$/);

      const box = (name: string) => page.getByRole('checkbox', { name });
      const expiry = box('A token is about to expire');
      const newAddress = box('A token was used from a new address');
      const revoked = box('A token was revoked for you');
      const refused = box('A token was refused outside its IP allowlist');
      expect([await expiry.isChecked(), await revoked.isChecked(), await refused.isChecked(), await newAddress.isChecked()]).toEqual([
        true,
        true,
        true,
        false,
      ]);

      const status = page.getByRole('status');
      await newAddress.check();
      await expect.poll(() => status.textContent()).toBe('Saved.');
      await expect.poll(() => expiry.isEnabled()).toBe(true);
      await expiry.uncheck();
      await expect.poll(() => status.textContent()).toBe('Saved.');
      await expect.poll(() => newAddress.isEnabled()).toBe(true);
      await screenshot(page, 'notifications-page');

      await page.reload();
      await page.getByRole('heading', { name: 'Notifications', level: 1 }).waitFor();
      await newAddress.waitFor();
      expect([await expiry.isChecked(), await revoked.isChecked(), await refused.isChecked(), await newAddress.isChecked()]).toEqual([
        false,
        true,
        true,
        true,
      ]);
      const saved = await fetch(`${server.origin}/api/v1/me/notifications`, { headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } });
      expect(await saved.json()).toMatchObject({
        preferences: { expiry: false, revoked: true, ipRefused: true, newAddress: true },
        emailConfigured: true,
      });
    } finally {
      await context.close();
    }
  });
});
