/**
 * The New Token dialog follows the server's TOKEN_MAX_LIFETIME_DAYS (GET /api/v1/token-settings)
 * in real Chromium against the real binary: a lowered maximum is the default and the only
 * longest choice, a raised one can be picked as a preset or as a date, and what the dialog
 * offers is what the server accepts.
 */
import { DAY_MS, type TokenView } from '@latchkey/contract';
import type { Browser, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInBrowser } from './support/chromium.js';
import { consoleServerAndBrowser, signInInBrowser, tokenRow } from './support/console-session.js';
import type { RunningServer } from './support/server.js';

/** Opens New Token on the tokens page; the dialog, once its expiration choices are shown. */
async function openNewToken(page: Page) {
  await page.goto('/settings/tokens?new=1');
  const dialog = page.getByRole('dialog', { name: 'New personal access token' });
  await dialog.getByLabel('Expiration', { exact: true }).waitFor();
  return dialog;
}

/** The options of the Expiration select: value and label. */
function expirationOptions(page: Page) {
  return page
    .getByLabel('Expiration', { exact: true })
    .evaluate((select: HTMLSelectElement) => [...select.options].map((option) => [option.value, option.text.trim()]));
}

/** `YYYY-MM-DD` for `days` from now in the browser's time zone, as the date input speaks it. */
function dateInBrowser(page: Page, days: number): Promise<string> {
  return page.evaluate(
    ({ days, dayMs }) => {
      const date = new Date(Date.now() + days * dayMs);
      const pad = (value: number) => String(value).padStart(2, '0');
      return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
    },
    { days, dayMs: DAY_MS },
  );
}

/** Generates the token named `name` in the open dialog and closes the secret; the listed token. */
async function generate(page: Page, name: string): Promise<TokenView> {
  const dialog = page.getByRole('dialog', { name: 'New personal access token' });
  await dialog.getByLabel('Name').fill(name);
  const [response] = await Promise.all([
    page.waitForResponse((candidate) => candidate.request().method() === 'POST' && candidate.url().endsWith('/api/v1/tokens')),
    dialog.getByRole('button', { name: 'Generate' }).click(),
  ]);
  expect(response.status(), await response.text()).toBe(201);
  const reveal = page.getByRole('dialog', { name: 'Your new personal access token' });
  await reveal.getByRole('button', { name: 'Done' }).click();
  await reveal.getByRole('button', { name: 'Close without copying' }).click();
  await tokenRow(page, name).waitFor();
  return ((await response.json()) as { token: TokenView }).token;
}

const lifetimeDaysOf = (token: TokenView) => (Date.parse(token.expiresAt) - Date.parse(token.createdAt)) / DAY_MS;

describeInBrowser('New Token under TOKEN_MAX_LIFETIME_DAYS=30', () => {
  let server: RunningServer;
  let browser: Browser;
  consoleServerAndBrowser((started) => ({ server, browser } = started), { TOKEN_MAX_LIFETIME_DAYS: '30' });

  it('offers 7 and 30 days, defaults to 30, and Generate makes a 30-day token', async () => {
    const { context, page } = await signInInBrowser(browser, server);
    try {
      const dialog = await openNewToken(page);
      expect(await expirationOptions(page)).toEqual([
        ['7', '7 days'],
        ['30', '30 days (default)'],
        ['date', 'Custom date…'],
      ]);
      expect(await page.getByLabel('Expiration', { exact: true }).inputValue()).toBe('30');
      expect(await dialog.textContent()).not.toContain('180');
      const token = await generate(page, 'thirty by default');
      expect(lifetimeDaysOf(token)).toBe(30);
      // The page's explanation says the same.
      expect(await page.locator('.lead').textContent()).toContain('after 30 days unless you choose otherwise');
    } finally {
      await context.close();
    }
  });

  it('the custom date picker stops at 30 days from today', async () => {
    const { context, page } = await signInInBrowser(browser, server);
    try {
      await openNewToken(page);
      await page.getByLabel('Expiration', { exact: true }).selectOption('date');
      const date = page.getByLabel('Expiration date');
      expect(await date.getAttribute('max')).toBe(await dateInBrowser(page, 30));
      expect(await date.inputValue()).toBe(await dateInBrowser(page, 30));
      await date.fill(await dateInBrowser(page, 30));
      const token = await generate(page, 'last allowed day');
      expect(lifetimeDaysOf(token)).toBeLessThanOrEqual(30);
    } finally {
      await context.close();
    }
  });
});

describeInBrowser('New Token under TOKEN_MAX_LIFETIME_DAYS=400', () => {
  let server: RunningServer;
  let browser: Browser;
  consoleServerAndBrowser((started) => ({ server, browser } = started), { TOKEN_MAX_LIFETIME_DAYS: '400' });

  it('keeps 180 days as the default, offers 400 days, and lets the date picker reach 400 days from today', async () => {
    const { context, page } = await signInInBrowser(browser, server);
    try {
      await openNewToken(page);
      expect((await expirationOptions(page)).map(([value]) => value)).toEqual(['7', '30', '60', '90', '180', '400', 'date']);
      expect(await page.getByLabel('Expiration', { exact: true }).inputValue()).toBe('180');

      await page.getByLabel('Expiration', { exact: true }).selectOption('400');
      expect(lifetimeDaysOf(await generate(page, 'four hundred days'))).toBe(400);

      await openNewToken(page);
      await page.getByLabel('Expiration', { exact: true }).selectOption('date');
      const date = page.getByLabel('Expiration date');
      const farthest = await dateInBrowser(page, 400);
      expect(await date.getAttribute('max')).toBe(farthest);
      await date.fill(farthest);
      const token = await generate(page, 'dated past 180 days');
      expect(lifetimeDaysOf(token)).toBeGreaterThan(399);
    } finally {
      await context.close();
    }
  });
});
