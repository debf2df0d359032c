/**
 * Builds the real app around a test database, with the log captured, and gives tests the few
 * moves they all need: sign someone in, mint a token through the API, make headers.
 */
import { SESSION_COOKIE, type CreateTokenResponse } from '@latchkey/contract';
import type { LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach } from 'vitest';
import type { AccountRecord } from '../../src/accounts/account.js';
import { createApp, type App } from '../../src/app.js';
import { SYSTEM_ACTOR } from '../../src/audit/audit-event.js';
import type { FailureLimiter } from '../../src/auth-failures/failure-limiter.js';
import type { ReportLimiter } from '../../src/credential-reports/report-limiter.js';
import type { Database } from '../../src/database/database.js';
import { openDatabase } from '../../src/database/open-database.js';
import { createTestPostgresDatabase } from './databases.js';
import type { AnonymousWriteLimiter } from '../../src/retention/anonymous-write-limiter.js';
import { createLogger } from '../../src/http/logging.js';
import { createServices, type OidcOptions } from '../../src/services.js';
import { systemClock, type Clock } from '../../src/kernel/clock.js';
import type { TokenSettings } from '../../src/tokens/token-service.js';
import type { Mailer } from '../../src/notifications/mailer.js';

export const TEST_PUBLIC_URL = 'https://latchkey.test';
export const TEST_ORIGIN = TEST_PUBLIC_URL;

export interface TestSession {
  account: AccountRecord;
  /** The `Cookie` header value. */
  cookie: string;
  csrfToken: string;
  /** Headers for a same-origin console mutation. */
  headers: Record<string, string>;
}

export interface TestAppOptions {
  clock?: Clock;
  settings?: Partial<TokenSettings>;
  oidc?: OidcOptions;
  failureLimiter?: FailureLimiter;
  reportLimiter?: ReportLimiter;
  trustProxy?: boolean | string[];
  /** How often an idle revocation stream sends a keep-alive. */
  revocationHeartbeatMs?: number;
  tokenCache?: boolean | { maxEntries: number };
  /** Namespaces one account may hold (default 100). */
  maxNamespacesPerAccount?: number;
  /** The budget of the public routes that write (in memory, per app, unless given). */
  anonymousWriteLimiter?: AnonymousWriteLimiter;
  /** WEBHOOK_ALLOW_PRIVATE (false unless given): webhook tests send to a receiver on loopback. */
  webhookAllowPrivate?: boolean;
  /** Sends the notification emails; none (email off) unless given. */
  mailer?: Mailer;
  /** The job runner's longest wait between passes (services' default unless given). */
  jobMaxIdleMs?: number;
}

export interface TestApp extends App {
  database: Database;
  /** Every log line written, parsed. */
  logs: Array<Record<string, unknown>>;
  /** The raw text of every log line. */
  logText(): string;
  /** Creates an account and a console session for it. */
  signIn(input?: { email?: string; isAdmin?: boolean }): Promise<TestSession>;
  /** Creates a token through the API as `session` (default lifetime unless given). */
  createToken(session: TestSession, name?: string, extra?: Record<string, unknown>): Promise<CreateTokenResponse>;
  close(): Promise<void>;
}

let emailCounter = 0;

