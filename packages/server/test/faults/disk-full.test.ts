/**
 * docs/security.md, item 17: disk full, SQLite on a small tmpfs of its own, against the built
 * binary. (The item's alternative, a `chmod 0444` database, stops no root process; and a mount with
 * files open for writing cannot be remounted read-only, so the full disk is the case tested.)
 *
 * Nothing lost means: create → R-UNAVAIL (503 + Retry-After), and no partial row once space
 * returns; existing tokens still authenticate; the process stays up; writes succeed again,
 * without a restart, once space is freed.
 *
 * Mounting needs root: without it the test is skipped with a loud line, unless
 * LATCHKEY_REQUIRE_ROOT=1, which makes it fail instead.
 */
import { closeSync, openSync, rmSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueSignInPath, signIn, type Session } from '../scale/support.js';
import { ensureServerBuilt, startServer, type ServerProcess } from '../support/server-process.mjs';
import { readyOrSkip, type Skippable } from '../support/servers-on-postgres.js';
import {
  PUBLIC_URL,
  ROOT_REQUIRED,
  createTokenRequest,
  describeOutcome,
  expectInvalidToken,
  expectUnavailable,
  isMountPoint,
  makeTempDir,
  mountTmpfs,
  revokeByIdRequest,
  send,
  sqliteIntegrity,
  unmount,
  useSecret,
  type Outcome,
} from './support.js';

const TMPFS_SIZE = '8m';
/** Creates tried on a full disk; SQLite may first reuse WAL pages it already has. */
const CREATE_ATTEMPTS = 60;

let dir: string | undefined;
let mounted = false;
let skipReason: string | undefined;
let server: ServerProcess | undefined;
let session: Session;
let dbPath: string;
const existing: { id: string; secret: string }[] = [];

beforeAll(async () => {
  ensureServerBuilt();
  dir = makeTempDir('disk-full');
  const mount = mountTmpfs(dir, TMPFS_SIZE);
  if (!mount.mounted) {
    if (ROOT_REQUIRED) throw new Error(`LATCHKEY_REQUIRE_ROOT=1 but mounting a tmpfs failed: ${mount.error}`);
    process.stderr.write(`\n!!! cannot mount a tmpfs (${mount.error}): SKIPPING the disk-full tests (docs/security.md, item 17).\n\n`);
    skipReason = 'cannot mount a tmpfs (needs root)';
    return;
  }
  mounted = true;
  dbPath = join(dir, 'latchkey.db');
  const env = { DATABASE_URL: `sqlite:${dbPath}`, PUBLIC_URL, TRUST_PROXY: '127.0.0.1' };
  server = await startServer({ name: 'disk-full', env });
  session = await signIn(server.base, server.signInPath ?? issueSignInPath(env));
  for (let index = 0; index < 3; index++) {
    const created = await createTokenRequest(server.base, session, `existing-${index}`);
    expect(created.kind === 'answer' && created.status, describeOutcome(created)).toBe(201);
    const body = JSON.parse((created as { body: string }).body) as { token: { id: string }; secret: string };
    existing.push({ id: body.token.id, secret: body.secret });
  }
}, 60_000);

afterAll(async () => {
  // The server first (it holds files on the mount), then the mount, then the directory.
  await server?.stop();
  if (dir && (mounted || isMountPoint(dir))) unmount(dir);
  if (dir && !isMountPoint(dir)) rmSync(dir, { recursive: true, force: true });
}, 30_000);

const ready = (context: Skippable): ServerProcess => readyOrSkip(context, server, skipReason ?? 'the server did not start');

