/**
 * Least-privilege tokens in the console, in real headless Chromium against the real binary: a
 * Read only token made in the New Token dialog lists namespaces and is refused creating one
 * (R-SCOPE naming namespaces:write); a Preview environments token with an allowlist made through
 * Advanced shows its scopes, namespaces and allowlist on its page; a token's page shows where it
 * was used from and what it did; the delete confirmation says when and from where it was last
 * used. With LATCHKEY_SCREENSHOTS=1 the dialog (Advanced open) and a token page are written to
 * docs/screenshots/ (committed); test-results/screenshots/ gets them every run.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN_SHAPE } from '@latchkey/contract';
import type { Browser, Locator, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { repositoryRoot } from '../support/server-process.mjs';
import { describeInBrowser } from './support/chromium.js';
import { consoleServerAndBrowser, screenshot, signInInBrowser } from './support/console-session.js';
import type { RunningServer } from './support/server.js';

let server: RunningServer;
let browser: Browser;

const DOCS_SCREENSHOTS = join(repositoryRoot, 'docs/screenshots');

/** test-results/screenshots/<name>.png always; docs/screenshots/<name>.png with LATCHKEY_SCREENSHOTS=1. */
async function documentedScreenshot(page: Page, name: string, options: { mask?: Locator[]; fullPage?: boolean } = {}) {
  await screenshot(page, name, { mask: options.mask });
  if (process.env.LATCHKEY_SCREENSHOTS !== '1') return;
  mkdirSync(DOCS_SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(DOCS_SCREENSHOTS, `${name}.png`), fullPage: options.fullPage ?? true, mask: options.mask });
}

async function openTokens(page: Page) {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  await page.waitForURL('**/settings/tokens');
  await page.getByRole('heading', { name: 'Personal Access Tokens' }).waitFor();
}

const newTokenDialog = (page: Page) => page.getByRole('dialog', { name: 'New personal access token' });
const revealDialog = (page: Page) => page.getByRole('dialog', { name: 'Your new personal access token' });

async function openNewToken(page: Page, name: string) {
  await page.getByRole('button', { name: 'New Token', exact: true }).click();
  const dialog = newTokenDialog(page);
  await dialog.getByLabel('Name', { exact: true }).fill(name);
  return dialog;
}

/** Generate → the secret from the reveal dialog → Copy → Done; the secret. */
async function generateAndKeep(page: Page): Promise<string> {
  await newTokenDialog(page).getByRole('button', { name: 'Generate' }).click();
  const reveal = revealDialog(page);
  const secret = await reveal.getByLabel('Your new token').inputValue();
  expect(secret).toMatch(TOKEN_SHAPE);
  await reveal.getByRole('button', { name: 'Copy' }).click();
  await reveal.getByRole('button', { name: 'Copied' }).waitFor();
  await reveal.getByRole('button', { name: 'Done' }).click();
  await reveal.waitFor({ state: 'detached' });
  return secret;
}

