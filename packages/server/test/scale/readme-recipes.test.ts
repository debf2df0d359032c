/**
 * The README's "Protect a service with Latchkey tokens" recipes, run as a reader would run them
 * (issue 16: "each a copy-paste recipe the tests run"). Everything comes out of README.md's
 * fenced blocks under that section's headings; the only change made to them is the port numbers
 * (Latchkey 8080, the service 9000, nginx 8000, Caddy 8001), replaced by free loopback ports.
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
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken as createTokenWith, revokeToken, sleep, startSignedInLatchkey, type Session } from './support.js';
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
import { ensureServerBuilt, freePort, killOnExit, repositoryRoot, withBuildLock, type ServerProcess } from '../support/server-process.mjs';

const SECTION = 'Protect a service with Latchkey tokens';

interface Block {
  info: string;
  code: string;
}

/**
 * The fenced blocks of README.md under each heading of `section` (its own text before the first
 * subsection under the section's name), in order.
 */
function recipeBlocks(readme: string, section: string): Map<string, Block[]> {
  const blocks = new Map<string, Block[]>();
  let inSection = false;
  let heading = '';
  // Fences outside the section are followed too, so that their lines are never taken for headings.
  let fence: Block | undefined;
  for (const line of readme.split('\n')) {
    if (fence) {
      if (line === '```') {
        if (inSection) blocks.get(heading)!.push(fence);
        fence = undefined;
      } else {
        fence.code += `${line}\n`;
      }
      continue;
    }
    const title = /^(##|###) (.*)$/.exec(line);
    if (title) {
      if (title[1] === '##') inSection = title[2] === section;
      heading = title[2]!;
      if (inSection && !blocks.has(heading)) blocks.set(heading, []);
      continue;
    }
    const open = /^```(\S*)$/.exec(line);
    if (open) fence = { info: open[1]!, code: '' };
  }
  return blocks;
}

const readme = readFileSync(join(repositoryRoot, 'README.md'), 'utf8');
const recipes = recipeBlocks(readme, SECTION);

/** The blocks under `heading`, checked against the info strings the recipe is written with. */
function blocksOf(heading: string, infos: string[]): Block[] {
  const found = recipes.get(heading);
  if (!found) throw new Error(`README.md has no "${heading}" heading in "## ${SECTION}"`);
  expect(found.map((block) => block.info), `the fenced blocks under "${heading}"`).toEqual(infos);
  return found;
}

/** `text` with every `from` replaced by `to`; `from` must occur at least `atLeast` times. */
function replacePort(text: string, from: string, to: string, atLeast = 1): string {
  const count = text.split(from).length - 1;
  if (count < atLeast) throw new Error(`expected ${from} at least ${atLeast} times in:\n${text}`);
  return text.split(from).join(to);
}

/** The commands of a shell block: its lines without comments-only or blank lines. */
function commandLines(code: string): string[] {
  return code.split('\n').filter((line) => line.trim() !== '' && !line.trim().startsWith('#'));
}

interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** What the script wrote to file descriptor 3 (the harness's channel for variables it set). */
  fd3: string;
}

/**
 * Runs `script` with bash in the repository (as the README's reader would, after `npm ci`),
 * with nothing of this process's environment but PATH, plus `env`.
 */
function bash(script: string, env: Record<string, string>, home: string): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd: repositoryRoot,
      env: { PATH: process.env.PATH ?? '', HOME: home, LATCHKEY_HOME: join(home, '.latchkey'), ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    });
    const output = { stdout: '', stderr: '', fd3: '' };
    child.stdout!.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (chunk: Buffer) => (output.fd3 += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ...output });
    });
  });
}

/** A `curl -i` answer: status, headers (lower-case names) and body. */
function parseCurlInclude(stdout: string): { status: number; headers: Map<string, string>; body: string } {
  const split = stdout.indexOf('\r\n\r\n');
  const head = split >= 0 ? stdout.slice(0, split) : stdout;
  const [statusLine, ...headerLines] = head.split('\r\n');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine ?? '')?.[1] ?? Number.NaN);
  const headers = new Map(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  return { status, headers, body: split >= 0 ? stdout.slice(split + 4) : '' };
}

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

/** Starts the README's demo service (its `node -e … &` block) on `port`; resolves once it answers. */
async function startReadmeService(port: number): Promise<void> {
  const [block] = blocksOf(SECTION, ['sh']);
  const script = replacePort(block!.code, '.listen(9000,', `.listen(${port},`);
  // The block backgrounds the service; `wait` keeps bash as its parent, and the whole process
  // group goes at the end.
  const child = killOnExit(spawn('bash', ['-c', `${script}\nwait`], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] }));
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
  cleanups.unshift(() => {
    if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  });
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`the README's service exited with ${child.exitCode}: ${errors}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      return;
    } catch {
      if (attempt > 300) throw new Error(`the README's service did not answer on port ${port}: ${errors}`);
      await sleep(100);
    }
  }
}

beforeAll(async () => {
  ensureServerBuilt();
  // The CLI as `npm ci` bundles it (the root `prepare` script), for `npx latchkey`.
  if (!existsSync(join(repositoryRoot, 'packages/cli/dist/latchkey.cjs'))) {
    withBuildLock('latchkey-cli-build.lock', () => {
      if (existsSync(join(repositoryRoot, 'packages/cli/dist/latchkey.cjs'))) return;
      const build = spawnSync(process.execPath, ['packages/cli/scripts/build.mjs'], { cwd: repositoryRoot, stdio: 'inherit' });
      if (build.status !== 0) throw new Error('bundling the CLI (packages/cli/scripts/build.mjs) failed');
    });
  }
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-readme-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  try {
    // As the README starts it: TRUST_PROXY=127.0.0.1.
    const { latchkey, publicUrl, session, accountId } = await startSignedInLatchkey(dir);
    cleanups.unshift(() => latchkey.stop());
    const servicePort = await freePort();
    await startReadmeService(servicePort);
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

      const refused = parseCurlInclude((await bash(anonymous!, env, home)).stdout);
      expect(refused.status, proxy.output()).toBe(401);
      expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer realm="api"/);

      const passed = parseCurlInclude((await bash(withToken!, env, home)).stdout);
      expect(passed.status, proxy.output()).toBe(200);
      // The README's service answers with the headers it received.
      const received = JSON.parse(passed.body) as Record<string, string>;
      expect(received['latchkey-account-id']).toBe(setup!.accountId);
      expect(received['latchkey-token-id']).toBe(token.id);
      expect(received['latchkey-token-scopes']).toBeTruthy();
      expect(received.authorization).toBeUndefined();

      await revoke(token.id);
      const revoked = parseCurlInclude((await bash(withToken!, env, home)).stdout);
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
    const [makeServiceToken, introspect] = blocksOf('Plain HTTP (introspection)', ['sh', 'sh']);
    const home = setup!.dir;
    // "as an administrator, with a token holding admin:write in LATCHKEY_TOKEN"
    const admin = await createToken('readme-admin', ['admin:write']);
    const latchkeyUrl = `127.0.0.1:${setup!.latchkey.port}`;
    const made = await bash(
      // The harness reads back the two variables the block sets, on file descriptor 3.
      `${replacePort(makeServiceToken!.code, 'localhost:8080', latchkeyUrl)}\nprintf '%s\\n%s' "$LATCHKEY_URL" "$SERVICE_TOKEN" >&3`,
      { LATCHKEY_TOKEN: admin.secret },
      home,
    );
    expect(made.code, made.stderr).toBe(0);
    const [url, serviceToken] = made.fd3.split('\n');
    expect(url).toBe(`http://${latchkeyUrl}`);
    expect(serviceToken).toMatch(/^lk_pat_1[0-9A-Za-z]{49}$/);
    // The service token is the service account's, holding introspect only.
    const me = await fetch(`${setup!.latchkey.base}/api/v1/me`, { headers: { authorization: `Bearer ${serviceToken}` } });
    const identity = (await me.json()) as { account: { id: string; name: string | null } };
    expect(identity.account.id).not.toBe(setup!.accountId);

    const token = await createToken('readme-introspected');
    const env = { LATCHKEY_URL: url!, SERVICE_TOKEN: serviceToken!, MY_TOKEN: token.secret };
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
