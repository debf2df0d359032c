/**
 * The first administrator in the browser: the one-time link the server printed at its first
 * start, used once per server, in a context of its own; with the account (from /api/v1/me). And
 * what the Admin console suites share: opening an Admin section, calling the API with a token.
 */
import { SESSION_COOKIE, type AccountView } from '@latchkey/contract';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { openContext } from './chromium.js';
import { consoleServerAndBrowser } from './console-session.js';
import type { RunningServer } from './server.js';

export async function signInAsFirstAdministrator(browser: Browser, server: RunningServer) {
  const context = await openContext(browser, server.origin);
  const page = await context.newPage();
  await page.goto(server.firstSignInLink);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.origin}/`);
  await page.getByRole('heading', { level: 1, name: /^Welcome/ }).waitFor();
  const sessionId = (await context.cookies()).find((cookie) => cookie.name === SESSION_COOKIE)!.value;
  const account = await accountOf(server.origin, sessionId);
  if (!account.isAdmin) throw new Error('the first sign-in link did not sign in an administrator');
  return { context, page, sessionId, account };
}

/** The account a console session belongs to. */
export async function accountOf(origin: string, sessionId: string): Promise<AccountView> {
  const response = await fetch(`${origin}/api/v1/me`, { headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } });
  return ((await response.json()) as { account: AccountView }).account;
}

export type AdminSection = 'Accounts' | 'Tokens' | 'Service accounts' | 'Audit log' | 'Policy' | 'Throttled addresses';

/** From the overview, Admin in the main nav (which lands on Accounts), then `section` in the Admin nav. */
export async function openAdmin(page: Page, section: AdminSection): Promise<void> {
  await page.goto('/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Admin' }).click();
  await page.waitForURL('**/admin/accounts');
  if (section !== 'Accounts') await page.getByRole('navigation', { name: 'Admin' }).getByRole('link', { name: section }).click();
  await page.getByRole('heading', { level: 1, name: section }).waitFor();
}

/** A call to the server with a personal access token, as a script would make it. */
export function bearer(origin: string, secret: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${secret}` };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${origin}${path}`, { method: init.method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
}

export type Administrator = Awaited<ReturnType<typeof signInAsFirstAdministrator>>;

/**
 * Inside a `describeInBrowser` block: the console server (with `settings` in its environment) and
 * Chromium (`consoleServerAndBrowser`), then the first administrator signed in, all handed to
 * `use` before the block's tests; the administrator's context is closed after them.
 */
export function consoleWithAdministrator(
  use: (started: { server: RunningServer; browser: Browser; admin: Administrator }) => void,
  settings: Record<string, string> = {},
): void {
  let started: { server: RunningServer; browser: Browser } | undefined;
  let admin: Administrator | undefined;
  consoleServerAndBrowser((both) => (started = both), settings);
  beforeAll(async () => {
    admin = await signInAsFirstAdministrator(started!.browser, started!.server);
    use({ ...started!, admin });
  }, 60_000);
  afterAll(async () => {
    await admin?.context.close().catch(() => {});
  });
}
