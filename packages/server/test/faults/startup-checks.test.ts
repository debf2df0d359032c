/**
 * docs/security.md, item 16: start-up self-checks. Nothing lost means a misconfigured instance can
 * neither drop durability nor silently reject or accept credentials.
 *
 *   - SQLite: the settings are read back, and anything but journal_mode=wal, synchronous=2
 *     (FULL), foreign_keys=1 and busy_timeout ≥ 5000 refuses the start. Checked on the check
 *     itself, and on the built binary with a preload that quietly weakens one setting.
 *   - A database path on a network file system per /proc/mounts refuses the start: the built
 *     binary runs in a mount namespace of its own where a fabricated mount table is bound over
 *     /proc/<pid>/mounts (needs root: skipped loudly otherwise, failed with
 *     LATCHKEY_REQUIRE_ROOT=1).
 *   - A PostgreSQL URL that does not answer at start-up: /readyz 503, every API request R-UNAVAIL
 *     (never R-INVALID for a valid token, never 200), until a PostgreSQL starts answering on that
 *     very address (a TCP relay started later in front of the test PostgreSQL); then the same
 *     process becomes ready, without a restart, and the token works.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatToken } from '@latchkey/contract/token';
import SQLite from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SQLITE_BUSY_TIMEOUT_MS, checkSqliteDurability } from '../../src/database/sqlite.js';
import { createTestPostgresDatabase, postgresAvailable } from '../support/databases.js';
import { consoleHeaders, issueSignInPath, signIn } from '../scale/support.js';
import { serverBinary, startServer } from '../support/server-process.mjs';
import {
  PUBLIC_URL,
  ROOT_REQUIRED,
  describeOutcome,
  expectInvalidToken,
  expectUnavailable,
  send,
  serversInTempDir,
  sleep,
  useSecret,
  type Outcome,
} from './support.js';

const preload = fileURLToPath(new URL('./weaken-sqlite-preload.mjs', import.meta.url));
/** main.ts retries an unanswered database every 2 s; the outage is watched across such retries. */
const OUTAGE_WATCH_MS = 4_500;
const READY_WITHIN_MS = 15_000;

const suite = serversInTempDir('startup');

