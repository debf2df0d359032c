/**
 * What the browser suites share: one console server and one Chromium for a file, a fresh account
 * signed in through its one-time link in a fresh context, screenshots, and a page from another
 * origin that frames one of the server's pages.
 */
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { SESSION_COOKIE } from '@latchkey/contract';
import type { Browser, BrowserContext, Frame, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { freePort, repositoryRoot } from '../../support/server-process.mjs';
import { launchChromium, openContext } from './chromium.js';
import { ensureBuilt, sessionApi, startConsoleServer, type RunningServer } from './server.js';

/** Where screenshots go (ignored by git). */
export const SCREENSHOTS = join(repositoryRoot, 'test-results/screenshots');

/**
 * Inside a `describeInBrowser` block: builds what is stale, starts the console server (with
 * `settings` in its environment) and Chromium before the block's tests (handing both to `use`)
 * and stops them after.
 */
export function consoleServerAndBrowser(
  use: (started: { server: RunningServer; browser: Browser }) => void,
  settings: Record<string, string> = {},
): void {
  let started: { server: RunningServer; browser: Browser } | undefined;
  beforeAll(async () => {
    ensureBuilt();
    const [server, browser] = await Promise.all([startConsoleServer(settings), launchChromium()]);
    started = { server, browser };
    use(started);
  }, 120_000);
  afterAll(async () => {
    await started?.browser.close();
    await started?.server.stop();
  });
}

/** A full-page screenshot as test-results/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string, options: { mask?: Locator[] } = {}): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true, mask: options.mask });
}

let accounts = 0;

/**
 * A new account signed in through its one-time link, in a fresh browser context whose page is on
 * the console's overview; with the session's id and an API client acting as that session.
 */
export async function signInInBrowser(browser: Browser, server: RunningServer, options: { viewport?: { width: number; height: number } } = {}) {
  const context = await openContext(browser, server.origin, options);
  const page = await context.newPage();
  await page.goto(server.signInLink(`user${++accounts}-${Date.now()}@example.test`));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.origin}/`);
  await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toMatch(/^Welcome/);
  const sessionId = (await context.cookies()).find((cookie) => cookie.name === SESSION_COOKIE)!.value;
  return { context, page, sessionId, api: await sessionApi(server.origin, sessionId) };
}

/** The row of the token list whose name cell is exactly `name`. */
export const tokenRow = (page: Page, name: string): Locator =>
  page.locator('tbody tr', { has: page.getByRole('rowheader', { name, exact: true }) });

/** The text of the expiring-tokens banner on the page at `path`, once it shows. */
export async function expiryBannerText(page: Page, path: string): Promise<string | null> {
  await page.goto(path);
  const banner = page.getByRole('region', { name: 'Expiring tokens' });
  await banner.waitFor();
  return banner.textContent();
}

/** Every JavaScript dialog the page opens from now on, dismissed and recorded (an injected script would open one). */
export function recordDialogs(page: Page): string[] {
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return dialogs;
}

/** The token list's name cells: each one's text, and whether it holds nothing but text nodes. */
export function tokenNameCells(page: Page): Promise<Array<{ text: string | null; onlyText: boolean; note: string | null }>> {
  return page.locator('th.token-name').evaluateAll((elements) =>
    elements.map((element) => {
      // The note, when the token has one, is the one element allowed: a span of text under the name.
      const note = element.querySelector(':scope > span.token-note');
      const rest = [...element.childNodes].filter((node) => node !== note);
      const isText = (node: Node) => node.nodeType === Node.TEXT_NODE;
      return {
        text: rest.map((node) => node.textContent).join(''),
        onlyText: rest.every(isText) && (!note || [...note.childNodes].every(isText)),
        note: note ? note.textContent : null,
      };
    }),
  );
}

/**
 * Loads `url` in an iframe of a page from another origin (a server of its own on 127.0.0.1) and
 * waits for Chromium to report the frame-ancestors violation; `check` then gets the framing page,
 * the frame and the text the frame shows. Everything is closed afterwards.
 */
export async function framedByAnotherOrigin(
  browser: Browser,
  origin: string,
  url: string,
  check: (framed: { page: Page; frame: Frame; text: string }) => Promise<void>,
): Promise<void> {
  const framerPort = await freePort();
  const framer: Server = createServer((_request, reply) => {
    reply.writeHead(200, { 'content-type': 'text/html' });
    reply.end(`<!doctype html><title>framer</title><iframe id="framed" src="${url}" width="600" height="400"></iframe>`);
  });
  await new Promise<void>((resolve) => framer.listen(framerPort, '127.0.0.1', resolve));
  let context: BrowserContext | undefined;
  try {
    context = await openContext(browser, origin);
    const page = await context.newPage();
    const messages: string[] = [];
    page.on('console', (message) => messages.push(message.text()));
    await page.goto(`http://127.0.0.1:${framerPort}/`);
    await page.locator('#framed').waitFor();
    await expect.poll(() => messages.join('\n'), { timeout: 10_000 }).toMatch(/frame-ancestors/);
    await page.waitForTimeout(500);
    const frame = page.frames().find((candidate) => candidate !== page.mainFrame())!;
    const text = await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '');
    await check({ page, frame, text });
  } finally {
    await context?.close();
    await new Promise((resolve) => framer.close(resolve));
  }
}