function bearer(secret: string, path: string, init: RequestInit = {}) {
  return fetch(`${server.origin}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${secret}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
  });
}

/** The text of a token page's detail (`<dt>term</dt><dd>…</dd>`). */
const detail = (page: Page, term: string) => page.locator('dl.details dt', { hasText: new RegExp(`^${term}$`) }).locator('xpath=following-sibling::dd[1]');

/** A row of the token list by its token's name (whose row header also holds the note, if any). */
const rowOf = (page: Page, name: string) =>
  page.locator('tbody tr', { has: page.getByRole('link', { name: `Details of ${name}`, exact: true }) });

/** Opens a token's page by clicking its row in the list (not a link or button: anywhere on it). */
async function openTokenPage(page: Page, name: string) {
  await openTokens(page);
  await rowOf(page, name).locator('td[data-label="Created"]').click();
  await page.waitForURL(/\/settings\/tokens\/[^/]+$/);
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
}

describeInBrowser('least-privilege tokens in the console (Chromium)', () => {
  consoleServerAndBrowser((started) => ({ server, browser } = started));

  it('a Read only token made in the dialog lists namespaces (200) and may not create one (403, requiredScope namespaces:write)', async () => {
    const { context, page } = await signInInBrowser(browser, server);
    try {
      await openTokens(page);
      const dialog = await openNewToken(page, 'reader');
      const permissions = dialog.getByRole('group', { name: 'Permissions' });
      expect(await permissions.getByRole('radio', { name: 'Full access' }).isChecked()).toBe(true);
      await permissions.getByRole('radio', { name: 'Read only' }).check();
      const secret = await generateAndKeep(page);

      const list = await bearer(secret, '/api/v1/namespaces');
      expect(list.status).toBe(200);
      const create = await bearer(secret, '/api/v1/namespaces', { method: 'POST', body: JSON.stringify({ name: 'from-reader' }) });
      expect(create.status).toBe(403);
      expect(create.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const problem = (await create.json()) as { code: string; requiredScope?: string };
      expect(problem.code).toBe('INSUFFICIENT_SCOPE');
      expect(problem.requiredScope).toBe('namespaces:write');

      // The seed flow is still one click: a name and Generate is Full access, which may create one.
      await openNewToken(page, 'seed');
      const full = await generateAndKeep(page);
      const created = await bearer(full, '/api/v1/namespaces', { method: 'POST', body: JSON.stringify({ name: 'from-seed' }) });
      expect(created.status).toBe(201);
    } finally {
      await context.close();
    }
  });

  it('a Preview environments token with an allowlist set under Advanced shows its scopes, preview-* and 10.0.0.0/8 on its page', async () => {
    const { context, page } = await signInInBrowser(browser, server);
    try {
      await openTokens(page);
      const dialog = await openNewToken(page, 'ci-preview');
      await dialog.getByRole('radio', { name: 'Preview environments' }).check();
      await dialog.getByText('Advanced', { exact: true }).click();
      expect(await dialog.getByLabel('Namespaces', { exact: true }).inputValue()).toBe('preview-*');
      await dialog.getByLabel('Allowed IP addresses').fill('10.0.0.0/8');
      await dialog.getByLabel('Note', { exact: true }).fill('GitHub Actions, preview deploys');
      // Tall enough for the whole dialog with Advanced open (a modal scrolls inside the viewport).
      await page.setViewportSize({ width: 1280, height: 1400 });
      await documentedScreenshot(page, 'new-token-dialog-advanced');
      await page.setViewportSize({ width: 1280, height: 800 });
      await generateAndKeep(page);

      await openTokenPage(page, 'ci-preview');
      const permissions = (await detail(page, 'Permissions').textContent())!;
      expect(permissions).toContain('namespaces:read');
      expect(permissions).toContain('namespaces:write');
      expect(permissions).toContain('Create and delete namespaces');
      expect(permissions).not.toContain('tokens:');
      expect(await detail(page, 'Namespaces').textContent()).toBe('preview-*');
      expect(await detail(page, 'Allowed from').textContent()).toBe('10.0.0.0/8');
      expect(await detail(page, 'Note').textContent()).toBe('GitHub Actions, preview deploys');
      expect(await detail(page, 'Last used').textContent()).toBe('Never used');
      expect(await page.title()).toBe('Personal Access Token · Latchkey');

      // The list reached by its link; a reload of the token page is served the console.
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'ci-preview', exact: true }).waitFor();
      await page.getByRole('link', { name: '← Personal Access Tokens' }).click();
      await page.waitForURL('**/settings/tokens');
    } finally {
      await context.close();
    }
  });

  it('shows a field the server refuses under Advanced at that field', async () => {
    const { context, page } = await signInInBrowser(browser, server);
    try {
      await openTokens(page);
      const dialog = await openNewToken(page, 'bad-allowlist');
      await dialog.getByText('Advanced', { exact: true }).click();
      await dialog.getByLabel('Allowed IP addresses').fill('10.0.0.0/8\nnot-an-address');
      await dialog.getByRole('button', { name: 'Generate' }).click();
      const field = dialog.getByLabel('Allowed IP addresses');
      await expect.poll(() => field.getAttribute('aria-invalid')).toBe('true');
      const describedBy = (await field.getAttribute('aria-describedby'))!.split(' ');
      const message = await page.locator(`[id="${describedBy[1]}"]`).textContent();
      expect(message).toMatch(/^“not-an-address” /);
      expect(await revealDialog(page).count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('a token page lists the addresses the token was used from and what it did', async () => {
    const { context, page, api } = await signInInBrowser(browser, server);
    try {
      const { secret } = await api.createToken('deployer', {
        scopes: ['namespaces:read', 'namespaces:write'],
        namespaces: ['preview-*'],
        allowedIps: ['127.0.0.1/32', '10.0.0.0/8'],
        note: 'deploy job in acme/web',
      });
      expect((await bearer(secret, '/api/v1/namespaces')).status).toBe(200);
      const created = await bearer(secret, '/api/v1/namespaces', { method: 'POST', body: JSON.stringify({ name: 'preview-42' }) });
      expect(created.status).toBe(201);
      // Outside its namespaces: refused, naming the namespace.
      const outside = await bearer(secret, '/api/v1/namespaces', { method: 'POST', body: JSON.stringify({ name: 'production' }) });
      expect(outside.status).toBe(403);
      expect(((await outside.json()) as { namespace?: string }).namespace).toBe('production');

      await openTokenPage(page, 'deployer');
      const addresses = page.getByRole('table', { name: 'The last addresses this token was used from' });
      await expect.poll(() => addresses.textContent()).toContain('127.0.0.1');
      const actions = page.getByRole('table', { name: 'What this token did recently' });
      await expect.poll(() => actions.textContent()).toContain('preview-42');
      expect(await actions.textContent()).toContain('Created a namespace');
      expect(await detail(page, 'Last used').textContent()).toMatch(/^Last used (just now|\d+ minutes? ago) from 127\.0\.0\.1 \(/);
      await documentedScreenshot(page, 'token-page');
    } finally {
      await context.close();
    }
  });

  it('the delete confirmation says when and from where the token was last used, from the list and from its page', async () => {
    const { context, page, api } = await signInInBrowser(browser, server);
    try {
      const used = await api.createToken('used-one');
      expect((await bearer(used.secret, '/api/v1/namespaces')).status).toBe(200);
      await api.createToken('never-used');

      await openTokens(page);
      await rowOf(page, 'never-used').getByRole('button', { name: 'Delete never-used' }).click();
      let confirm = page.getByRole('alertdialog', { name: 'Delete personal access token?' });
      await confirm.waitFor();
      expect(await confirm.locator('.last-use').textContent()).toBe('Never used.');
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await confirm.waitFor({ state: 'detached' });

      await rowOf(page, 'used-one').getByRole('button', { name: 'Delete used-one' }).click();
      await confirm.waitFor();
      expect(await confirm.locator('.last-use').textContent()).toMatch(/^Last used (just now|\d+ minutes? ago) from 127\.0\.0\.1 \(.+\)\.$/);
      await confirm.getByRole('button', { name: 'Cancel' }).click();
      await confirm.waitFor({ state: 'detached' });

      await openTokenPage(page, 'used-one');
      await page.getByRole('button', { name: 'Delete Token' }).click();
      confirm = page.getByRole('alertdialog', { name: 'Delete personal access token?' });
      expect(await confirm.locator('.last-use').textContent()).toMatch(/^Last used (just now|\d+ minutes? ago) from 127\.0\.0\.1 /);
      await confirm.getByRole('button', { name: 'Delete Token' }).click();
      await page.waitForURL('**/settings/tokens');
      await rowOf(page, 'never-used').waitFor();
      expect(await rowOf(page, 'used-one').count()).toBe(0);
      expect((await bearer(used.secret, '/api/v1/namespaces')).status).toBe(401);
    } finally {
      await context.close();
    }
  });

  it('a use from outside the allowlist is refused and its owner sees the notice, and can dismiss it', async () => {
    const { context, page, api } = await signInInBrowser(browser, server);
    try {
      const { secret } = await api.createToken('ci-fenced', { allowedIps: ['203.0.113.0/24'], note: 'CI runners' });
      const refused = await bearer(secret, '/api/v1/namespaces');
      expect(refused.status).toBeGreaterThanOrEqual(400);

      const notice = page.getByRole('region', { name: 'Tokens used outside their allowlist' });
      await expect
        .poll(
          async () => {
            await page.reload();
            await page.getByRole('heading', { level: 1 }).waitFor();
            return notice.count();
          },
          { timeout: 10_000 },
        )
        .toBe(1);
      const text = await notice.textContent();
      expect(text).toMatch(/Token ci-fenced was used from 127\.0\.0\.1, outside its allowlist/);
      expect(text).toContain('CI runners');
      expect(text).not.toContain(secret);
      await notice.getByRole('button', { name: 'Dismiss' }).click();
      await notice.waitFor({ state: 'detached' });
    } finally {
      await context.close();
    }
  });
});
