/**
 * The console's Admin section in real headless Chromium against the real binary: the first
 * administrator disables an account from Admin › Accounts (its token is then refused), revokes
 * another account's token from Admin › Tokens (its owner then sees the notice), and finds the
 * disable in Admin › Audit log with themself as actor, exported as NDJSON; a member never sees
 * the Admin nav and is refused the administration API (403).
 */
import { readFile } from 'node:fs/promises';
import { SESSION_COOKIE, type AccountView } from '@latchkey/contract';
import type { Browser, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { accountOf, bearer as bearerCall, consoleWithAdministrator, openAdmin, type Administrator } from './support/admin-session.js';
import { describeInBrowser } from './support/chromium.js';
import { screenshot, signInInBrowser } from './support/console-session.js';
import type { RunningServer } from './support/server.js';

let server: RunningServer;
let browser: Browser;
let admin: Administrator;

const label = (account: AccountView) => account.email ?? account.name ?? account.id;

const bearer = (secret: string, path: string) => bearerCall(server.origin, secret, path);

describeInBrowser('the Admin section of the console (Chromium)', () => {
  consoleWithAdministrator((started) => ({ server, browser, admin } = started));

  it('a member never sees the Admin nav, finds no page at /admin/accounts, and gets 403 from the administration API', async () => {
    const { context, page, sessionId, api } = await signInInBrowser(browser, server);
    try {
      const main = page.getByRole('navigation', { name: 'Main' });
      await main.getByRole('link', { name: 'Settings' }).waitFor();
      expect(await main.getByRole('link', { name: 'Admin' }).count()).toBe(0);
      await page.goto('/admin/accounts');
      await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();

      const bySession = await fetch(`${server.origin}/api/v1/admin/accounts`, { headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } });
      expect(bySession.status).toBe(403);
      expect(((await bySession.json()) as { code: string }).code).toBe('FORBIDDEN');
      const { secret } = await api.createToken('member-cli');
      expect((await bearer(secret, '/api/v1/admin/accounts')).status).toBe(403);
    } finally {
      await context.close();
    }
  });

  it('the administrator disables an account from Accounts (its token is refused: 401) and finds it in the Audit log with themself as actor, and in the export', async () => {
    const member = await signInInBrowser(browser, server);
    try {
      const account = await accountOf(server.origin, member.sessionId);
      const { secret } = await member.api.createToken('laptop');
      expect((await bearer(secret, '/api/v1/me')).status).toBe(200);

      const { page } = admin;
      await openAdmin(page, 'Accounts');
      await page.getByLabel('Search').fill(account.email!);
      await page.getByRole('button', { name: 'Apply filters' }).click();
      const row = page.locator(`tbody tr[data-account-id="${account.id}"]`);
      await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
      await row.getByRole('button', { name: `Disable ${account.email}` }).click();
      const dialog = page.getByRole('alertdialog', { name: 'Disable account?' });
      expect(await dialog.textContent()).toContain(account.email);
      expect(await dialog.textContent()).toContain('Its 1 active token stops working at once. Scripts using it fail.');
      await screenshot(page, 'admin-disable-account');
      await dialog.getByRole('button', { name: 'Disable Account' }).click();
      await dialog.waitFor({ state: 'detached' });
      await row.getByText('Disabled', { exact: true }).waitFor();
      await row.getByRole('button', { name: `Enable ${account.email}` }).waitFor();

      expect((await bearer(secret, '/api/v1/me')).status).toBe(401);

      await openAdmin(page, 'Audit log');
      await page.getByLabel('Action').fill('account.disabled');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      const event = page.locator('tbody tr[data-action="account.disabled"]');
      await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
      expect(await event.locator('td[data-label="Actor"]').textContent()).toBe(label(admin.account));
      expect(await event.locator('td[data-label="Target"]').textContent()).toBe(account.id);
      await screenshot(page, 'admin-audit');

      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
      expect(download.suggestedFilename()).toMatch(/^latchkey-audit-.*\.ndjson$/);
      const lines = (await readFile((await download.path())!, 'utf8')).trimEnd().split('\n');
      const exported = lines.map((line) => JSON.parse(line) as { action: string; targetId: string; actor: { accountId: string } });
      expect(exported).toEqual([expect.objectContaining({ action: 'account.disabled', targetId: account.id, actor: expect.objectContaining({ accountId: admin.account.id }) })]);
    } finally {
      await member.context.close();
    }
  });

  it('the administrator revokes another account\'s token from Tokens; its owner then sees who revoked it', async () => {
    const owner = await signInInBrowser(browser, server);
    try {
      const account = await accountOf(server.origin, owner.sessionId);
      const { secret, token } = await owner.api.createToken('laptop');

      const { page } = admin;
      await openAdmin(page, 'Tokens');
      await page.getByLabel('Owner').fill(account.email!);
      await page.getByRole('button', { name: 'Apply filters' }).click();
      const row = page.locator(`tbody tr[data-token-id="${token.id}"]`);
      // The unfiltered list shows first; the owner's has only this token.
      await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
      await row.waitFor();
      await row.getByRole('button', { name: `Revoke laptop of ${account.email}` }).click();
      const dialog = page.getByRole('alertdialog', { name: 'Revoke token?' });
      const text = await dialog.textContent();
      expect(text).toContain('laptop');
      expect(text).toContain(`owned by ${account.email}`);
      expect(text).toContain('Never used');
      await dialog.getByRole('button', { name: 'Revoke Token' }).click();
      await dialog.waitFor({ state: 'detached' });
      // The list (tokens not revoked) reloads without it.
      await row.waitFor({ state: 'detached' });
      expect((await bearer(secret, '/api/v1/me')).status).toBe(401);

      await owner.page.reload();
      const notice = owner.page.getByRole('region', { name: 'Tokens revoked by an administrator' });
      await notice.waitFor();
      expect(await notice.textContent()).toContain('An administrator revoked your token laptop');
      await screenshot(owner.page, 'admin-revoked-notice');
      await notice.getByRole('button', { name: 'Dismiss' }).click();
      await notice.waitFor({ state: 'detached' });
    } finally {
      await owner.context.close();
    }
  });
});
