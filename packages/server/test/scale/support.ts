/**
 * Shared by the scale tests: moves on real `latchkey-server` processes (started with
 * test/support/server-process.mjs) on one throw-away PostgreSQL database, signed in through the
 * built-in sign-in link, driven over HTTP on 127.0.0.1.
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import type { MeResponse } from '@latchkey/contract';
import { freePort, issueSignInLink, startServer, type ServerProcess } from '../support/server-process.mjs';

/** A fresh sign-in path for the first administrator (or `email`), from `latchkey-server signin-link`. */
export function issueSignInPath(env: Record<string, string>, email?: string): string {
  return new URL(issueSignInLink(env, email)).pathname;
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

/** POST /api/v1/tokens from the console session; `fields` adds to the body (scopes, namespaces …). */
export async function createToken(
  base: string,
  session: Session,
  publicUrl: string,
  name: string,
  fields: Record<string, unknown> = {},
): Promise<{ id: string; secret: string; expiresAt: string }> {
  const response = await fetch(`${base}/api/v1/tokens`, {
    method: 'POST',
    headers: { ...consoleHeaders(session, publicUrl), 'content-type': 'application/json' },
    body: JSON.stringify({ ...fields, name }),
  });
  if (response.status !== 201) throw new Error(`create token answered ${response.status}: ${await response.text()}`);
  const body = (await response.json()) as { token: { id: string; expiresAt: string }; secret: string };
  return { id: body.token.id, secret: body.secret, expiresAt: body.token.expiresAt };
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

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The built server on a SQLite database in `dir`, trusting the proxies on 127.0.0.1 to tell it the
 * client's address (as the forward-auth recipes want), with a console session of the first
 * administrator (`adminEmail`, if given) and that account's id. The caller stops `latchkey`.
 */
export async function startSignedInLatchkey(
  dir: string,
  adminEmail?: string,
): Promise<{ latchkey: ServerProcess; publicUrl: string; session: Session; accountId: string }> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const env = { DATABASE_URL: `sqlite:${join(dir, 'latchkey.db')}`, PUBLIC_URL: publicUrl, TRUST_PROXY: '127.0.0.1' };
  const latchkey = await startServer({ name: 'latchkey', env, port });
  try {
    const session = await signIn(latchkey.base, issueSignInPath(env, adminEmail));
    const me = await fetch(`${latchkey.base}/api/v1/me`, { headers: { cookie: session.cookie } });
    const { account } = (await me.json()) as MeResponse;
    return { latchkey, publicUrl, session, accountId: account.id };
  } catch (error) {
    await latchkey.stop();
    throw error;
  }
}
