/**
 * docs/security.md, item 35 (revoke by possession), the owner's side, in real headless Chromium
 * against the real binary: a token reported as leaked through POST /api/v1/credentials/revoke (by a
 * stranger: no cookie, no token) is refused, and its owner sees the notice on the next console
 * visit, on every page, until they dismiss it.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SESSION_COOKIE } from '@latchkey/contract';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInBrowser, launchChromium, openContext } from './support/chromium.js';
import { ensureBuilt, sessionApi, startConsoleServer, type RunningServer } from './support/server.js';

const SCREENSHOTS = fileURLToPath(new URL('../../../../test-results/screenshots/', import.meta.url));

let server: RunningServer;
let browser: Browser;

describeInBrowser('leaked-token notice in the console (Chromium)', () => {
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    ensureBuilt();
    [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a reported token is refused; its owner sees which one on the next visit and can dismiss the notice', async () => {
    const context = await openContext(browser, server.origin);
    try {
      const page = await context.newPage();
      await page.goto(server.signInLink(`leak-${Date.now()}@example.test`));
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${server.origin}/`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toMatch(/^Welcome/);
      const notice = page.getByRole('region', { name: 'Revoked tokens' });
      expect(await notice.count()).toBe(0);

      const sessionId = (await context.cookies()).find((cookie) => cookie.name === SESSION_COOKIE)!.value;
      const api = await sessionApi(server.origin, sessionId);
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
      await page.screenshot({ path: join(SCREENSHOTS, 'reported-token-notice.png'), fullPage: true });

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
