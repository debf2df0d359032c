/**
 * A PostgreSQL cluster that a fault test owns outright: created with Debian's postgresql-common
 * tools (`pg_createcluster`) on a free 127.0.0.1 port, stopped, crashed and restarted at will,
 * and dropped afterwards (`pg_dropcluster --stop`) — also from an exit hook should the test
 * worker die before its own clean-up. The machine's shared server (port 5432) is never touched.
 *
 * Needs root (the cluster runs as the `postgres` user) and the postgresql-common tools; without
 * them the tests skip loudly, and fail under LATCHKEY_REQUIRE_POSTGRES=1.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import pg from 'pg';
import { postgresRequired } from '../support/databases.js';

const TOOLS = ['/usr/bin/pg_createcluster', '/usr/bin/pg_ctlcluster', '/usr/bin/pg_dropcluster'];
const DATABASE = 'latchkey';

export type ShutdownMode = 'fast' | 'immediate';

export interface OwnedCluster {
  readonly version: string;
  readonly name: string;
  readonly port: number;
  /** postgres://postgres@127.0.0.1:<port>/latchkey (trust authentication). */
  readonly url: string;
  /** Stops the server; `immediate` is a crash (the next start runs recovery). */
  stop(mode: ShutdownMode): void;
  /** Starts the server; resolves at the moment it accepts connections again. */
  start(): Promise<number>;
  /** Stops (if running) and deletes the cluster with its data and configuration. */
  drop(): void;
}

const dropOnExit = new Set<() => void>();
process.on('exit', () => {
  for (const drop of dropOnExit) drop();
});

/** Why owned clusters cannot be made here, or undefined when they can. */
export function ownedClusterUnavailable(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'owned PostgreSQL clusters need root on Linux';
  const missing = TOOLS.filter((tool) => !existsSync(tool));
  if (missing.length > 0) return `postgresql-common tools missing: ${missing.join(', ')}`;
  if (!postgresVersion()) return 'no PostgreSQL server binaries under /usr/lib/postgresql';
  return undefined;
}

/**
 * Skips (returns the reason) when owned clusters are unavailable, loudly; throws instead under
 * LATCHKEY_REQUIRE_POSTGRES=1, where nothing may skip.
 */
export function skipUnlessOwnedClusters(): string | undefined {
  const reason = ownedClusterUnavailable();
  if (!reason) return undefined;
  if (postgresRequired) throw new Error(`LATCHKEY_REQUIRE_POSTGRES=1 but ${reason}`);
  process.stderr.write(`\n!!! ${reason}: SKIPPING the PostgreSQL fault tests.\n\n`);
  return reason;
}

export async function createOwnedCluster(): Promise<OwnedCluster> {
  const version = postgresVersion();
  if (!version) throw new Error('no PostgreSQL installed');
  const name = `latchkey_fault_${randomBytes(5).toString('hex')}`;
  const port = await freePort();
  let dropped = false;
  const drop = () => {
    if (dropped) return;
    dropped = true;
    dropOnExit.delete(drop);
    run('pg_dropcluster', ['--stop', version, name], { allowFailure: true });
    // pg_dropcluster leaves the configuration directory behind when it holds a file it did not write.
    rmSync(`/etc/postgresql/${version}/${name}`, { recursive: true, force: true });
  };
  dropOnExit.add(drop);
  try {
    run('pg_createcluster', [
      '--port', String(port),
      '--start-conf', 'manual',
      // Loopback TCP only, small, and durable as shipped (fsync stays on: crash recovery is the point).
      '-o', 'ssl=off',
      '-o', 'shared_buffers=16MB',
      '-o', 'max_connections=60',
      version,
      name,
      '--',
      '--auth=trust',
    ]);
    // A conf.d file: pg_createcluster -o and pg_conftool both write 127.0.0.1 unquoted, which
    // postgresql.conf cannot parse.
    writeFileSync(`/etc/postgresql/${version}/${name}/conf.d/latchkey-fault.conf`, "listen_addresses = '127.0.0.1'\n", { mode: 0o644 });
  } catch (error) {
    drop();
    throw error;
  }
  const cluster: OwnedCluster = {
    version,
    name,
    port,
    url: `postgres://postgres@127.0.0.1:${port}/${DATABASE}`,
    stop(mode) {
      run('pg_ctlcluster', ['--skip-systemctl-redirect', '--mode', mode, version, name, 'stop']);
    },
    async start() {
      run('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, 'start']);
      return waitUntilAccepting(port);
    },
    drop,
  };
  try {
    await cluster.start();
    const admin = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
    await admin.connect();
    try {
      await admin.query(`create database ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    drop();
    throw error;
  }
  return cluster;
}

/** Polls until a new connection succeeds; resolves with that moment (performance.now()). */
async function waitUntilAccepting(port: number, timeoutMs = 30_000): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`, connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return performance.now();
    } catch (error) {
      if (performance.now() > deadline) throw new Error(`PostgreSQL on port ${port} did not accept connections: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

function postgresVersion(): string | undefined {
  if (!existsSync('/usr/lib/postgresql')) return undefined;
  const versions = readdirSync('/usr/lib/postgresql')
    .filter((entry) => /^\d+$/.test(entry) && existsSync(`/usr/lib/postgresql/${entry}/bin/postgres`))
    .sort((x, y) => Number(y) - Number(x));
  return versions[0];
}

function run(tool: string, args: string[], options: { allowFailure?: boolean } = {}): void {
  const result = spawnSync(`/usr/bin/${tool}`, args, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0 && !options.allowFailure) {
    throw new Error(`${tool} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}${result.stdout}`);
  }
}

/** A port nothing listens on right now (the kernel's pick for an ephemeral listener). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