function runBinary(args: string[], env: Record<string, string>, command: string[] = [process.execPath, serverBinary]) {
  return spawnSync(command[0]!, [...command.slice(1), ...args], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

// docs/security.md, item 16
describe('SQLite settings are read back at start-up', () => {
  function configured(path: string, settings: { journal: string; synchronous: string; foreignKeys: string; busy: number }) {
    const database = new SQLite(path);
    database.pragma(`journal_mode = ${settings.journal}`);
    database.pragma(`synchronous = ${settings.synchronous}`);
    database.pragma(`foreign_keys = ${settings.foreignKeys}`);
    database.pragma(`busy_timeout = ${settings.busy}`);
    return database;
  }
  const durable = { journal: 'WAL', synchronous: 'FULL', foreignKeys: 'ON', busy: SQLITE_BUSY_TIMEOUT_MS };

  it('accepts wal / FULL / foreign keys / busy_timeout ≥ 5000', () => {
    const database = configured(join(suite.dir, 'durable.db'), durable);
    try {
      expect(() => checkSqliteDurability(database)).not.toThrow();
    } finally {
      database.close();
    }
  });

  it.each([
    ['journal_mode delete', { journal: 'DELETE' }, 'journal_mode is delete, expected wal'],
    ['journal_mode truncate', { journal: 'TRUNCATE' }, 'journal_mode is truncate, expected wal'],
    ['synchronous NORMAL', { synchronous: 'NORMAL' }, 'synchronous is 1, expected 2 (FULL)'],
    ['synchronous OFF', { synchronous: 'OFF' }, 'synchronous is 0, expected 2 (FULL)'],
    ['synchronous EXTRA', { synchronous: 'EXTRA' }, 'synchronous is 3, expected 2 (FULL)'],
    ['foreign_keys OFF', { foreignKeys: 'OFF' }, 'foreign_keys is 0, expected 1'],
    ['busy_timeout 4999', { busy: SQLITE_BUSY_TIMEOUT_MS - 1 }, `busy_timeout is ${SQLITE_BUSY_TIMEOUT_MS - 1}, expected ≥ 5000`],
  ])('refuses %s', (label, weaker, message) => {
    const database = configured(join(suite.dir, `weak-${label.replace(/\W/g, '-')}.db`), { ...durable, ...weaker });
    try {
      expect(() => checkSqliteDurability(database)).toThrow(message);
    } finally {
      database.close();
    }
  });

  it('lists every problem at once; "memory" passes only for an in-memory database', () => {
    const database = configured(join(suite.dir, 'all-weak.db'), { journal: 'DELETE', synchronous: 'OFF', foreignKeys: 'OFF', busy: 0 });
    try {
      expect(() => checkSqliteDurability(database)).toThrow(
        'SQLite database refused: journal_mode is delete, expected wal; synchronous is 0, expected 2 (FULL); foreign_keys is 0, expected 1; busy_timeout is 0, expected ≥ 5000',
      );
    } finally {
      database.close();
    }
    const memory = configured(':memory:', durable);
    try {
      expect(String(memory.pragma('journal_mode', { simple: true }))).toBe('memory');
      expect(() => checkSqliteDurability(memory, true)).not.toThrow();
      expect(() => checkSqliteDurability(memory, false)).toThrow('journal_mode is memory, expected wal');
    } finally {
      memory.close();
    }
  });

  it('the built binary refuses to start when any one setting does not take, and starts when all do', () => {
    const nodeOptions = `--import=${preload}`;
    const control = runBinary(['migrate'], { DATABASE_URL: `sqlite:${join(suite.dir, 'bin-control', 'latchkey.db')}`, NODE_OPTIONS: nodeOptions });
    expect(control.status, control.stderr).toBe(0);

    const expected: Record<string, string> = {
      journal_mode: 'journal_mode is delete, expected wal',
      synchronous: 'synchronous is 1, expected 2 (FULL)',
      foreign_keys: 'foreign_keys is 0, expected 1',
      busy_timeout: 'busy_timeout is 100, expected ≥ 5000',
    };
    for (const [setting, message] of Object.entries(expected)) {
      // `serve`: were the check missing, the server would listen until the spawn timeout.
      const result = runBinary([], {
        DATABASE_URL: `sqlite:${join(suite.dir, `bin-${setting}`, 'latchkey.db')}`,
        NODE_OPTIONS: nodeOptions,
        LATCHKEY_TEST_WEAKEN: setting,
      });
      expect(result.status, `${setting}: ${result.stdout}${result.stderr}`).toBe(1);
      expect(result.stderr).toContain(`SQLite database refused: ${message}`);
      expect(result.stdout).not.toContain('latchkey-server listening');
    }
  }, 120_000);
});

/** Whether this process may create a mount namespace (root); probed once, at collection. */
const namespaceProbe = spawnSync('unshare', ['-m', '--propagation', 'private', 'true'], { encoding: 'utf8' });
const namespacesUsable = namespaceProbe.status === 0;
if (!namespacesUsable) {
  const reason = `${namespaceProbe.stderr ?? ''}${namespaceProbe.error?.message ?? ''}`.trim();
  if (ROOT_REQUIRED) throw new Error(`LATCHKEY_REQUIRE_ROOT=1 but unshare -m failed: ${reason}`);
  process.stderr.write(`\n!!! cannot create a mount namespace (${reason}): SKIPPING the network file system cases of docs/security.md, item 16.\n\n`);
}

// docs/security.md, item 16
describe.skipIf(!namespacesUsable)('a database on a network file system is refused (/proc/mounts)', () => {
  /**
   * Runs the binary in a private mount namespace whose /proc/mounts reads `mountTable`: the
   * shell binds the file over its own /proc/<pid>/mounts, then execs node in the same process.
   */
  function runWithMountTable(label: string, mountTable: (databaseDir: string) => string, args: string[]) {
    const databaseDir = join(suite.dir, `fs-${label}`, 'data dir');
    mkdirSync(databaseDir, { recursive: true });
    const table = join(suite.dir, `fs-${label}`, 'mounts');
    writeFileSync(table, `${mountTable(databaseDir.replace(/ /g, '\\040'))}\n`);
    return runBinary(
      args,
      { DATABASE_URL: `sqlite:${join(databaseDir, 'latchkey.db')}` },
      ['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /proc/$$/mounts && shift && exec "$@"', 'sh', table, process.execPath, serverBinary],
    );
  }

  const ordinary = 'proc /proc proc rw 0 0\n/dev/sda1 / ext4 rw,relatime 0 0';

  it.each([
    ['nfs4', (at: string) => `${ordinary}\nfiler:/export ${at} nfs4 rw,relatime 0 0`],
    ['cifs', (at: string) => `${ordinary}\n//filer/share ${at} cifs rw 0 0`],
    ['fuse.sshfs, mounted on a parent directory', (at: string) => `${ordinary}\nuser@host:/ ${at.slice(0, at.lastIndexOf('/'))} fuse.sshfs rw 0 0`],
  ])('%s → the start is refused with the reason on stderr', (label, table) => {
    const result = runWithMountTable(label.split(',')[0]!, table, []);
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(1);
    expect(result.stderr).toMatch(/SQLite database refused: .* is on a network file system \((nfs4|cifs|fuse\.sshfs) at /);
    expect(result.stdout).not.toContain('latchkey-server listening');
  });

  it.each([
    ['a local file system mounted inside a network one (the nearest mount decides)', (at: string) => `${ordinary}\nfiler:/export ${at.slice(0, at.lastIndexOf('/'))} nfs4 rw 0 0\ntmpfs ${at} tmpfs rw 0 0`],
    ['a network mount whose path is only a string prefix of the directory', (at: string) => `${ordinary}\nfiler:/export ${at.slice(0, -3)} nfs4 rw 0 0`],
  ])('%s → allowed', (label, table) => {
    const result = runWithMountTable(label.split(' ').slice(0, 2).join('-'), table, ['migrate']);
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  });
});

/** A TCP relay to the test PostgreSQL, started only when the test says so. */
function relay(listenPort: number, target: { host: string; port: number }): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(target);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () =>
      resolve({
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** A port nothing listens on right now (bound, read, released). */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// docs/security.md, item 16
describe('a PostgreSQL that does not answer at start-up [built binary]', () => {
  it('without any PostgreSQL: stays up, unready, answers only R-UNAVAIL, and still stops cleanly on SIGTERM', async () => {
    const server = await startServer({ name: 'nothing on port 1', env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/latchkey', PUBLIC_URL } });
    suite.started.push(server);
    const health = await send(`${server.base}/healthz`);
    expect(health.kind === 'answer' && health.status).toBe(200);
    expectUnavailable(await send(`${server.base}/readyz`), '/readyz');
    expectUnavailable(await useSecret(server.base, formatToken(randomBytes(32))), 'a well-formed token');
    await server.stop();
    expect(await server.exited).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('serves only R-UNAVAIL (never R-INVALID, never 200) until it answers, then becomes ready without a restart', async (context) => {
    if (!(await postgresAvailable())) return context.skip('PostgreSQL is not available');
    const database = await createTestPostgresDatabase();
    let relayed: { close(): Promise<void> } | undefined;
    try {
      // A valid token and a live session, made through an instance that reaches the database.
      const direct = await startServer({ name: 'direct', env: { DATABASE_URL: database.url, PUBLIC_URL } });
      suite.started.push(direct);
      const session = await signIn(direct.base, direct.signInPath ?? issueSignInPath({ DATABASE_URL: database.url, PUBLIC_URL }));
      const created = await fetch(`${direct.base}/api/v1/tokens`, {
        method: 'POST',
        headers: { ...consoleHeaders(session, PUBLIC_URL), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'valid' }),
      });
      expect(created.status).toBe(201);
      const { secret: valid } = (await created.json()) as { secret: string };
      await direct.stop();

      const target = new URL(database.url);
      const port = await unusedPort();
      const unanswered = new URL(database.url);
      unanswered.hostname = '127.0.0.1';
      unanswered.port = String(port);
      const server = await startServer({ name: 'no database yet', env: { DATABASE_URL: unanswered.toString(), PUBLIC_URL } });
      suite.started.push(server);
      const pid = server.child.pid;
      const unknown = formatToken(randomBytes(32));

      const requests: Array<[string, () => Promise<Outcome>]> = [
        ['/readyz', () => send(`${server.base}/readyz`)],
        ['GET /me with a valid token', () => useSecret(server.base, valid)],
        ['GET /me with an unknown well-formed token', () => useSecret(server.base, unknown)],
        ['GET /me without credentials', () => send(`${server.base}/api/v1/me`)],
        ['GET /tokens with a valid session', () => send(`${server.base}/api/v1/tokens`, { headers: { cookie: session.cookie } })],
        [
          'POST /tokens with a valid session',
          () =>
            send(`${server.base}/api/v1/tokens`, {
              method: 'POST',
              headers: { ...consoleHeaders(session, PUBLIC_URL), 'content-type': 'application/json' },
              body: JSON.stringify({ name: 'during-outage' }),
            }),
        ],
        [
          'DELETE /tokens/self with a valid token',
          () => send(`${server.base}/api/v1/tokens/self`, { method: 'DELETE', headers: { authorization: `Bearer ${valid}` } }),
        ],
      ];
      let rounds = 0;
      const watchUntil = Date.now() + OUTAGE_WATCH_MS;
      while (Date.now() < watchUntil) {
        for (const [what, request] of requests) expectUnavailable(await request(), `${what} while the database does not answer`);
        rounds++;
        await sleep(250);
      }
      const health = await send(`${server.base}/healthz`);
      expect(health.kind === 'answer' && health.status, describeOutcome(health)).toBe(200);
      expect(server.output()).toContain('database unavailable; serving 503 until it answers');

      // PostgreSQL starts answering on that address.
      relayed = await relay(port, { host: target.hostname, port: Number(target.port || 5432) });
      const relayedAt = Date.now();
      let ready: Outcome;
      do {
        await sleep(200);
        ready = await send(`${server.base}/readyz`);
      } while (!(ready.kind === 'answer' && ready.status === 200) && Date.now() - relayedAt < READY_WITHIN_MS);
      expect(ready.kind === 'answer' && ready.status, `not ready ${READY_WITHIN_MS} ms after the database answered: ${describeOutcome(ready)}`).toBe(200);
      const readyAfterMs = Date.now() - relayedAt;
      expect(server.child.pid).toBe(pid);
      expect(server.child.exitCode).toBeNull();

      // The token was neither refused nor revoked by anything tried during the outage.
      const me = await useSecret(server.base, valid);
      expect(me.kind === 'answer' && me.status, describeOutcome(me)).toBe(200);
      expectInvalidToken(await useSecret(server.base, unknown), 'an unknown token once the database answers');
      const list = await send(`${server.base}/api/v1/tokens`, { headers: { cookie: session.cookie } });
      expect((JSON.parse((list as { body: string }).body) as { tokens: { name: string }[] }).tokens.map((token) => token.name)).toEqual(['valid']);
      context.annotate(`${rounds} rounds of ${requests.length} requests all R-UNAVAIL; ready ${readyAfterMs} ms after the database answered`);
      console.log(`PostgreSQL not answering at start-up (item 16): ${rounds * requests.length} requests during the outage, all R-UNAVAIL; ready ${readyAfterMs} ms after PostgreSQL answered, same process`);
    } finally {
      await Promise.all(suite.started.map((instance) => instance.stop()));
      await relayed?.close();
      await database.drop();
    }
  }, 90_000);
});
