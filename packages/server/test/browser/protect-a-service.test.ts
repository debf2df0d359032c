/**
 * Issue 16's "done when", in real headless Chromium: from the README's "Protect a service with
 * Latchkey tokens", a small upstream behind nginx and a Node service with @latchkey/verify, both
 * stopped by a revoke in the console.
 *
 * Everything is the README's, ports replaced (test/support/readme-recipes.ts): the built Latchkey
 * started with TRUST_PROXY=127.0.0.1, the demo upstream (`node -e …`), nginx with the nginx
 * block, the Node recipe's service (packages/verify/examples/fastify-service.mjs, started by its
 * shell line) holding a service account's `introspect` token made by the plain-HTTP recipe's CLI
 * commands. The user signs in, makes a token with Settings › Personal Access Tokens › New Token
 * and copies it; it reaches the upstream through nginx with its identity and is accepted by the
 * Node service (whose verifier then holds it in its cache). The user deletes it in the console:
 * nginx refuses the very next request; the Node service is polled from the moment of the revoke,
 * and refuses within the bound its revocation stream gives — the time from the console's answer
 * to the first refusal is printed (no timing assertion: machines differ), and no request after
 * that first refusal is accepted.
 *
 * Without nginx this fails under CI and is skipped loudly otherwise (as readme-recipes.test.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN_SHAPE } from '@latchkey/contract';
import { expect, it } from 'vitest';
import { buildVerify } from '../../../verify/test/support.js';
import { findNginx, forwardAuthNginxSite, startNginx } from '../support/proxy-process.mjs';
import {
  blocksOf,
  commandLines,
  curl,
  ensureCliBuilt,
  mintReadmeServiceToken,
  replacePort,
  startReadmeNodeService,
  startReadmeService,
} from '../support/readme-recipes.js';
import { freePort } from '../support/server-process.mjs';
import { consoleWithAdministrator, type Administrator } from './support/admin-session.js';
import { describeInBrowser } from './support/chromium.js';
import { tokenRow } from './support/console-session.js';
import { sessionApi, type RunningServer } from './support/server.js';

const nginxBinary = findNginx();
if (!nginxBinary) {
  if (process.env.CI) throw new Error('nginx not installed (.ci/run installs the Debian package)');
  process.stderr.write('\n!!! nginx not found (apt-get install nginx): SKIPPING the console-revoke test of the README recipes.\n\n');
}

/** One answer of the Node service: its status, its problem code if any, and when it arrived (epoch ms). */
interface Answer {
  status: number;
  code: string | undefined;
  at: number;
}

/**
 * Calls `url` with `secret`, one request at a time, until the first refusal and `after` more
 * answers; every answer in order. Fails after `timeoutMs` without a refusal, or when `signal` aborts.
 */
