/**
 * docs/security.md, item 60: the SQLite database, its `-wal` and its `-shm` are created 0600 in a
 * 0700 directory, whatever the umask. The built server runs under umask 000 (a test entry sets
 * it, then loads the binary), on a data directory that does not exist yet; a directory the
 * operator made is left as it is, and a group- or world-accessible one is warned about once.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server-process.mjs';
import { PUBLIC_URL, serversInTempDir } from '../faults/support.js';

const umaskZeroEntry = fileURLToPath(new URL('./umask-zero-entry.mjs', import.meta.url));
const WARNING = /database directory .* is accessible to other users \(mode 0755\)/;

const suite = serversInTempDir('files-at-rest');

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8).padStart(4, '0');

async function startOn(databasePath: string, name: string): Promise<ServerProcess> {
  const server = await startServer({
    name,
    entry: umaskZeroEntry,
    env: { DATABASE_URL: `sqlite:${databasePath}`, PUBLIC_URL },
  });
  suite.started.push(server);
  // A write after the start, so the WAL certainly holds frames (migrations wrote already).
  const response = await fetch(`${server.base}/api/v1/credentials/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ credentials: [] }),
  });
  expect(response.status).toBe(202);
  return server;
}

// docs/security.md, item 60
describe('SQLite files at rest (built server, umask 000)', () => {
  it('creates a missing data directory 0700 (parents it made too) and the database, -wal and -shm 0600', async () => {
    const parent = join(suite.dir, 'fresh');
    const dataDir = join(parent, 'data');
    const databasePath = join(dataDir, 'latchkey.db');
    const server = await startOn(databasePath, 'fresh data dir');

    expect({
      parent: modeOf(parent),
      directory: modeOf(dataDir),
      database: modeOf(databasePath),
      wal: modeOf(`${databasePath}-wal`),
      shm: modeOf(`${databasePath}-shm`),
    }).toEqual({ parent: '0700', directory: '0700', database: '0600', wal: '0600', shm: '0600' });
    expect(server.output()).not.toMatch(/accessible to other users|readable by other users/);

    // After a restart (the -wal and -shm are made anew when the last connection closed them).
    await server.stop();
    await startOn(databasePath, 'fresh data dir, restarted');
    expect([modeOf(databasePath), modeOf(`${databasePath}-wal`), modeOf(`${databasePath}-shm`)]).toEqual(['0600', '0600', '0600']);
  }, 90_000);

  it('leaves a directory the operator made as it is, says once that others can reach it, and still makes the files 0600', async () => {
    const dataDir = join(suite.dir, 'operator');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    const databasePath = join(dataDir, 'latchkey.db');
    const server = await startOn(databasePath, 'operator data dir');

    expect(modeOf(dataDir)).toBe('0755');
    expect([modeOf(databasePath), modeOf(`${databasePath}-wal`), modeOf(`${databasePath}-shm`)]).toEqual(['0600', '0600', '0600']);
    expect(server.output().split('\n').filter((line) => WARNING.test(line))).toHaveLength(1);
  }, 60_000);
});
