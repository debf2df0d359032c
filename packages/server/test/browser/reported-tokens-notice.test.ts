/**
 * docs/security.md, item 35 (revoke by possession), the owner's side, in real headless Chromium
 * against the real binary: a token reported as leaked through POST /api/v1/credentials/revoke (by a
 * stranger: no cookie, no token) is refused, and its owner sees the notice on the next console
 * visit, on every page, until they dismiss it.
 */
import type { Browser } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInBrowser } from './support/chromium.js';
import { consoleServerAndBrowser, screenshot, signInInBrowser } from './support/console-session.js';
import type { RunningServer } from './support/server.js';

let server: RunningServer;
let browser: Browser;

describeInBrowser('leaked-token notice in the console (Chromium)', () => {
  consoleServerAndBrowser((started) => ({ server, browser } = started));

  it('a reported token is refused; its owner sees which one on the next visit and can dismiss the notice', async () => {
    const { context, page, api } = await signInInBrowser(browser, server);
    try {
      const notice = page.getByRole('region', { name: 'Revoked tokens' });
      expect(await notice.count()).toBe(0);

      const leaked = await api.createToken('ci-deploy');
      const kept = await api.createToken('laptop');
      const me = (token: string) => fetch(`${server.origin}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
      expect((await me(leaked.secret)).status).toBe(200);

      // A stranger reports it: no credentials of any kind.
      const report = await fetch(`${server.origin}/api/v1/credentials/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ credentials: [leaked.secret, 'not-a-token'] }),
      });
      expect(report.status).toBe(202);
      await expect.poll(async () => (await me(leaked.secret)).status, { timeout: 5_000 }).toBe(401);
      expect((await me(kept.secret)).status).toBe(200);

      // The next visit shows the notice: which token, its last four characters.
      await page.reload();
      await notice.waitFor();
      const text = await notice.textContent();
      expect(text).toContain('1 token was revoked because it was reported as leaked');
      expect(text).toContain('ci-deploy');
      expect(text).toContain(`lk_pat_1…${leaked.token.last4}`);
      expect(text).not.toContain('laptop');
      expect(text).not.toContain(leaked.secret);
      await screenshot(page, 'reported-token-notice');

      // It follows the owner to other pages until dismissed, and stays dismissed.
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Namespaces' }).click();
      await page.waitForURL('**/namespaces');
      await notice.waitFor();
      await notice.getByRole('button', { name: 'Dismiss' }).click();
      await notice.waitFor({ state: 'detached' });
      await page.reload();
      await page.getByRole('heading', { name: 'Namespaces' }).waitFor();
      expect(await notice.count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
