/**
 * The real `latchkey-server` binary on a throw-away SQLite file, on a port picked up front so
 * PUBLIC_URL is exact; the console is (re)built first when its sources are newer than dist/.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CSRF_HEADER, SESSION_COOKIE, type CreateTokenResponse } from '@latchkey/contract';

const root = fileURLToPath(new URL('../../../../../', import.meta.url));
const binary = join(root, 'packages/server/dist/main.js');
const webDir = join(root, 'packages/web');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((entry) => newestMtime(join(path, entry))));
}

/** Builds what the binary serves, if missing or older than its sources (one test file at a time). */
export function ensureBuilt(): void {
  const lock = join(tmpdir(), 'latchkey-console-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock left by a killed run is stale after two minutes (a build takes seconds).
      if (Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 120_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`${lock} held for 2 minutes: remove it if no build is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    buildIfStale();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function buildIfStale(): void {
  if (!existsSync(binary)) {
    const build = spawnSync('npx', ['tsc', '-b', 'packages/contract', 'packages/server'], { cwd: root, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('building the server failed');
  }
  const index = join(webDir, 'dist/index.html');
  const sources = [join(webDir, 'src'), join(webDir, 'index.html'), join(webDir, 'vite.config.ts'), join(root, 'packages/contract/src')];
  if (!existsSync(index) || Math.max(...sources.map(newestMtime)) > statSync(index).mtimeMs) {
    const vite = join(root, 'node_modules/vite/bin/vite.js');
    // vitest sets NODE_ENV=test, which would give a development build of React.
    const build = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
      cwd: webDir,
      stdio: 'inherit',
      env: { ...process.env, NODE_ENV: 'production' },
    });
    if (build.status !== 0) throw new Error('building the web console failed');
    const compress = spawnSync(process.execPath, ['scripts/report-bundle-size.mjs'], { cwd: webDir, stdio: 'inherit' });
    if (compress.status !== 0) throw new Error('the console bundle is over PERFORMANCE.md P7');
  }
}

export interface RunningServer {
  origin: string;
  /** The one-time link the server printed for the first administrator. */
  firstSignInLink: string;
  /** A fresh one-time sign-in link for `email` (the account is created if needed). */
  signInLink(email: string): string;
  output(): string;
  stop(): Promise<void>;
}

export async function startServer(): Promise<RunningServer> {
  const directory = mkdtempSync(join(tmpdir(), 'latchkey-browser-'));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH ?? '',
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: origin,
    DATABASE_URL: `sqlite:${join(directory, 'latchkey.db')}`,
    LOG_LEVEL: 'warn',
  };
  const child: ChildProcess = spawn(process.execPath, [binary], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const link = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /^Sign-in link: (\S+)$/m.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`server exited:\n${output}`)));
  });
  // The link is printed before listening starts: wait until it answers.
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(`${origin}/healthz`)).ok) break;
    } catch {
      if (attempt > 100) throw new Error(`server never answered:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    origin,
    firstSignInLink: link,
    signInLink(email) {
      const result = spawnSync(process.execPath, [binary, 'signin-link', '--email', email], { env, encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`signin-link failed: ${result.stderr}`);
      return result.stdout.trim();
    },
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(directory, { recursive: true, force: true });
    },
  };
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
  };
}