async function pollUntilRefused(url: string, secret: string, after: number, signal: AbortSignal, timeoutMs = 60_000): Promise<Answer[]> {
  const answers: Answer[] = [];
  const deadline = Date.now() + timeoutMs;
  let refusedAt = -1;
  while (refusedAt < 0 || answers.length < refusedAt + 1 + after) {
    if (Date.now() > deadline) throw new Error(`no refusal within ${timeoutMs} ms: ${answers.length} answers, all accepted`);
    const response = await fetch(url, { headers: { authorization: `Bearer ${secret}` }, signal });
    const text = await response.text();
    const at = Date.now();
    const code = response.status === 200 ? undefined : (JSON.parse(text) as { code?: string }).code;
    answers.push({ status: response.status, code, at });
    if (refusedAt < 0 && response.status !== 200) refusedAt = answers.length - 1;
    // A short pause: the poll need not take a core from the browser and the servers.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return answers;
}

let server: RunningServer;
let admin: Administrator;

describeInBrowser('a console revoke stops nginx and a @latchkey/verify service (the README recipes)', () => {
  // As the README starts Latchkey for its proxies.
  consoleWithAdministrator((started) => ({ server, admin } = started), { TRUST_PROXY: '127.0.0.1' });

  it('a token made in the console passes nginx and the Node service, then is refused by nginx at once and by the verifier within its bound', async (context) => {
    if (!nginxBinary) return context.skip('nginx is not installed');
    const cleanups: Array<() => unknown> = [];
    const polling = new AbortController();
    try {
      buildVerify();
      ensureCliBuilt();
      const dir = mkdtempSync(join(tmpdir(), 'latchkey-protect-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const latchkeyPort = Number(new URL(server.origin).port);

      // The README's demo upstream, and nginx with its nginx block in front of it.
      const upstream = await startReadmeService(await freePort());
      cleanups.unshift(() => upstream.stop());
      const [nginxConfig, nginxTry] = blocksOf('nginx', ['nginx', 'sh']);
      const nginxPort = await freePort();
      const ports = { listen: nginxPort, latchkey: latchkeyPort, service: Number(new URL(upstream.base).port) };
      const nginx = await startNginx({
        binary: nginxBinary,
        home: join(dir, 'nginx'),
        site: forwardAuthNginxSite('README.md (nginx)', nginxConfig!.code, ports),
        port: nginxPort,
      });
      cleanups.unshift(() => nginx.stop());
      const [, nginxWithToken] = commandLines(replacePort(nginxTry!.code, 'localhost:8000', `127.0.0.1:${nginxPort}`, 2));

      // The Node recipe's service, with the token the plain-HTTP recipe's CLI commands mint for a
      // service account, as the administrator (a token holding admin:write, as the README says).
      const adminToken = await (await sessionApi(server.origin, admin.sessionId)).createToken('readme-admin', { scopes: ['admin:write'] });
      const { serviceToken } = await mintReadmeServiceToken(latchkeyPort, adminToken.secret, dir);
      const node = await startReadmeNodeService(latchkeyPort, serviceToken, await freePort());
      cleanups.unshift(() => node.stop());

      // Settings › Personal Access Tokens › New Token; the secret shown once, copied.
      const { page } = admin;
      await page.goto('/');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
      await page.waitForURL('**/settings/tokens');
      await page.getByRole('button', { name: 'New Token', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'New personal access token' });
      await dialog.getByLabel('Name').fill('my laptop');
      await dialog.getByRole('button', { name: 'Generate' }).click();
      const reveal = page.getByRole('dialog', { name: 'Your new personal access token' });
      await reveal.getByRole('button', { name: 'Copy' }).click();
      await reveal.getByRole('button', { name: 'Copied' }).waitFor();
      const secret = await page.evaluate(() => navigator.clipboard.readText());
      expect(secret).toMatch(TOKEN_SHAPE);
      await reveal.getByRole('button', { name: 'Done' }).click();
      const row = tokenRow(page, 'my laptop');
      await expect.poll(() => row.locator('.badge').textContent()).toBe('Active');
      const env = { MY_TOKEN: secret };

      // Through nginx, the upstream sees who it is (the README's second curl command).
      const passed = await curl(nginxWithToken!, env, dir);
      expect(passed.status, nginx.output()).toBe(200);
      const received = JSON.parse(passed.body) as Record<string, string>;
      expect(received['latchkey-account-id']).toBe(admin.account.id);
      const tokenId = received['latchkey-token-id'];
      expect(tokenId).toMatch(/^[0-9a-f-]{36}$/);
      expect(received.authorization).toBeUndefined();

      // The Node service: no token refused, the token accepted (the Node recipe's curl commands),
      // then several times more, so that its verifier answers it from its cache.
      expect((await curl(node.anonymous, env, dir)).status, node.output()).toBe(401);
      const whoami = await curl(node.withToken, env, dir);
      expect(whoami.status, node.output()).toBe(200);
      expect(JSON.parse(whoami.body)).toEqual({ account: admin.account.id, token: tokenId });
      const call = () => fetch(`${node.base}/whoami`, { headers: { authorization: `Bearer ${secret}` } }).then((response) => response.status);
      for (let warm = 0; warm < 5; warm++) expect(await call()).toBe(200);

      // The revoke, in the console: the row's Delete, then Delete Token in the confirmation.
      // The Node service is polled throughout, from before the click.
      const answers = pollUntilRefused(`${node.base}/whoami`, secret, 10, polling.signal);
      answers.catch(() => {}); // awaited below; a failure before then must not go unhandled
      await row.getByRole('button', { name: /^Delete/ }).click();
      const confirm = page.getByRole('alertdialog', { name: 'Delete personal access token?' });
      const [deleted] = await Promise.all([
        page.waitForResponse((response) => response.request().method() === 'DELETE' && response.url().endsWith(`/api/v1/tokens/${tokenId}`)),
        confirm.getByRole('button', { name: 'Delete Token' }).click(),
      ]);
      expect(deleted.status()).toBe(204);
      await deleted.finished();
      // When the browser had the 204, by Chromium's clock (the machine's, as Date.now()).
      const timing = deleted.request().timing();
      const revokedAt = timing.startTime + Math.max(timing.responseEnd, timing.responseStart);

      // The console shows it revoked: the confirmation closes and the token leaves the active list.
      await confirm.waitFor({ state: 'detached' });
      await row.waitFor({ state: 'detached' });
      // nginx: the very next request is refused, with the reason.
      const refused = await curl(nginxWithToken!, env, dir);
      expect(refused.status, nginx.output()).toBe(401);
      expect(refused.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(refused.body).not.toContain('latchkey-account-id');
      await page.getByLabel('Show revoked').check();
      await expect.poll(() => tokenRow(page, 'my laptop').locator('.badge').textContent()).toBe('Revoked');

      // The Node service: accepted until its first refusal, refused every time after it.
      const polled = await answers;
      const first = polled.findIndex((answer) => answer.status !== 200);
      expect(polled.slice(0, first).every((answer) => answer.status === 200)).toBe(true);
      const afterFirst = polled.slice(first);
      expect(afterFirst).toHaveLength(11);
      expect(afterFirst.map((answer) => `${answer.status} ${answer.code}`)).toEqual(Array(11).fill('401 INVALID_TOKEN'));
      const acceptedAfterRevoke = polled.slice(0, first).filter((answer) => answer.at > revokedAt).length;
      const sinceAnswer = Math.round(polled[first]!.at - revokedAt);
      const sinceSent = Math.round(polled[first]!.at - timing.startTime);
      // Negative when the verifier heard of it (the stream's event is sent at the commit) before
      // the browser had the 204.
      console.log(
        `console revoke → first refusal by the Node service's verifier: ${sinceAnswer} ms after the console's DELETE answered 204 ` +
          `(${sinceSent} ms after the browser sent it); ${acceptedAfterRevoke} accepted after the 204, ` +
          `${polled.length} polls in all, 0 accepted after the first refusal (10 more refused)`,
      );
    } finally {
      polling.abort();
      for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
    }
  }, 180_000);
});
