/**
 * A real `latchkey-server` process (the built binary, through the server's one test helper) on
 * SQLite or on a throw-away PostgreSQL database, for @latchkey/verify's tests: signed in as the
 * first administrator, with tokens created and revoked over HTTP, and a restart on the same port
 * and database.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { createTestPostgresDatabase, postgresAvailable } from '../../server/test/support/databases.js';
import { consoleHeaders, issueSignInPath, revokeToken, signIn, type Session } from '../../server/test/scale/support.js';
import { ensureServerBuilt, freePort, repositoryRoot, startServer, withBuildLock, type ServerProcess } from '../../server/test/support/server-process.mjs';

export type Backend = 'sqlite' | 'postgres';

export interface CreatedToken {
  id: string;
  secret: string;
}

export interface Latchkey {
  readonly base: string;
  readonly server: ServerProcess;
  createToken(body: Record<string, unknown>): Promise<CreatedToken>;
  /** Another account (created by signing it in), and a way to make its tokens. */
  signInAs(email: string): Promise<{ accountId: string; createToken(body: Record<string, unknown>): Promise<CreatedToken> }>;
  /** POST /api/v1/admin/accounts/:id/disable as the administrator; the status (204). */
  disableAccount(id: string): Promise<number>;
  /** POST /api/v1/tokens/:id/rotate: the replacement; the old token works for `graceSeconds` more. */
  rotate(id: string, graceSeconds: number): Promise<CreatedToken>;
  /** DELETE /api/v1/tokens/:id through the API; the status (204). */
  revoke(id: string): Promise<number>;
  /** Revokes a token in the database itself, as another instance would (the triggers write its event). */
  revokeInDatabase(id: string): Promise<void>;
  stop(): Promise<void>;
  /** Starts the server again on the same port and database. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Builds @latchkey/verify (tsc -b: incremental, quick when nothing changed), for tests that run
 * it as a package in another process. Parallel workers share one build through a lock.
 */
export function buildVerify(): void {
  ensureServerBuilt();
  withBuildLock('latchkey-verify-build.lock', () => {
    const build = spawnSync('npx', ['tsc', '-b', 'packages/verify'], { cwd: repositoryRoot, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('building @latchkey/verify (tsc -b packages/verify) failed');
  });
}

/** Whether the backend can run here; PostgreSQL is skipped (loudly, by the caller) without a server. */
export async function backendAvailable(backend: Backend): Promise<boolean> {
  return backend === 'sqlite' || (await postgresAvailable());
}

export async function startLatchkey(backend: Backend): Promise<Latchkey> {
  ensureServerBuilt();
  const cleanups: Array<() => Promise<void> | void> = [];
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-verify-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  let databaseUrl: string;
  if (backend === 'postgres') {
    const database = await createTestPostgresDatabase();
    cleanups.unshift(() => database.drop());
    databaseUrl = database.url;
  } else {
    databaseUrl = `sqlite:${join(dir, 'latchkey.db')}`;
  }
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  // Revoked tokens still count toward nothing, but item 56 makes a thousand live ones in a row.
  const env = { DATABASE_URL: databaseUrl, PUBLIC_URL: publicUrl, TOKEN_MAX_PER_ACCOUNT: '100000' };
  let server = await startServer({ name: `latchkey (${backend})`, env, port });
  let session: Session;
  try {
    session = await signIn(server.base, issueSignInPath(env));
  } catch (error) {
    await server.stop();
    for (const cleanup of cleanups) await cleanup();
    throw error;
  }
  const base = server.base;
  const createToken = async (as: Session, body: Record<string, unknown>): Promise<CreatedToken> => {
    const response = await fetch(`${base}/api/v1/tokens`, {
      method: 'POST',
      headers: { ...consoleHeaders(as, publicUrl), 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.status !== 201) throw new Error(`create token answered ${response.status}: ${await response.text()}`);
    const created = (await response.json()) as { token: { id: string }; secret: string };
    return { id: created.token.id, secret: created.secret };
  };
  return {
    base,
    get server() {
      return server;
    },
    createToken: (body) => createToken(session, body),
    async signInAs(email) {
      const theirs = await signIn(base, issueSignInPath(env, email));
      const me = (await (await fetch(`${base}/api/v1/me`, { headers: { cookie: theirs.cookie } })).json()) as { account: { id: string } };
      return { accountId: me.account.id, createToken: (body) => createToken(theirs, body) };
    },
    async disableAccount(id) {
      const response = await fetch(`${base}/api/v1/admin/accounts/${id}/disable`, { method: 'POST', headers: consoleHeaders(session, publicUrl) });
      await response.arrayBuffer();
      return response.status;
    },
    async rotate(id, graceSeconds) {
      const response = await fetch(`${base}/api/v1/tokens/${id}/rotate`, {
        method: 'POST',
        headers: { ...consoleHeaders(session, publicUrl), 'content-type': 'application/json' },
        body: JSON.stringify({ graceSeconds }),
      });
      if (response.status !== 201) throw new Error(`rotate answered ${response.status}: ${await response.text()}`);
      const created = (await response.json()) as { token: { id: string }; secret: string };
      return { id: created.token.id, secret: created.secret };
    },
    revoke: (id) => revokeToken(base, session, publicUrl, id),
    async revokeInDatabase(id) {
      const now = Date.now();
      if (backend === 'sqlite') {
        const database = new SQLite(databaseUrl.slice('sqlite:'.length), { timeout: 5_000 });
        try {
          database.prepare('update tokens set revoked_at = ? where id = ?').run(now, id);
        } finally {
          database.close();
        }
      } else {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          await client.query('update tokens set revoked_at = $1 where id = $2', [now, id]);
        } finally {
          await client.end();
        }
      }
    },
    stop: () => server.stop().then(() => undefined),
    async start() {
      server = await startServer({ name: `latchkey (${backend}, restarted)`, env, port });
    },
    async close() {
      await server.stop();
      for (const cleanup of cleanups) await cleanup();
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs` (generous: busy machines). */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