export async function createTestApp(database: Database, options: TestAppOptions = {}): Promise<TestApp> {
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  const services = createServices({
    database,
    clock: options.clock ?? systemClock,
    logger,
    settings: { maxLifetimeDays: 180, maxTokensPerAccount: 100, ...options.settings },
    publicUrl: TEST_PUBLIC_URL,
    oidc: options.oidc,
    failureLimiter: options.failureLimiter,
    reportLimiter: options.reportLimiter,
    tokenCache: options.tokenCache,
    namespaceSettings: options.maxNamespacesPerAccount ? { maxPerAccount: options.maxNamespacesPerAccount } : undefined,
    anonymousWriteLimiter: options.anonymousWriteLimiter,
    webhookAllowPrivate: options.webhookAllowPrivate,
    mailer: options.mailer,
    jobMaxIdleMs: options.jobMaxIdleMs,
  });
  const app = await createApp({
    services,
    logger,
    publicUrl: TEST_PUBLIC_URL,
    trustProxy: options.trustProxy,
    revocationHeartbeatMs: options.revocationHeartbeatMs,
  });

  const testApp: TestApp = {
    ...app,
    database,
    get logs() {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    logText: () => lines.join(''),

    async signIn(input = {}) {
      const account = await services.accounts.create(
        { email: input.email ?? `user${++emailCounter}-${Date.now()}@example.test`, isAdmin: input.isAdmin },
        SYSTEM_ACTOR,
      );
      const { sessionId, csrfToken } = await services.sessions.start(account.id);
      const cookie = `${SESSION_COOKIE}=${sessionId}`;
      return {
        account,
        cookie,
        csrfToken,
        headers: { cookie, 'x-csrf-token': csrfToken, origin: TEST_ORIGIN, 'sec-fetch-site': 'same-origin' },
      };
    },

    async createToken(session, name = `token-${++emailCounter}`, extra = {}) {
      const response = await app.http.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: session.headers,
        payload: { name, ...extra },
      });
      if (response.statusCode !== 201) {
        throw new Error(`creating a token failed: ${response.statusCode} ${response.body}`);
      }
      return response.json() as CreateTokenResponse;
    },

    close: () => app.http.close(),
  };
  return testApp;
}

/** A test app on a fresh, migrated in-memory SQLite database; `close()` closes the database too. */
export async function createMemoryApp(options: TestAppOptions = {}): Promise<TestApp> {
  const database = openDatabase('sqlite::memory:');
  await database.migrate();
  const app = await createTestApp(database, options);
  return {
    ...app,
    async close() {
      await app.close();
      await database.close();
    },
  };
}

/**
 * For a describe block over a test database (`describeEachBackend`'s context): before each test a
 * fresh app on that test's database, handed to `use` (awaited, so it may set up more); the app
 * is closed after the test.
 */
export function appForEachTest(
  ctx: { readonly database: Database },
  use: (app: TestApp) => unknown,
  options: TestAppOptions = {},
): void {
  let app: TestApp | undefined;
  beforeEach(async () => {
    app = await createTestApp(ctx.database, options);
    await use(app);
  });
  afterEach(() => app?.close());
}

/** `appForEachTest`, with a console session of a fresh account signed in on each test's app. */
export function signedInAppForEachTest(
  ctx: { readonly database: Database },
  use: (fresh: { app: TestApp; session: TestSession }) => unknown,
  options: TestAppOptions = {},
): void {
  appForEachTest(ctx, async (app) => use({ app, session: await app.signIn() }), options);
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

/** The response without the headers that legitimately differ per request. */
export function comparable(response: LightMyRequestResponse): { status: number; headers: Record<string, unknown>; body: string } {
  const { date: _date, 'x-request-id': _requestId, ...headers } = response.headers;
  return { status: response.statusCode, headers, body: response.body };
}

/**
 * `count` app instances over one throw-away PostgreSQL database, as several instances run in
 * production (each its own handle); all closed and the database dropped after `use`. The caller
 * checks that PostgreSQL is available first.
 */
export async function withAppsOnOnePostgres(count: number, options: TestAppOptions, use: (apps: TestApp[]) => Promise<void>): Promise<void> {
  const fresh = await createTestPostgresDatabase();
  const databases = Array.from({ length: count }, () => openDatabase(fresh.url));
  const apps: TestApp[] = [];
  try {
    await databases[0]!.migrate();
    for (const database of databases) apps.push(await createTestApp(database, options));
    await use(apps);
  } finally {
    for (const instance of apps) await instance.close();
    for (const database of databases) await database.close();
    await fresh.drop();
  }
}
