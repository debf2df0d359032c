/**
 * Shared by the fault tests: plain HTTP calls that report a connection error instead of throwing,
 * the exact R-INVALID (401) / R-UNAVAIL (503) shapes of docs/security.md, error contract, a scan of
 * files for token-shaped bytes, SQLite integrity checks, and tmpfs mounts. Server processes come
 * from test/support/server-process.mjs (the built binary).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenScannerRegExp } from '@latchkey/contract';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, expect } from 'vitest';
import { ensureServerBuilt, type ServerProcess } from '../support/server-process.mjs';
import { consoleHeaders, type Session } from '../scale/support.js';

export const PUBLIC_URL = 'http://latchkey.localhost';
export const LONG = process.env.LATCHKEY_LONG === '1';
export const ROOT_REQUIRED = process.env.LATCHKEY_REQUIRE_ROOT === '1';

export const INVALID_TOKEN_CHALLENGE =
  'Bearer realm="api", error="invalid_token", error_description="The access token is invalid"';

/**
 * For a suite that runs the built server from a temporary directory: the directory is made
 * (and the server built) before the suite; after it, every server pushed to `started` is
 * stopped and the directory removed.
 */
export function serversInTempDir(label: string): { readonly dir: string; readonly started: ServerProcess[] } {
  const suite = { dir: '', started: [] as ServerProcess[] };
  beforeAll(() => {
    ensureServerBuilt();
    suite.dir = makeTempDir(label);
  }, 120_000);
  afterAll(async () => {
    await Promise.all(suite.started.map((instance) => instance.stop()));
    rmSync(suite.dir, { recursive: true, force: true });
  }, 30_000);
  return suite;
}

export function makeTempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `latchkey-${label}-`));
}

/** An answer, or the connection error that took its place (the server died, refused, reset). */
export type Outcome =
  | { kind: 'answer'; status: number; headers: Headers; body: string }
  | { kind: 'no-answer'; error: string };

/** fetch() that never throws: a request the server never answered is a `no-answer`. */
export async function send(url: string, init: RequestInit = {}, timeoutMs = 10_000): Promise<Outcome> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return { kind: 'answer', status: response.status, headers: response.headers, body };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return { kind: 'no-answer', error: cause?.code ?? cause?.message ?? (error as Error).message };
  }
}

let forwardedCounter = 0;
/**
 * A fresh client address for each bearer request (the servers trust 127.0.0.1 as their proxy),
 * so the failure limiter, which rightly bans an address after 30 refused tokens, never sees
 * the many deliberate R-INVALID probes of one test as one client.
 */
export function freshClientAddress(): string {
  const n = ++forwardedCounter + Math.floor(Math.random() * 1_000_000) * 1_000;
  return `10.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** GET /api/v1/me with `secret` as bearer, from a fresh client address. */
export function useSecret(base: string, secret: string): Promise<Outcome> {
  return send(`${base}/api/v1/me`, {
    headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': freshClientAddress() },
  });
}

export function createTokenRequest(base: string, session: Session, name: string): Promise<Outcome> {
  return send(`${base}/api/v1/tokens`, {
    method: 'POST',
    headers: { ...consoleHeaders(session, PUBLIC_URL), 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
}

export function revokeByIdRequest(base: string, session: Session, id: string): Promise<Outcome> {
  return send(`${base}/api/v1/tokens/${id}`, { method: 'DELETE', headers: consoleHeaders(session, PUBLIC_URL) });
}

export function revokeSelfRequest(base: string, secret: string): Promise<Outcome> {
  return send(`${base}/api/v1/tokens/self`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': freshClientAddress() },
  });
}

export function describeOutcome(outcome: Outcome): string {
  return outcome.kind === 'answer' ? `${outcome.status} ${outcome.body.slice(0, 200)}` : `no answer (${outcome.error})`;
}

/** R-INVALID exactly: 401, the invalid_token challenge, `{P}/invalid-token`. */
export function isInvalidToken(outcome: Outcome): boolean {
  return (
    outcome.kind === 'answer' &&
    outcome.status === 401 &&
    outcome.headers.get('www-authenticate') === INVALID_TOKEN_CHALLENGE &&
    (JSON.parse(outcome.body) as { type?: string }).type === '/docs/errors/invalid-token'
  );
}

export function expectInvalidToken(outcome: Outcome, what: string): void {
  expect(isInvalidToken(outcome), `${what}: expected R-INVALID, got ${describeOutcome(outcome)}`).toBe(true);
}

/** R-UNAVAIL exactly: 503, an integer Retry-After, `{P}/unavailable`, problem+json. */
export function isUnavailable(outcome: Outcome): boolean {
  return (
    outcome.kind === 'answer' &&
    outcome.status === 503 &&
    /^\d+$/.test(outcome.headers.get('retry-after') ?? '') &&
    (outcome.headers.get('content-type') ?? '').startsWith('application/problem+json') &&
    (JSON.parse(outcome.body) as { type?: string }).type === '/docs/errors/unavailable'
  );
}

export function expectUnavailable(outcome: Outcome, what: string): void {
  expect(isUnavailable(outcome), `${what}: expected R-UNAVAIL, got ${describeOutcome(outcome)}`).toBe(true);
}

/**
 * Token-shaped matches in the raw bytes of the SQLite files (`grep -a` with the published
 * scanner regex): the database, its WAL and its shared-memory index.
 */
export function tokenMatchesInSqliteFiles(databasePath: string): { file: string; matches: number }[] {
  return ['', '-wal', '-shm'].map((suffix) => {
    const file = `${databasePath}${suffix}`;
    const text = existsSync(file) ? readFileSync(file).toString('latin1') : '';
    return { file: file.slice(databasePath.length - 'latchkey.db'.length), matches: text.match(tokenScannerRegExp())?.length ?? 0 };
  });
}

/** `PRAGMA integrity_check` and `foreign_key_check`, through a connection of our own. */
export function sqliteIntegrity(databasePath: string): { integrity: string[]; foreignKeyViolations: unknown[] } {
  const database = new SQLite(databasePath, { timeout: 5_000 });
  try {
    return {
      integrity: (database.pragma('integrity_check') as { integrity_check: string }[]).map((row) => row.integrity_check),
      foreignKeyViolations: database.pragma('foreign_key_check') as unknown[],
    };
  } finally {
    database.close();
  }
}

/** Mounts a tmpfs of `size` (e.g. "4m") on `dir`; false when this process may not mount. */
export function mountTmpfs(dir: string, size: string): { mounted: boolean; error: string } {
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  return { mounted: result.status === 0, error: `${result.stderr ?? ''}${result.error?.message ?? ''}`.trim() };
}

export function unmount(dir: string): void {
  // Lazy, so a server that is somehow still running cannot keep the mount alive after the test.
  spawnSync('umount', ['-l', dir], { encoding: 'utf8' });
}

export function isMountPoint(dir: string): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === dir);
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
