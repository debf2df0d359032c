/**
 * The first administrator in the browser: the one-time link the server printed at its first
 * start, used once per server, in a context of its own; with the account (from /api/v1/me).
 */
import { SESSION_COOKIE, type AccountView } from '@latchkey/contract';
import type { Browser } from 'playwright-core';
import { openContext } from './chromium.js';
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
