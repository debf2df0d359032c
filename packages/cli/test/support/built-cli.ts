/**
 * The built `latchkey` binary against a real `latchkey-server` on a throw-away SQLite file, for a
 * test file's `describe` block: the server and the CLI bundle are built first, and the test gets
 * the server's services over the same file (to make accounts and tokens as an operator's script
 * would) and a way to run the binary with a token.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { Database } from '../../../server/src/database/database.js';
import { openDatabase } from '../../../server/src/database/open-database.js';
import { createLogger } from '../../../server/src/http/logging.js';
import { systemClock } from '../../../server/src/kernel/clock.js';
import { createServices, type Services } from '../../../server/src/services.js';
import { buildCli, ensureServerBuilt, freePort, runCli, startServer, type CliRun, type ServerProcess } from '../../../server/test/support/server-process.mjs';

export type BuiltCliRun = CliRun;

export interface BuiltCliAgainstServer {
  baseUrl: string;
  services: Services;
  /**
   * Runs the binary with LATCHKEY_URL set to the server and LATCHKEY_TOKEN to `token`, in an empty
   * HOME; with `home`, in that HOME with nothing in the environment (its stored context is used).
   */
  run(args: string[], token: string, options?: { home?: string }): Promise<BuiltCliRun>;
}

/** Registers the setup and teardown; the returned object is filled in once `beforeAll` has run. */
export function builtCliAgainstServer(): BuiltCliAgainstServer {
  let directory: string | undefined;
  let server: ServerProcess | undefined;
  let database: Database | undefined;
  const harness = {
    baseUrl: '',
    services: undefined as unknown as Services,
    run(args: string[], token: string, options: { home?: string } = {}) {
      const env: Record<string, string> = options.home
        ? { PATH: process.env.PATH ?? '', HOME: options.home }
        : { PATH: process.env.PATH ?? '', HOME: directory!, LATCHKEY_URL: harness.baseUrl, LATCHKEY_TOKEN: token };
      return runCli(args, env);
    },
  };

  beforeAll(async () => {
    ensureServerBuilt();
    buildCli();
    directory = mkdtempSync(join(tmpdir(), 'latchkey-built-cli-'));
    const databaseUrl = `sqlite:${join(directory, 'latchkey.db')}`;
    const port = await freePort();
    harness.baseUrl = `http://127.0.0.1:${port}`;
    server = await startServer({ name: 'latchkey-server', port, env: { PUBLIC_URL: harness.baseUrl, DATABASE_URL: databaseUrl }, expectSignInLink: true });
    database = openDatabase(databaseUrl);
    harness.services = createServices({
      database,
      clock: systemClock,
      logger: createLogger({ level: 'silent' }),
      settings: { maxLifetimeDays: 180, maxTokensPerAccount: 100 },
      publicUrl: harness.baseUrl,
    });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    await harness.services?.close();
    await database?.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  return harness;
}