/** Writes a filler file until the tmpfs has not one free block left; returns its path. */
function fillDisk(): string {
  const filler = join(dir!, `filler-${Date.now()}`);
  const fd = openSync(filler, 'w');
  try {
    for (const chunk of [Buffer.alloc(1 << 20, 1), Buffer.alloc(4096, 1), Buffer.alloc(512, 1)]) {
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw error;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  expect(statfsSync(dir!).bavail).toBe(0);
  return filler;
}

/** Tries creates until the database refuses one; every answer must be 201 or R-UNAVAIL. */
async function createUntilRefused(base: string, label: string): Promise<{ refused: string[]; acceptedFirst: number }> {
  const refused: string[] = [];
  let acceptedFirst = 0;
  for (let attempt = 0; attempt < CREATE_ATTEMPTS; attempt++) {
    const name = `${label}-${attempt}`;
    const outcome = await createTokenRequest(base, session, name);
    if (outcome.kind === 'answer' && outcome.status === 201) {
      expect(refused, `a create succeeded on a full disk after one was refused (${name})`).toEqual([]);
      acceptedFirst++;
      continue;
    }
    expectUnavailable(outcome, `create ${name}`);
    refused.push(name);
    if (refused.length === 5) break;
  }
  return { refused, acceptedFirst };
}

async function expectExistingTokensWork(base: string, what: string): Promise<void> {
  for (const token of existing) {
    const outcome = await useSecret(base, token.secret);
    expect(outcome.kind === 'answer' && outcome.status, `${what}: existing token: ${describeOutcome(outcome)}`).toBe(200);
  }
}

function tokenNamesInDatabase(): Set<string> {
  const database = new SQLite(dbPath, { readonly: true, timeout: 5_000 });
  try {
    return new Set((database.prepare('select name from tokens').all() as { name: string }[]).map((row) => row.name));
  } finally {
    database.close();
  }
}

async function listedNames(base: string): Promise<string[]> {
  const outcome: Outcome = await send(`${base}/api/v1/tokens`, { headers: { cookie: session.cookie } });
  expect(outcome.kind === 'answer' && outcome.status, describeOutcome(outcome)).toBe(200);
  return (JSON.parse((outcome as { body: string }).body) as { tokens: { name: string }[] }).tokens.map((token) => token.name);
}

async function expectWritesWorkAgain(base: string, label: string): Promise<void> {
  const created = await createTokenRequest(base, session, `${label}-after`);
  expect(created.kind === 'answer' && created.status, `create once space is back: ${describeOutcome(created)}`).toBe(201);
  const { secret } = JSON.parse((created as { body: string }).body) as { secret: string };
  const used = await useSecret(base, secret);
  expect(used.kind === 'answer' && used.status, describeOutcome(used)).toBe(200);
}

// docs/security.md, item 17
describe('a full disk refuses writes without losing anything [sqlite on tmpfs, built binary]', () => {
  it('full disk: create → R-UNAVAIL, reads work, the process stays up, writes resume once space is freed, no partial row', async (context) => {
    const instance = ready(context);
    const pid = instance.child.pid;
    const filler = fillDisk();

    const { refused, acceptedFirst } = await createUntilRefused(instance.base, 'full');
    expect(refused.length, `no create was refused in ${CREATE_ATTEMPTS} attempts on a full disk`).toBeGreaterThan(0);
    await expectExistingTokensWork(instance.base, 'disk full');
    // A revoke cannot be written either: it is refused as a whole, and the token stays usable
    // until the retry succeeds (never half revoked).
    const victim = existing.at(-1)!;
    const revoke = await revokeByIdRequest(instance.base, session, victim.id);
    expectUnavailable(revoke, 'revoke on a full disk');
    expect((await useSecret(instance.base, victim.secret)) as { status?: number }).toMatchObject({ status: 200 });
    expect((await send(`${instance.base}/healthz`)).kind).toBe('answer');
    expect(instance.child.exitCode).toBeNull();

    unlinkSync(filler);
    await expectWritesWorkAgain(instance.base, 'full');
    const retried = await revokeByIdRequest(instance.base, session, victim.id);
    expect(retried.kind === 'answer' && retried.status, describeOutcome(retried)).toBe(204);
    expectInvalidToken(await useSecret(instance.base, victim.secret), 'the token revoked once space returned');
    existing.pop();
    expect(instance.child.pid).toBe(pid);
    expect(instance.child.exitCode).toBeNull();

    // No partial row: a refused create left nothing, neither in the file nor in the list.
    const names = tokenNamesInDatabase();
    const listed = await listedNames(instance.base);
    for (const name of refused) {
      expect(names.has(name), `${name} answered 503 but is in the database`).toBe(false);
      expect(listed).not.toContain(name);
    }
    expect(sqliteIntegrity(dbPath)).toEqual({ integrity: ['ok'], foreignKeyViolations: [] });
    await expectExistingTokensWork(instance.base, 'after space returned');
    context.annotate(`${acceptedFirst} creates fit in already-allocated WAL pages, then ${refused.length} refused with R-UNAVAIL`);
    console.log(`disk full (item 17): ${acceptedFirst} creates still fit after the disk filled, then ${refused.length} R-UNAVAIL; all later writes fine`);
  }, 60_000);
});

