#!/usr/bin/env node
/**
 * The composition root and the `latchkey-server` binary: config → store → migrate → app →
 * listen. The only place that knows the concrete implementations.
 *
 *   latchkey-server [serve]   migrate, then serve the API on PORT
 *   latchkey-server migrate   apply pending migrations and exit
 */
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { createApp, type TestFaultHooks } from './app.js';
import { OIDC_CALLBACK_PATH } from './auth/oidc.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createDatabaseAnchoredClock, type AnchoredClock } from './domain/clock.js';
import { createLogger } from './http/logging.js';
import {
  createDatabaseFailureLimiter,
  createMemoryFailureLimiter,
  createRedisFailureLimiter,
} from './http/failure-limiter.js';
import { createRedisReportLimiter } from './http/report-limiter.js';
import { openStore } from './store/open-store.js';
import { StoreUnavailableError, type Store } from './store/store.js';

const USAGE = `Usage: latchkey-server [serve|migrate|signin-link]

  serve                                   apply pending migrations and serve the API (default)
  migrate                                 apply pending migrations and exit
  signin-link [--email ADDRESS] [--admin] print a one-time sign-in link (15 minutes, single use)
                                          for that account, created if needed; without --email,
                                          for the first administrator

Configuration comes from the environment: PORT, HOST, PUBLIC_URL, DATABASE_URL, REDIS_URL,
OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_ADMIN_EMAILS, TOKEN_MAX_LIFETIME_DAYS, TOKEN_MAX_PER_ACCOUNT,
TRUST_PROXY, LOG_LEVEL. See the README.`;

/** How long SIGTERM waits for in-flight requests before giving up. */
const SHUTDOWN_GRACE_MS = 10_000;
const MIGRATION_RETRY_MS = 2_000;
/** The exit code of a LATCHKEY_TEST_FAULT crash, so a test can tell it from any other exit. */
const TEST_FAULT_EXIT_CODE = 86;

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'serve';
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command !== 'serve' && command !== 'migrate' && command !== 'signin-link') {
    process.stderr.write(`Unknown command "${command}".\n\n${USAGE}\n`);
    return 2;
  }

  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }

  const logger = createLogger({ level: config.logLevel });
  const store = openStore(config.databaseUrl, {
    onBackgroundError: (error) => logger.warn({ err: error }, 'database connection lost; will reconnect'),
    tokenCache: config.tokenCache,
  });

  if (command === 'migrate') {
    await store.migrate();
    await store.close();
    logger.info('migrations applied');
    logger.flush();
    return 0;
  }

  const oidc = config.oidc && { ...config.oidc, redirectUri: `${config.publicUrl}${OIDC_CALLBACK_PATH}` };

  if (command === 'signin-link') {
    let options: { email?: string; admin?: boolean };
    try {
      ({ values: options } = parseArgs({
        args: argv.slice(1),
        options: { email: { type: 'string' }, admin: { type: 'boolean' } },
        strict: true,
      }));
    } catch (error) {
      process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
      return 2;
    }
    await store.migrate();
    const clock = createDatabaseAnchoredClock(store);
    await clock.resync();
    const app = await createApp({ ...appSettings(config, store, logger, clock), oidc });
    const link = await app.auth.links.issueFor({ email: options.email, isAdmin: options.admin });
    process.stdout.write(`${link.url}\n`);
    await app.http.close();
    await store.close();
    return 0;
  }

  let ready = false;
  // Every timestamp this instance writes follows the database clock, as every decision does
  // (SECURITY.md item 19); measured once the database answers, then every minute.
  const clock = createDatabaseAnchoredClock(store, {
    onError: (error) => logger.warn({ err: error }, 'could not read the database clock; keeping the last offset'),
  });
  const app = await createApp({
    ...appSettings(config, store, logger, clock),
    oidc,
    isReady: () => ready,
    faults: testFaultHooks(config, logger),
  });

  // A database that does not answer yet (PostgreSQL starting, failing over) is no reason to
  // exit: serve 503 and keep trying. SQLite problems are configuration errors and are fatal.
  const migrate = async (): Promise<void> => {
    try {
      await store.migrate();
      await clock.resync();
      ready = true;
      logger.info('database ready');
      await printFirstAdminLink();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      logger.warn({ err: error.cause ?? error }, 'database unavailable; serving 503 until it answers');
      setTimeout(() => void migrate().catch(fail), MIGRATION_RETRY_MS).unref();
    }
  };
  const fail = (error: unknown) => {
    logger.fatal({ err: error }, 'start-up failed');
    logger.flush();
    process.exit(1);
  };
  // Built-in sign-in: until an administrator has signed in, every start prints a link for the
  // first one, on stdout for the operator (deliberately not through the scrubbed log).
  const printFirstAdminLink = async () => {
    if (oidc || (await store.hasAdminSignedIn())) return;
    const link = await app.auth.links.issueFor({});
    process.stdout.write(`Sign-in link: ${link.url}\n`);
  };
  await migrate();

  await app.http.listen({ port: config.port, host: config.host });
  const address = app.http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port, publicUrl: config.publicUrl, database: store.dialect }, 'latchkey-server listening');
  handleShutdown(app.http, store, logger);
  return -1; // keep running
}

