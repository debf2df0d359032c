/**
 * The console's Admin section in real headless Chromium against the built server, for two of the
 * administrator's errands: Admin › Tokens filtered to "expiring within 7 days" lists every
 * account's token that really expires this week and none that expires in 90 days; Admin › Audit
 * log filtered by one token id lists only what that token did, and Export downloads exactly those
 * events as NDJSON.
 */
import { readFile } from 'node:fs/promises';
import type { Browser, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { bearer, consoleWithAdministrator, openAdmin, type Administrator } from './support/admin-session.js';
import { describeInBrowser } from './support/chromium.js';
import { screenshot, signInInBrowser } from './support/console-session.js';
import type { RunningServer } from './support/server.js';

const DAY_MS = 86_400_000;

let server: RunningServer;
let browser: Browser;
let admin: Administrator;

/** The token ids the Tokens or Audit log table shows, sorted. */
const rowIds = (page: Page, attribute: string) =>
  page
    .locator(`tbody tr[${attribute}]`)
    .evaluateAll((rows, name) => rows.map((row) => row.getAttribute(name)!).sort(), attribute);

describeInBrowser('Admin › Tokens expiring this week and one token\'s audit trail (Chromium)', () => {
  consoleWithAdministrator((started) => ({ server, browser, admin } = started));

  it('Tokens filtered to expiring within 7 days lists every account\'s token expiring this week, and not those expiring in 90 days', async () => {
    const alice = await signInInBrowser(browser, server);
    const bob = await signInInBrowser(browser, server);
    try {
      // Two owners, so the filter is shown to cover every account, not one.
      const inThreeDays = new Date(Date.now() + 3 * DAY_MS).toISOString();
      const inSixDays = new Date(Date.now() + 6 * DAY_MS).toISOString();
      const aliceSoon = await alice.api.createToken('deploy-soon', { expiresAt: inThreeDays });
      const aliceLater = await alice.api.createToken('deploy-later', { expiresInDays: 90 });
      const bobSoon = await bob.api.createToken('laptop-soon', { expiresAt: inSixDays });
      const bobLater = await bob.api.createToken('laptop-later', { expiresInDays: 90 });

      const { page } = admin;
      await openAdmin(page, 'Tokens');
      // Unfiltered first: all four show, so the filter below is what removes two.
      await expect.poll(() => rowIds(page, 'data-token-id')).toEqual([aliceSoon, aliceLater, bobSoon, bobLater].map((created) => created.token.id).sort());

      await page.getByLabel('Expiring within (days)').fill('7');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expect.poll(() => rowIds(page, 'data-token-id')).toEqual([aliceSoon.token.id, bobSoon.token.id].sort());
      const soonRow = page.locator(`tbody tr[data-token-id="${aliceSoon.token.id}"]`);
      expect(await soonRow.locator('td[data-label="Expires"]').textContent()).toContain('(in 3 days)');
      await screenshot(page, 'admin-tokens-expiring');
    } finally {
      await alice.context.close();
      await bob.context.close();
    }
  });

  it("Audit log filtered by one token lists only that token's trail (what it did, and its creation), and Export downloads exactly those events", async () => {
    const member = await signInInBrowser(browser, server);
    try {
      const traced = await member.api.createToken('ci');
      const other = await member.api.createToken('laptop');
      const suffix = Date.now().toString(36);
      // What the traced token does (two audited changes), and what the other one does beside it.
      expect((await bearer(server.origin, traced.secret, '/api/v1/namespaces', { method: 'POST', body: { name: `traced-${suffix}` } })).status).toBe(201);
      expect((await bearer(server.origin, traced.secret, '/api/v1/tokens', { method: 'POST', body: { name: 'child' } })).status).toBe(201);
      expect((await bearer(server.origin, other.secret, '/api/v1/namespaces', { method: 'POST', body: { name: `other-${suffix}` } })).status).toBe(201);

      const { page } = admin;
      await openAdmin(page, 'Audit log');
      await page.getByLabel('Token id').fill(traced.token.id);
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await expect.poll(() => page.locator('tbody tr').count()).toBe(3);
      const actions = await page.locator('tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-action')));
      // Newest first: what it did, then its own creation (made in the console, so by no token).
      expect(actions).toEqual(['token.created', 'namespace.created', 'token.created']);
      const tokenCells = await page.locator('tbody td[data-label="Token"]').allTextContents();
      expect(tokenCells.slice(0, 2)).toEqual([traced.token.id, traced.token.id]);
      const shownIds = await rowIds(page, 'data-event-id');
      await screenshot(page, 'admin-audit-token');

      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export' }).click()]);
      expect(download.suggestedFilename()).toMatch(/^latchkey-audit-.*\.ndjson$/);
      const lines = (await readFile((await download.path())!, 'utf8')).trimEnd().split('\n');
      const exported = lines.map((line) => JSON.parse(line) as { id: string; action: string; targetId: string; actor: { tokenId: string | null } });
      expect(exported.map((event) => event.action)).toEqual(['token.created', 'namespace.created', 'token.created']);
      expect(exported.slice(0, 2).every((event) => event.actor.tokenId === traced.token.id)).toBe(true);
      expect(exported[2]).toMatchObject({ targetId: traced.token.id, actor: { tokenId: null } });
      expect(exported.map((event) => event.id).sort()).toEqual(shownIds);
    } finally {
      await member.context.close();
    }
  });
});
