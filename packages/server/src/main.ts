#!/usr/bin/env node
/**
 * The composition root and the `latchkey-server` binary: config → database → migrate →
 * services → app → listen. With services.ts, the only place that knows the concrete
 * implementations.
 *
 *   latchkey-server [serve]   migrate, then serve the API on PORT
 *   latchkey-server migrate   apply pending migrations and exit
 */
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { createApp } from './app.js';
import { createDatabaseFailureLimiter } from './auth-failures/database-failure-limiter.js';
import { createKyselyAuthFailureStore } from './auth-failures/kysely-auth-failure-store.js';
import { createMemoryFailureLimiter } from './auth-failures/memory-failure-limiter.js';
import { createRedisFailureLimiter } from './auth-failures/redis-failure-limiter.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createRedisReportLimiter } from './credential-reports/report-limiter.js';
import type { Database } from './database/database.js';
import { openDatabase } from './database/open-database.js';
import { createRedisAnonymousWriteLimiter } from './retention/anonymous-write-limiter.js';
import { createLogger } from './http/logging.js';
import { createServices } from './services.js';
import { OIDC_CALLBACK_PATH } from './sessions/oidc-sign-in.js';
import { createDatabaseAnchoredClock, type AnchoredClock } from './kernel/clock.js';
import { StoreUnavailableError } from './kernel/store-errors.js';
import { withTestClockOffset, withTestFault } from './test-faults.js';
import { createSmtpMailer } from './notifications/smtp-mailer.js';

const USAGE = `Usage: latchkey-server [serve|migrate|signin-link]

  serve                                   apply pending migrations and serve the API (default)
  migrate                                 apply pending migrations and exit
  signin-link [--email ADDRESS] [--admin] print a one-time sign-in link (15 minutes, single use)
                                          for that account, created if needed; without --email,
                                          for the first administrator

Configuration comes from the environment: PORT, HOST, PUBLIC_URL, DATABASE_URL, REDIS_URL,
OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_ADMIN_EMAILS, OIDC_LINK_EXISTING_ACCOUNTS, TOKEN_MAX_LIFETIME_DAYS, TOKEN_MAX_PER_ACCOUNT,
NAMESPACE_MAX_PER_ACCOUNT,
TRUST_PROXY, LOG_LEVEL, WEBHOOK_ALLOW_PRIVATE, SMTP_URL, MAIL_FROM. See the README.`;

/** How long SIGTERM waits for in-flight requests before giving up. */
const SHUTDOWN_GRACE_MS = 10_000;
const MIGRATION_RETRY_MS = 2_000;

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
  const database = openDatabase(config.databaseUrl, {
    onBackgroundError: (error) => logger.warn({ err: error }, 'database connection lost; will reconnect'),
    onWarning: (message) => logger.warn(message),
  });

  if (command === 'migrate') {
    await database.migrate();
    await database.close();
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
    await database.migrate();
    const clock = createDatabaseAnchoredClock(database);
    await clock.resync();
    const services = createServices({ ...serviceSettings(config, database, logger, clock), oidc });
    const link = await services.signInLinks.issueFor({ email: options.email, isAdmin: options.admin });
    process.stdout.write(`${link.url}\n`);
    await services.close();
    await database.close();
    return 0;
  }

  let ready = false;
  // Every timestamp this instance writes follows the database clock, as every decision does
  // (docs/security.md, item 19); measured once the database answers, then every minute.
  const clock = withTestClockOffset(
    createDatabaseAnchoredClock(database, {
      onError: (error) => logger.warn({ err: error }, 'could not read the database clock; keeping the last offset'),
    }),
    config.testClockOffsetMs,
    logger,
  );
  const services = withTestFault(createServices({ ...serviceSettings(config, database, logger, clock), oidc }), config.testFault, logger);
  const app = await createApp({
    services,
    logger,
    publicUrl: config.publicUrl,
    trustProxy: config.trustProxy,
    isReady: () => ready,
  });

  // A database that does not answer yet (PostgreSQL starting, failing over) is no reason to
  // exit: serve 503 and keep trying. SQLite problems are configuration errors and are fatal.
  const migrate = async (): Promise<void> => {
    try {
      await database.migrate();
      await clock.resync();
      ready = true;
      logger.info('database ready');
      // Every instance prunes; the deletes are idempotent, so instances need no coordination.
      services.retention.start();
      // Reports stored but not processed (a crash, another instance's) are picked up now and on a timer.
      services.credentialReports.start();
      // Jobs (notifications, the expiry scan) left by a crash or another instance are claimed now.
      services.jobs.start();
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
    if (oidc || (await services.accounts.hasAdminSignedIn())) return;
    const link = await services.signInLinks.issueFor({});
    process.stdout.write(`Sign-in link: ${link.url}\n`);
  };
  await migrate();

  await app.http.listen({ port: config.port, host: config.host });
  const address = app.http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info({ port, publicUrl: config.publicUrl, database: database.dialect }, 'latchkey-server listening');
  if (!config.smtp) logger.info({ event: 'email_off' }, 'email notifications are off: SMTP_URL is not set');
  handleShutdown(app.http, database, logger);
  return -1; // keep running
}

function serviceSettings(config: Config, database: Database, logger: Logger, clock: AnchoredClock) {
  const failureLimiter = config.redisUrl
    ? createRedisFailureLimiter({
        url: config.redisUrl,
        prefix: `${config.redisKeyPrefix}auth-failures:`,
        clock,
        onError: (error) => logger.warn({ err: error }, 'Redis unavailable: failed-authentication limiting paused'),
      })
    : database.dialect === 'postgres'
      ? // Several instances may share this database: they share the count through it.
        createDatabaseFailureLimiter({
          store: createKyselyAuthFailureStore(database),
          clock,
          onError: (error) => logger.warn({ err: error }, 'database unavailable: failed-authentication counting paused'),
        })
      : // SQLite serves one instance: its memory is the whole count.
        createMemoryFailureLimiter({ clock });
  // Without Redis, the leaked-token report budget is kept in process memory.
  const reportLimiter = config.redisUrl
    ? createRedisReportLimiter({
        url: config.redisUrl,
        prefix: `${config.redisKeyPrefix}credential-reports:`,
        onError: (error) => logger.warn({ err: error }, 'Redis unavailable: credential-report limiting paused'),
      })
    : undefined;
  // Without Redis, the budget of the public routes that write is kept per instance.
  const anonymousWriteLimiter = config.redisUrl
    ? createRedisAnonymousWriteLimiter({
        url: config.redisUrl,
        prefix: `${config.redisKeyPrefix}anonymous-writes`,
        onError: (error) => logger.warn({ err: error }, 'Redis unavailable: sign-in budget counted per instance'),
      })
    : undefined;
  return {
    database,
    clock,
    logger,
    failureLimiter,
    reportLimiter,
    anonymousWriteLimiter,
    tokenCache: config.tokenCache,
    settings: { maxLifetimeDays: config.tokenMaxLifetimeDays, maxTokensPerAccount: config.tokenMaxPerAccount },
    namespaceSettings: { maxPerAccount: config.namespaceMaxPerAccount },
    webhookAllowPrivate: config.webhookAllowPrivate,
    publicUrl: config.publicUrl,
    // SMTP_URL carries the SMTP password: it goes to the mailer and nowhere else (never logged).
    mailer: config.smtp ? createSmtpMailer(config.smtp) : undefined,
  } satisfies Partial<Parameters<typeof createServices>[0]>;
}

/** SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the database, exit. */
function handleShutdown(http: { close(): Promise<unknown> }, database: Database, logger: Logger): void {
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
      .then(() => database.close())
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
