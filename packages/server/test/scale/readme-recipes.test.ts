/**
 * The README's "Protect a service with Latchkey tokens" recipes, run as a reader would run them
 * (issue 16: "each a copy-paste recipe the tests run"). Everything comes out of README.md's
 * fenced blocks under that section's headings; the only change made to them is the port numbers
 * (Latchkey 8080, the service 9000, nginx 8000, Caddy 8001), replaced by free loopback ports.
 * The blocks are read, and the commands run, by test/support/readme-recipes.ts (shared with
 * test/browser/protect-a-service.test.ts, which runs the nginx and Node recipes with the revoke
 * made in the console).
 *
 * - the nginx and Caddy configurations are deploy/'s files word for word (one source of truth;
 *   forward-auth.test.ts runs those files through every case of docs/security.md, item 54);
 * - the demo service is the README's own `node -e` command;
 * - nginx and Caddy with the README's configuration: its curl commands get a 401 without a
 *   token, the service's answer with the identity headers with one, and a 401 once it is revoked;
 * - introspection: the README's CLI commands make a service account and its `introspect` token,
 *   and its curl command answers active:true, then exactly {"active":false} after the revoke
 *   (docs/security.md, item 55).
 *
 * Without nginx or Caddy their cases fail under CI (.ci/run installs both) and are skipped
 * loudly otherwise.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken as createTokenWith, revokeToken, startSignedInLatchkey, type Session } from './support.js';
import {
  findCaddy,
  findNginx,
  forwardAuthCaddySite,
  forwardAuthNginxSite,
  startCaddy,
  startNginx,
  type ForwardAuthPorts,
  type RunningProxy,
} from '../support/proxy-process.mjs';
import {
  bash,
  blocksOf,
  commandLines,
  curl,
  ensureCliBuilt,
  mintReadmeServiceToken,
  readme,
  replacePort,
  startReadmeService,
} from '../support/readme-recipes.js';
import { ensureServerBuilt, freePort, repositoryRoot, type ServerProcess } from '../support/server-process.mjs';

const binaries = { nginx: findNginx(), caddy: findCaddy() };
const missingProxies = Object.entries(binaries).filter(([, path]) => !path).map(([name]) => name);
if (missingProxies.length > 0) {
  if (process.env.CI) throw new Error(`${missingProxies.join(' and ')} not installed (.ci/run installs the Debian packages)`);
  process.stderr.write(`\n!!! ${missingProxies.join(' and ')} not found (apt-get install nginx caddy): SKIPPING their README recipes.\n\n`);
}

interface Setup {
  dir: string;
  latchkey: ServerProcess;
  publicUrl: string;
  session: Session;
  accountId: string;
  servicePort: number;
}

let setup: Setup | undefined;
const cleanups: Array<() => Promise<void> | void> = [];

async function runCleanups(): Promise<void> {
  for (const cleanup of cleanups.splice(0)) await Promise.resolve(cleanup()).catch(() => undefined);
}

beforeAll(async () => {
  ensureServerBuilt();
  // The CLI as `npm ci` bundles it (the root `prepare` script), for `npx latchkey`.
  ensureCliBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-readme-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  try {
    // As the README starts it: TRUST_PROXY=127.0.0.1.
    const { latchkey, publicUrl, session, accountId } = await startSignedInLatchkey(dir);
    cleanups.unshift(() => latchkey.stop());
    const servicePort = await freePort();
    const service = await startReadmeService(servicePort);
    cleanups.unshift(() => service.stop());
    setup = { dir, latchkey, publicUrl, session, accountId, servicePort };
  } catch (error) {
    await runCleanups();
    throw error;
  }
}, 120_000);

afterAll(runCleanups, 30_000);

/** A token made as the README says (console › New Token), with the server's default scopes unless told. */
function createToken(name: string, scopes?: string[]): Promise<{ id: string; secret: string }> {
  return createTokenWith(setup!.latchkey.base, setup!.session, setup!.publicUrl, name, scopes ? { scopes } : {});
}

async function revoke(id: string): Promise<void> {
  expect(await revokeToken(setup!.latchkey.base, setup!.session, setup!.publicUrl, id)).toBe(204);
}

it('the README\'s nginx and Caddy configurations are deploy/\'s files, word for word', () => {
  const [nginx] = blocksOf('nginx', ['nginx', 'sh']);
  const [caddy] = blocksOf('Caddy', ['caddyfile', 'sh']);
  expect(nginx!.code).toBe(readFileSync(join(repositoryRoot, 'deploy/nginx/forward-auth.conf'), 'utf8'));
  expect(caddy!.code).toBe(readFileSync(join(repositoryRoot, 'deploy/caddy/Caddyfile'), 'utf8'));
});