function appSettings(config: Config, store: Store, logger: Logger, clock: AnchoredClock) {
  const failureLimiter = config.redisUrl
    ? createRedisFailureLimiter({
        url: config.redisUrl,
        prefix: `${config.redisKeyPrefix}auth-failures:`,
        onError: (error) => logger.warn({ err: error }, 'Redis unavailable: failed-authentication limiting paused'),
      })
    : store.dialect === 'postgres'
      ? // Several instances may share this database: they share the count through it.
        createDatabaseFailureLimiter({
          store,
          clock,
          onError: (error) => logger.warn({ err: error }, 'database unavailable: failed-authentication counting paused'),
        })
      : // SQLite serves one instance: its memory is the whole count.
        createMemoryFailureLimiter({ clock });
  // Without Redis, createApp keeps the leaked-token report budget in process memory.
  const reportLimiter = config.redisUrl
    ? createRedisReportLimiter({
        url: config.redisUrl,
        prefix: `${config.redisKeyPrefix}credential-reports:`,
        onError: (error) => logger.warn({ err: error }, 'Redis unavailable: credential-report limiting paused'),
      })
    : undefined;
  return {
    failureLimiter,
    reportLimiter,
    store,
    clock,
    logger,
    settings: { maxLifetimeDays: config.tokenMaxLifetimeDays, maxTokensPerAccount: config.tokenMaxPerAccount },
    publicUrl: config.publicUrl,
    trustProxy: config.trustProxy,
  };
}

/**
 * LATCHKEY_TEST_FAULT (tests only): `exit-after-revoke-commit` ends the process the moment a
 * revoke has committed, before the 204 is written, as a crash or OOM kill there would.
 */
function testFaultHooks(config: Config, logger: Logger): TestFaultHooks | undefined {
  if (config.testFault !== 'exit-after-revoke-commit') return undefined;
  logger.warn({ fault: config.testFault }, 'TEST FAULT INJECTION ENABLED: never run this in production');
  return {
    afterRevokeCommit: () => {
      logger.warn({ fault: config.testFault }, 'test fault: exiting after the revoke committed');
      logger.flush();
      process.exit(TEST_FAULT_EXIT_CODE);
    },
  };
}

/** SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the database, exit. */
function handleShutdown(
  http: { close(): Promise<unknown> },
  store: Store,
  logger: Logger,
): void {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('in-flight requests did not finish in time; exiting');
      logger.flush();
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    http
      .close()
      .then(() => store.close())
      .then(() => {
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'error while shutting down');
        logger.flush();
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`latchkey-server: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
