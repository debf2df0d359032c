/**
 * Headless Debian Chromium through playwright-core (never `playwright install`): the flags a
 * root container needs, a fresh profile per launch (Playwright makes one), and every request
 * that would leave 127.0.0.1 aborted. Without Chromium the suite is skipped with a loud line,
 * or fails under LATCHKEY_REQUIRE_BROWSER=1 (CI).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { describe, it } from 'vitest';

export const CHROMIUM_PATH = process.env.LATCHKEY_CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

export const chromiumAvailable = existsSync(CHROMIUM_PATH);
const browserRequired = process.env.LATCHKEY_REQUIRE_BROWSER === '1';

/**
 * `describe` for browser suites: runs with Chromium; without it, skipped loudly, or one
 * failing test when LATCHKEY_REQUIRE_BROWSER=1.
 */
export function describeInBrowser(name: string, body: () => void): void {
  if (chromiumAvailable) {
    describe(name, body);
    return;
  }
  if (browserRequired) {
    describe(name, () => {
      it('needs Chromium (LATCHKEY_REQUIRE_BROWSER=1)', () => {
        throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium (or set LATCHKEY_CHROMIUM_PATH)`);
      });
    });
    return;
  }
  process.stderr.write(
    `\n*** SKIPPED browser tests "${name}": no Chromium at ${CHROMIUM_PATH} (apt-get install -y chromium; ` +
      'set LATCHKEY_REQUIRE_BROWSER=1 to make this a failure) ***\n\n',
  );
  describe.skip(name, body);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/** A fresh context (cookies, storage) that can only talk to 127.0.0.1; clipboard allowed for `origin`. */
export async function openContext(
  browser: Browser,
  origin: string,
  options: { viewport?: { width: number; height: number } } = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 }, baseURL: origin });
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    return url.hostname === '127.0.0.1' && (url.protocol === 'http:' || url.protocol === 'https:')
      ? route.continue()
      : route.abort('blockedbyclient');
  });
  // Fail a step with its own message well before the test's timeout.
  context.setDefaultTimeout(10_000);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  return context;
}