const proxies = [
  {
    heading: 'nginx',
    info: 'nginx',
    port: '8000',
    binary: binaries.nginx,
    start: (binary: string, site: string, ports: ForwardAuthPorts) =>
      startNginx({ binary, home: join(setup!.dir, 'nginx'), site: forwardAuthNginxSite('README.md (nginx)', site, ports), port: ports.listen }),
  },
  {
    heading: 'Caddy',
    info: 'caddyfile',
    port: '8001',
    binary: binaries.caddy,
    start: (binary: string, site: string, ports: ForwardAuthPorts) =>
      startCaddy({ binary, home: join(setup!.dir, 'caddy'), site: forwardAuthCaddySite('README.md (Caddy)', site, ports), port: ports.listen }),
  },
];

describe.each(proxies)('the README\'s $heading recipe', ({ heading, info, port, binary, start }) => {
  it('lets a valid token through with the identity, and refuses no token and a revoked one', async (context) => {
    if (!binary) return context.skip(`${heading} is not installed`);
    const [config, tryIt] = blocksOf(heading, [info, 'sh']);
    const listen = await freePort();
    const proxy: RunningProxy = await start(binary, config!.code, { listen, latchkey: setup!.latchkey.port, service: setup!.servicePort });
    cleanups.unshift(() => proxy.stop());
    try {
      const [anonymous, withToken] = commandLines(replacePort(tryIt!.code, `localhost:${port}`, `127.0.0.1:${listen}`, 2));
      expect(withToken).toContain('$MY_TOKEN');
      const token = await createToken(`readme-${heading}`);
      const env = { MY_TOKEN: token.secret };
      const home = setup!.dir;

      const refused = await curl(anonymous!, env, home);
      expect(refused.status, proxy.output()).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm="api"/);

      const passed = await curl(withToken!, env, home);
      expect(passed.status, proxy.output()).toBe(200);
      // The README's service answers with the headers it received.
      const received = JSON.parse(passed.body) as Record<string, string>;
      expect(received['latchkey-account-id']).toBe(setup!.accountId);
      expect(received['latchkey-token-id']).toBe(token.id);
      expect(received['latchkey-token-scopes']).toBeTruthy();
      expect(received.authorization).toBeUndefined();

      await revoke(token.id);
      const revoked = await curl(withToken!, env, home);
      expect(revoked.status).toBe(401);
      expect(revoked.headers.get('www-authenticate')).toContain('error="invalid_token"');
      expect(revoked.body).not.toContain('latchkey-account-id');
    } finally {
      await proxy.stop();
    }
  });
});

describe('the README\'s introspection recipe', () => {
  it('a service account\'s introspect token made with the CLI: active:true, then exactly {"active":false} after the revoke', async () => {
    const [, introspect] = blocksOf('Plain HTTP (introspection)', ['sh', 'sh']);
    const home = setup!.dir;
    // "as an administrator, with a token holding admin:write in LATCHKEY_TOKEN"
    const admin = await createToken('readme-admin', ['admin:write']);
    const { url, serviceToken } = await mintReadmeServiceToken(setup!.latchkey.port, admin.secret, home);
    const latchkeyUrl = `127.0.0.1:${setup!.latchkey.port}`;
    expect(url).toBe(`http://${latchkeyUrl}`);
    expect(serviceToken).toMatch(/^lk_pat_1[0-9A-Za-z]{49}$/);
    // The service token is the service account's, holding introspect only.
    const me = await fetch(`${setup!.latchkey.base}/api/v1/me`, { headers: { authorization: `Bearer ${serviceToken}` } });
    const identity = (await me.json()) as { account: { id: string; name: string | null } };
    expect(identity.account.id).not.toBe(setup!.accountId);

    const token = await createToken('readme-introspected');
    const env = { LATCHKEY_URL: url, SERVICE_TOKEN: serviceToken, MY_TOKEN: token.secret };
    const active = await bash(introspect!.code, env, home);
    expect(active.code, active.stderr).toBe(0);
    const answer = JSON.parse(active.stdout) as Record<string, unknown>;
    expect(answer).toMatchObject({ active: true, sub: setup!.accountId, token_id: token.id });
    // The README shows this answer for a token made with the console's defaults.
    expect(readme).toContain(`{"active":true,"scope":"${String(answer.scope)}",`);

    await revoke(token.id);
    const inactive = await bash(introspect!.code, env, home);
    expect(inactive.code, inactive.stderr).toBe(0);
    expect(inactive.stdout).toBe('{"active":false}');
  });
});
