/**
 * The console's Admin › Service accounts, Policy and Throttled addresses in real headless
 * Chromium against the built server: the first administrator creates a service account, mints
 * it a token (shown once, copied) that then works as that account (GET /api/v1/me); the service
 * account cannot sign in (a sign-in link made for it is refused, without a session); the administrator sets a policy maximum of 30 days and a
 * member's New Token dialog then offers nothing longer; a member never sees these pages.
 */
import { SESSION_COOKIE, type AccountView } from '@latchkey/contract';
import { generateToken } from '@latchkey/contract/token';
import type { Browser, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { bearer as bearerCall, consoleWithAdministrator, openAdmin, type Administrator } from './support/admin-session.js';
import { signInLinkForAccount } from './support/sign-in-link.js';
import { describeInBrowser, openContext } from './support/chromium.js';
import { screenshot, signInInBrowser } from './support/console-session.js';
import type { RunningServer } from './support/server.js';

let server: RunningServer;
let browser: Browser;
let admin: Administrator;

const bearer = (secret: string, path: string) => bearerCall(server.origin, secret, path);

describeInBrowser('Admin › Service accounts, Policy and Throttled addresses (Chromium)', () => {
  consoleWithAdministrator((started) => ({ server, browser, admin } = started));

  it('a member never sees these pages: no Admin nav, Page not found at each path, 403 from their routes', async () => {
    const { context, page, sessionId } = await signInInBrowser(browser, server);
    try {
      const main = page.getByRole('navigation', { name: 'Main' });
      await main.getByRole('link', { name: 'Settings' }).waitFor();
      expect(await main.getByRole('link', { name: 'Admin' }).count()).toBe(0);
      for (const path of ['/admin/service-accounts', '/admin/policy', '/admin/throttles']) {
        await page.goto(path);
        await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
      }
      for (const path of ['/api/v1/admin/service-accounts', '/api/v1/admin/policy', '/api/v1/admin/throttles']) {
        const response = await fetch(`${server.origin}${path}`, { headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } });
        expect(response.status, path).toBe(403);
      }
    } finally {
      await context.close();
    }
  });

  it('the administrator creates a service account and mints it a token, shown once, that works as that account', async () => {
    const { page } = admin;
    await openAdmin(page, 'Service accounts');
    await page.getByRole('button', { name: 'New service account' }).click();
    const create = page.getByRole('dialog', { name: 'New service account' });
    await create.getByLabel('Name').fill('ci-deploy');
    await create.getByLabel('Description').fill('Deploys from CI');
    await create.getByRole('button', { name: 'Create Service Account' }).click();
    await create.waitFor({ state: 'detached' });
    const row = page.locator('tbody tr', { hasText: 'ci-deploy' });
    await row.waitFor();
    expect(await row.textContent()).toContain(admin.account.email ?? admin.account.name ?? admin.account.id);
    const serviceAccountId = (await row.getAttribute('data-service-account-id'))!;

    await row.getByRole('button', { name: 'Mint token for ci-deploy' }).click();
    const dialog = page.getByRole('dialog', { name: 'New token for ci-deploy' });
    await dialog.getByLabel('Expiration', { exact: true }).waitFor();
    await dialog.getByLabel('Name').fill('deploy');
    await dialog.getByRole('button', { name: 'Generate' }).click();
    const secretField = dialog.getByLabel('Your new token');
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^lk_pat_1/);
    await screenshot(page, 'admin-service-account-token', { mask: [secretField] });
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByText('Copied to the clipboard.').waitFor();
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'detached' });
    // Shown once: nothing on the page holds it any more.
    expect(await page.content()).not.toContain(secret);
    await expect.poll(() => row.locator('td[data-label="Active tokens"]').textContent()).toBe('1');

    const me = await bearer(secret, '/api/v1/me');
    expect(me.status).toBe(200);
    expect(((await me.json()) as { account: AccountView }).account.id).toBe(serviceAccountId);

    // The service account never signs in: a sign-in link made for it (no route or host command
    // makes one) is refused without a session, and its token opens none either.
    const context = await openContext(browser, server.origin);
    try {
      const page2 = await context.newPage();
      await page2.goto(await signInLinkForAccount(server, serviceAccountId));
      const signIn = page2.getByRole('button', { name: 'Sign in' });
      if (await signIn.count()) await signIn.click();
      await expect.poll(async () => (await page2.textContent('body')) ?? '').toMatch(/Service accounts cannot sign in/);
      expect((await context.cookies()).some((cookie) => cookie.name === SESSION_COOKIE)).toBe(false);
      await screenshot(page2, 'admin-service-account-sign-in');

      await context.setExtraHTTPHeaders({ authorization: `Bearer ${secret}` });
      await page2.goto('/auth/sign-in');
      expect((await context.cookies()).some((cookie) => cookie.name === SESSION_COOKIE)).toBe(false);
      const sessionOnly = await bearer(secret, '/api/v1/notices');
      expect([401, 403]).toContain(sessionOnly.status);
    } finally {
      await context.close();
    }

    // Deleting it names it and its token; the token then stops working.
    await row.getByRole('button', { name: 'Delete ci-deploy' }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Delete service account?' });
    expect(await confirm.textContent()).toContain('ci-deploy and its tokens are deleted. Its 1 active token stops working for good.');
    await confirm.getByRole('button', { name: 'Delete Service Account' }).click();
    await confirm.waitFor({ state: 'detached' });
    await row.waitFor({ state: 'detached' });
    expect((await bearer(secret, '/api/v1/me')).status).toBe(401);
  });

  it('the administrator sets a policy maximum of 30 days; a member\'s New Token dialog then offers at most 30 days', async () => {
    const { page } = admin;
    await openAdmin(page, 'Policy');
    await page.getByLabel('Maximum lifetime of personal tokens (days)').fill('30');
    await page.getByRole('button', { name: 'Save Policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Policy saved.' }).waitFor();
    await expect.poll(() => page.getByTestId('saved-max-lifetime').textContent()).toBe('at most 30 days');
    await screenshot(page, 'admin-policy');

    const member = await signInInBrowser(browser, server);
    try {
      await member.page.goto('/settings/tokens');
      await member.page.getByRole('button', { name: 'New Token', exact: true }).click();
      const dialog = member.page.getByRole('dialog', { name: 'New personal access token' });
      const select = dialog.getByLabel('Expiration', { exact: true });
      await select.waitFor();
      const choices = (await select.locator('option').evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value))).filter(
        (value) => value !== 'date',
      );
      expect(choices.length).toBeGreaterThan(0);
      expect(Math.max(...choices.map(Number))).toBe(30);
    } finally {
      await member.context.close();
    }
  });

  // Last: it throttles this machine's address for bearer tokens until lifted.
  it('an address presenting many refused tokens is listed under Throttled addresses and lifted after a confirmation', async () => {
    const { page } = admin;
    await openAdmin(page, 'Throttled addresses');
    await page.getByText('No address is throttled.').waitFor();

    for (let attempt = 0; attempt < 35; attempt++) await bearer(generateToken().token, '/api/v1/me');
    await page.getByRole('button', { name: 'Refresh' }).click();
    const row = page.locator('tbody tr').first();
    await row.waitFor();
    const address = (await row.getAttribute('data-address'))!;
    expect(address).toMatch(/127\.0\.0\.1/);
    await screenshot(page, 'admin-throttles');
    await row.getByRole('button', { name: `Lift ${address}` }).click();
    const confirm = page.getByRole('alertdialog', { name: 'Lift throttle?' });
    expect(await confirm.textContent()).toContain(`${address} is no longer slowed down`);
    await confirm.getByRole('button', { name: 'Lift Throttle' }).click();
    await confirm.waitFor({ state: 'detached' });
    await page.getByText('No address is throttled.').waitFor();
  });
});
