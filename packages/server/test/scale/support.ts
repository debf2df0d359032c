/**
 * Shared by the scale tests: real `latchkey-server` processes (the build output) on one
 * throw-away PostgreSQL database, signed in through the built-in sign-in link, driven over HTTP.
 *
 * Everything listens on 127.0.0.1 only. Every process started here is killed by `stop()`, and —
 * should a test worker die before its hooks run — by an exit hook as well.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MeResponse } from '@latchkey/contract';

export const root = fileURLToPath(new URL('../../../../', import.meta.url));
export const binary = join(root, 'packages/server/dist/main.js');
export const REDIS_URL = process.env.LATCHKEY_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

const OUTPUT_TAIL_CHARS = 64 * 1024;
const live = new Map<ChildProcess, NodeJS.Signals>();
process.on('exit', () => {
  for (const [child, signal] of live) child.kill(signal);
});

/**
 * Tracks a child process so that nothing outlives the test worker: should the worker exit
 * before the test's own clean-up ran, the child gets `signal` (SIGKILL unless told otherwise).
 */
export function track(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): ChildProcess {
  live.set(child, signal);
  child.on('exit', () => live.delete(child));
  return child;
}

/** Builds the server once if the build output is missing (a fresh clone). */
export function ensureBuilt(): void {
  if (existsSync(binary)) return;
  const build = spawnSync('npx', ['tsc', '-b', 'packages/contract', 'packages/server'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('build failed');
}

export interface Instance {
  readonly name: string;
  readonly port: number;
  readonly base: string;
  readonly child: ChildProcess;
  /** stdout + stderr so far (the last 64 KiB once the server is up). */
  output(): string;
  /** The one-time first-administrator sign-in path printed at start, if any. */
  readonly signInPath: string | undefined;
  stop(): Promise<void>;
}

/** Starts `node packages/server/dist/main.js` on a free 127.0.0.1 port; resolves once it listens. */
export function startInstance(name: string, env: Record<string, string>): Promise<Instance> {
  const child = track(
    spawn(process.execPath, [binary], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  let output = '';
  let up = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name} did not start:\n${output}`));
    }, 20_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (up) {
        if (output.length > 2 * OUTPUT_TAIL_CHARS) output = output.slice(-OUTPUT_TAIL_CHARS);
        return;
      }
      const match = /"port":(\d+)[^\n]*latchkey-server listening/.exec(output);
      if (!match) return;
      up = true;
      clearTimeout(timer);
      const port = Number(match[1]);
      const link = /^Sign-in link: \S+(\/auth\/link\/\S+)$/m.exec(output);
      resolve({
        name,
        port,
        base: `http://127.0.0.1:${port}`,
        child,
        output: () => output,
        signInPath: link?.[1],
        stop,
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      if (!up) reject(new Error(`${name} exited before listening (code ${child.exitCode}):\n${output}`));
    });
  });
}

/** A fresh sign-in path for the first administrator, from `latchkey-server signin-link`. */
export function issueSignInPath(env: Record<string, string>, email?: string): string {
  const cli = spawnSync(process.execPath, [binary, 'signin-link', ...(email ? ['--email', email] : [])], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (cli.status !== 0) throw new Error(`signin-link failed (${cli.status}): ${cli.stderr}`);
  return new URL(cli.stdout.trim()).pathname;
}

export interface Session {
  cookie: string;
  csrfToken: string;
}

/** Redeems a sign-in link on `base`: the 303's session cookie plus the session's CSRF token. */
export async function signIn(base: string, linkPath: string): Promise<Session> {
  const response = await fetch(`${base}${linkPath}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
  });
  if (response.status !== 303) throw new Error(`sign-in answered ${response.status}: ${await response.text()}`);
  const setCookie = response.headers.getSetCookie().find((line) => line.startsWith('__Host-latchkey_session='));
  if (!setCookie) throw new Error('sign-in set no session cookie');
  const cookie = setCookie.split(';')[0]!;
  const me = await fetch(`${base}/api/v1/me`, { headers: { cookie } });
  if (me.status !== 200) throw new Error(`GET /api/v1/me with the new session answered ${me.status}`);
  const body = (await me.json()) as MeResponse;
  if (!body.csrfToken) throw new Error('GET /api/v1/me returned no csrfToken');
  return { cookie, csrfToken: body.csrfToken };
}

/** The headers of a cookie-authenticated mutation. */
export function consoleHeaders(session: Session, publicUrl: string): Record<string, string> {
  return { cookie: session.cookie, 'x-csrf-token': session.csrfToken, origin: publicUrl };
}

export async function createToken(
  base: string,
  session: Session,
  publicUrl: string,
  name: string,
): Promise<{ id: string; secret: string }> {
  const response = await fetch(`${base}/api/v1/tokens`, {
    method: 'POST',
    headers: { ...consoleHeaders(session, publicUrl), 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (response.status !== 201) throw new Error(`create token answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { token: { id: string }; secret: string };
  return { id: body.token.id, secret: body.secret };
}

/** DELETE /api/v1/tokens/:id; returns the status (204 expected). */
export async function revokeToken(base: string, session: Session, publicUrl: string, id: string): Promise<number> {
  const response = await fetch(`${base}/api/v1/tokens/${id}`, { method: 'DELETE', headers: consoleHeaders(session, publicUrl) });
  await response.arrayBuffer();
  return response.status;
}

/** GET /api/v1/me with a bearer token; returns the status (the body is drained). */
export async function useToken(
  base: string,
  secret: string,
  extraHeaders: Record<string, string> = {},
  path = '/api/v1/me',
): Promise<number> {
  const response = await fetch(`${base}${path}`, {
    headers: { authorization: `Bearer ${secret}`, ...extraHeaders },
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response.status;
}

/**
 * A random address from the documentation ranges (RFC 5737 TEST-NET-1/2/3), fresh per call, so
 * failure counters kept in a shared Redis never collide between test runs.
 */
export function randomTestNetAddress(): string {
  const nets = ['192.0.2', '198.51.100', '203.0.113'];
  return `${nets[randomInt(nets.length)]}.${randomInt(1, 255)}`;
}

/** Whether Redis answers PING (a raw RESP round trip, 2 s budget). */
export function redisAnswers(url: string = REDIS_URL): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
