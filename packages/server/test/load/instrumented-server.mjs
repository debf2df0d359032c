/**
 * The server under test for the load items (docs/security.md, items 22 and 26): the built server
 * (packages/server/dist), composed exactly as main.ts composes `latchkey-server serve`
 * (loadConfig over the environment, openDatabase, migrate, createServices with the in-memory
 * failure limiter, createApp, listen), run as its own process, plus what only the process itself
 * can see, answered over the IPC channel:
 *
 *   - a query counter around the driver (openDatabase's `onQuery`): the "0 database queries" of
 *     docs/security.md;
 *   - the failure limiter's size and cap (item 26's "stays ≤ its configured cap");
 *   - seeding accounts and tokens through the services, so tests need no sign-in dance.
 *
 * LATCHKEY_TEST_LIMITER_CAP sets the limiter's address cap (default: the server's default).
 * Requests arrive over real loopback HTTP from other processes; nothing here is stubbed.
 */
import { readdirSync } from 'node:fs';
import { createApp } from '../../dist/app.js';
import { SYSTEM_ACTOR } from '../../dist/audit/audit-event.js';
import { DEFAULT_MAX_TRACKED_ADDRESSES } from '../../dist/auth-failures/failure-limiter.js';
import { createMemoryFailureLimiter } from '../../dist/auth-failures/memory-failure-limiter.js';
import { loadConfig } from '../../dist/config.js';
import { openDatabase } from '../../dist/database/open-database.js';
import { createLogger } from '../../dist/http/logging.js';
import { createServices } from '../../dist/services.js';
import { systemClock } from '../../dist/kernel/clock.js';

const config = loadConfig(process.env);
const limiterCap = Number(process.env.LATCHKEY_TEST_LIMITER_CAP) || DEFAULT_MAX_TRACKED_ADDRESSES;

let queries = 0;
const logger = createLogger({ level: config.logLevel });
const database = openDatabase(config.databaseUrl, {
  onQuery: () => {
    queries++;
  },
  onBackgroundError: (error) => logger.warn({ err: error }, 'database connection lost; will reconnect'),
});
await database.migrate();
const failureLimiter = createMemoryFailureLimiter({ clock: systemClock, maxTrackedAddresses: limiterCap });
const services = createServices({
  database,
  clock: systemClock,
  logger,
  failureLimiter,
  settings: { maxLifetimeDays: config.tokenMaxLifetimeDays, maxTokensPerAccount: config.tokenMaxPerAccount },
  publicUrl: config.publicUrl,
});
const app = await createApp({ services, logger, publicUrl: config.publicUrl, trustProxy: config.trustProxy, isReady: () => true });
await app.http.listen({ port: config.port, host: config.host });

const handlers = {
  stats: () => ({
    queries,
    limiterSize: failureLimiter.size,
    limiterCap,
    rss: process.memoryUsage.rss(),
    fds: readdirSync('/proc/self/fd').length,
  }),
  /** `accounts` accounts with `tokensPerAccount` tokens each; returns the secrets. */
  seed: async ({ accounts, tokensPerAccount }) => {
    const secrets = [];
    for (let a = 0; a < accounts; a++) {
      const account = await services.accounts.create(
        { email: `load-${process.pid}-${Date.now()}-${a}@example.test` },
        SYSTEM_ACTOR,
      );
      for (let t = 0; t < tokensPerAccount; t++) {
        const { secret } = await services.tokens.create(account.id, { name: `load-${t}` }, SYSTEM_ACTOR);
        secrets.push(secret);
      }
    }
    return { secrets };
  },
};

process.on('message', async ({ id, type, ...input }) => {
  try {
    process.send({ id, ok: true, ...(await handlers[type](input)) });
  } catch (error) {
    process.send({ id, ok: false, error: String(error?.stack ?? error) });
  }
});

const stop = () => {
  app.http
    .close()
    .then(() => database.close())
    .finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);

const address = app.http.server.address();
process.send({ type: 'listening', port: address.port });
