/**
 * The real `latchkey-server` binary on a throw-away SQLite file, on a port picked up front so
 * PUBLIC_URL is exact; the console is (re)built first when its sources are newer than dist/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSRF_HEADER, SESSION_COOKIE, type CreateTokenResponse, type TokenView } from '@latchkey/contract';
import {
  ensureServerBuilt,
  freePort,
  issueSignInLink,
  repositoryRoot,
  startServer,
  withBuildLock,
} from '../../support/server-process.mjs';

const webDir = join(repositoryRoot, 'packages/web');

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** Builds what the binary serves, if missing or older than its sources (one test file at a time). */
export function ensureBuilt(): void {
  ensureServerBuilt();
  withBuildLock('latchkey-console-build.lock', buildConsoleIfStale);
}

function buildConsoleIfStale(): void {
  const index = join(webDir, 'dist/index.html');
  const sources = [join(webDir, 'src'), join(webDir, 'public'), join(webDir, 'index.html'), join(webDir, 'vite.config.ts'), join(repositoryRoot, 'packages/contract/src')];
  if (!existsSync(index) || Math.max(...sources.map(newestMtime)) > statSync(index).mtimeMs) {
    const vite = join(repositoryRoot, 'node_modules/vite/bin/vite.js');
    // vitest sets NODE_ENV=test, which would give a development build of React.
    const build = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
      cwd: webDir,
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    if (build.status !== 0) throw new Error('building the web console failed');
    const compress = spawnSync(process.execPath, ['scripts/report-bundle-size.mjs'], { cwd: webDir, stdio: 'inherit' });
    if (compress.status !== 0) throw new Error('the console bundle is over its size budget');
  }
}

export interface RunningServer {
  origin: string;
  /** The one-time link the server printed for the first administrator. */
  firstSignInLink: string;
  /** A fresh one-time sign-in link for `email` (the account is created if needed). */
  signInLink(email: string): string;
  /** The server's database (a SQLite file), for what no route does (sign-in-link.ts). */
  databaseUrl: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * The binary on a SQLite file of its own (removed at `stop()`), its PUBLIC_URL its own address;
 * `settings` adds to its environment (TOKEN_MAX_LIFETIME_DAYS …).
 */
export async function startConsoleServer(settings: Record<string, string> = {}): Promise<RunningServer> {
  const directory = mkdtempSync(join(tmpdir(), 'latchkey-browser-'));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env = { ...settings, PUBLIC_URL: origin, DATABASE_URL: `sqlite:${join(directory, 'latchkey.db')}` };
  try {
    const server = await startServer({ name: 'console server', env, port, expectSignInLink: true });
    return {
      origin,
      firstSignInLink: server.signInLink!,
      signInLink: (email) => issueSignInLink(env, email),
      databaseUrl: env.DATABASE_URL,
      output: server.output,
      async stop() {
        await server.stop();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
}

/** Calls the API from the test, as the browser's session (cookie + CSRF token). */
export async function sessionApi(origin: string, sessionId: string) {
  const cookie = `${SESSION_COOKIE}=${sessionId}`;
  const me = (await (await fetch(`${origin}/api/v1/me`, { headers: { cookie } })).json()) as { csrfToken: string };
  const headers = { cookie, [CSRF_HEADER]: me.csrfToken, origin, 'content-type': 'application/json' };
  return {
    async createToken(name: string, extra: Record<string, unknown> = {}): Promise<CreateTokenResponse> {
      const response = await fetch(`${origin}/api/v1/tokens`, { method: 'POST', headers, body: JSON.stringify({ name, ...extra }) });
      if (response.status !== 201) throw new Error(`creating token ${JSON.stringify(name)}: ${response.status} ${await response.text()}`);
      return (await response.json()) as CreateTokenResponse;
    },
    async revokeToken(id: string): Promise<void> {
      // No body, so no content-type (an empty JSON body is refused).
      const response = await fetch(`${origin}/api/v1/tokens/${id}`, {
        method: 'DELETE',
        headers: { cookie, [CSRF_HEADER]: me.csrfToken, origin },
      });
      if (response.status !== 204) throw new Error(`revoking token ${id}: ${response.status} ${await response.text()}`);
    },
    async getToken(id: string): Promise<TokenView> {
      const response = await fetch(`${origin}/api/v1/tokens/${id}`, { headers: { cookie } });
      if (response.status !== 200) throw new Error(`reading token ${id}: ${response.status} ${await response.text()}`);
      return (await response.json()) as TokenView;
    },
  };
}
