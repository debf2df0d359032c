/**
 * The capabilities, assembled over one database: each gets its Kysely store and its service.
 * `main.ts` calls this with the real configuration; tests call it with a throw-away database
 * and a clock they control. Nothing outside this file and main.ts names a concrete store.
 */
import type { Logger } from 'pino';
import { createAccountService, type AccountService } from './accounts/account-service.js';
import { createAdminService, type AdminService } from './admin/admin-service.js';
import { createKyselyAccountStore } from './accounts/kysely-account-store.js';
import { createAuditWriter } from './admin/kysely-admin-audit.js';
import { createKyselyPolicyStore } from './admin/kysely-policy-store.js';
import { createKyselyServiceAccountStore } from './admin/kysely-service-account-store.js';
import { createPolicyService, type PolicyService } from './admin/policy-service.js';
import { createServiceAccountService, type ServiceAccountService } from './admin/service-account-service.js';
import { createThrottleService, type ThrottleService } from './admin/throttle-service.js';
import { createFailureThrottle } from './auth-failures/failure-throttle.js';
import { createIdleTokenRevoker } from './retention/idle-token-revoker.js';
import { createKyselyIdleTokenStore } from './retention/kysely-idle-token-store.js';
import type { FailureLimiter } from './auth-failures/failure-limiter.js';
import { createCredentialReports, type CredentialReports } from './credential-reports/credential-report-service.js';
import { createKyselyReportStore } from './credential-reports/kysely-report-store.js';
import { createMemoryReportLimiter, type ReportLimiter } from './credential-reports/report-limiter.js';
import type { Database } from './database/database.js';
import { createReadinessService, type ReadinessService } from './health/readiness.js';
import { createMemoryAnonymousWriteLimiter, type AnonymousWriteLimiter } from './retention/anonymous-write-limiter.js';
import { expiredRowPruners } from './retention/expired-row-pruners.js';
import { createRetentionService, type RetentionService } from './retention/retention-service.js';
import { createKyselyNamespaceStore } from './namespaces/kysely-namespace-store.js';
import { createNamespaceService, type NamespaceService, type NamespaceSettings } from './namespaces/namespace-service.js';
import { createKyselyAuditStore } from './audit/kysely-audit-store.js';
import { createKyselyRevocationStore } from './verification/kysely-revocation-store.js';
import { createRevocationFeed, type RevocationFeed } from './verification/revocation-feed.js';
import { createKyselyNoticeStore } from './notices/kysely-notice-store.js';
import { createNoticeService, type NoticeService } from './notices/notice-service.js';
import { createCliLoginService, type CliLoginService } from './sessions/cli-login-service.js';
import { createKyselySessionStore } from './sessions/kysely-session-store.js';
import { createKyselySignInStore } from './sessions/kysely-sign-in-store.js';
import { createOidcSignIn, type OidcSettings, type OidcSignIn } from './sessions/oidc-sign-in.js';
import { createSessionService, type SessionService } from './sessions/session-service.js';
import { createSignInLinkService, type SignInLinkService } from './sessions/sign-in-link-service.js';
import { createSignInService, type SignInService } from './sessions/sign-in-service.js';
import type { Clock } from './kernel/clock.js';
import { createEventChannels, createIpRefusedEvents, eventJob, type EventChannels } from './jobs/events.js';
import { createExpiryScan, EXPIRY_SCAN_INTERVAL_MS, EXPIRY_SCAN_KIND } from './jobs/expiry-scan.js';
import { EMAIL_RETRY, FINISHED_JOB_RETENTION_MS, WEBHOOK_RETRY } from './jobs/job.js';
import { createJobRunner, type JobRunner } from './jobs/job-runner.js';
import { createKyselyExpiryScanStore } from './jobs/kysely-expiry-scan-store.js';
import { createKyselyJobStore } from './jobs/kysely-job-store.js';
import { createKyselyTokenStore, type TokenStoreOptions } from './tokens/kysely-token-store.js';
import { createKyselyNotificationStore } from './notifications/kysely-notification-store.js';
import type { Mailer } from './notifications/mailer.js';
import { withNewAddressEvents } from './notifications/new-address-watch.js';
import { createNotificationService, type NotificationService } from './notifications/notification-service.js';
import { createTokenService, type TokenService, type TokenSettings } from './tokens/token-service.js';
import { createKyselyWebhookStore } from './webhooks/kysely-webhook-store.js';
import { createWebhookDelivery, deliveryJob } from './webhooks/webhook-delivery.js';
import { registerWebhookJobs } from './webhooks/webhook-jobs.js';
import { DELIVERY_RETENTION_MS } from './webhooks/webhook.js';
import { createWebhookSender, type WebhookSender } from './webhooks/webhook-sender.js';
import { createWebhookService, type WebhookService } from './webhooks/webhook-service.js';

export interface OidcOptions extends OidcSettings {
  /** Accounts created for these (verified) emails are administrators. */
  adminEmails: string[];
  /** OIDC_LINK_EXISTING_ACCOUNTS: link by email to any account without an identity (default: never-used invites only). */
  linkExistingAccounts?: boolean;
}

export interface Services {
  accounts: AccountService;
  tokens: TokenService;
  sessions: SessionService;
  signIn: SignInService;
  signInLinks: SignInLinkService;
  /** OpenID Connect sign-in; without it, built-in one-time links are the only way in. */
  oidc: OidcSignIn | undefined;
  cliLogin: CliLoginService;
  namespaces: NamespaceService;
  notices: NoticeService;
  /** Every revocation from every instance, for the revocation stream. */
  revocations: RevocationFeed;
  /** The administration API: every account, token and audit event, for administrators. */
  admin: AdminService;
  /** Service accounts: created by administrators, tokens minted for them, never signing in. */
  serviceAccounts: ServiceAccountService;
  /** The instance policy, read at each token creation (every instance sees a change at once). */
  policy: PolicyService;
  /** Throttled client addresses, listed and lifted by administrators. */
  throttles: ThrottleService;
  /** Leaked-token reports, stored before their 202 and processed by a worker main.ts starts (tests await `idle()`). */
  credentialReports: CredentialReports;
  /** The call budget of the leaked-token report endpoint. */
  reportLimiter: ReportLimiter;
  readiness: ReadinessService;
  /** The budget of the public routes that write without authentication (docs/security.md, item 57). */
  anonymousWriteLimiter: AnonymousWriteLimiter;
  /** Prunes dead sessions, sign-in links, sign-in flows and CLI grants; main.ts starts it. */
  retention: RetentionService;
  /** The durable job runner (docs/jobs.md); main.ts starts it, close() stops it. */
  jobs: JobRunner;
  /** Lifecycle events fanned out to notification channels (email, webhooks) registered here. */
  events: EventChannels;
  /** Signed webhooks: endpoints per account (instance-wide for administrators) and their deliveries. */
  webhooks: WebhookService;
  /** Email notifications (the `email` channel, registered when a mailer is given) and each account's switches. */
  notifications: NotificationService;
  /** Stops the report worker (reports not processed yet stay stored for the next start) and lets the limiters go. */
  close(): Promise<void>;
}

export interface ServiceDeps {
  database: Database;
  clock: Clock;
  logger: Logger;
  settings: TokenSettings;
  /** The origin people reach the server at: sign-in links point there. */
  publicUrl: string;
  oidc?: OidcOptions;
  /** Failed-authentication limiting per client address; none when absent (most tests). */
  failureLimiter?: FailureLimiter;
  /** The report endpoint's budget; in process memory when absent. */
  reportLimiter?: ReportLimiter;
  tokenCache?: TokenStoreOptions['tokenCache'];
  /** The budget of the public routes that write; in process memory when absent. */
  anonymousWriteLimiter?: AnonymousWriteLimiter;
  /** The per-account namespace limit; the default (100) when absent. */
  namespaceSettings?: NamespaceSettings;
  /** The job runner's longest wait between passes (docs/jobs.md); its default (60 s) when absent. */
  jobMaxIdleMs?: number;
  /** WEBHOOK_ALLOW_PRIVATE: webhooks may target private and loopback addresses. */
  webhookAllowPrivate?: boolean;
  /** How webhooks are sent; the SSRF-safe sender (webhooks/webhook-sender.ts) when absent. */
  webhookSender?: WebhookSender;
  /** Sends the notification emails (SMTP_URL); without it no email is sent. */
  mailer?: Mailer;
}

/** How long closing waits for the report in hand; reports still pending are stored for the next start. */
const REPORTS_CLOSE_GRACE_MS = 5_000;
/** How long closing waits for running jobs; one still running is run again after its lease. */
const JOBS_CLOSE_GRACE_MS = 5_000;

export function createServices(deps: ServiceDeps): Services {
  const { database, clock, logger, settings } = deps;
  const signInStore = createKyselySignInStore(database);
  const sessionStore = createKyselySessionStore(database);

  const accountStore = createKyselyAccountStore(database);
  const accounts = createAccountService({ store: accountStore, clock });
  const notices = createNoticeService({ store: createKyselyNoticeStore(database), clock });
  const auditStore = createKyselyAuditStore(database);
  // A token's first use from a new address becomes a lifecycle event (notifications/new-address-watch.ts)
  // when email is on: only the email channel sends anything for it, so without SMTP the look-up is skipped.
  const kyselyTokenStore = createKyselyTokenStore(database, { tokenCache: deps.tokenCache });
  const tokenStore = deps.mailer
    ? withNewAddressEvents(kyselyTokenStore, (...use) => notifications.noteAddress(...use))
    : kyselyTokenStore;
  const policy = createPolicyService({ store: createKyselyPolicyStore(database), clock, defaultMaxLifetimeDays: settings.maxLifetimeDays });
  const failureThrottle = deps.failureLimiter && createFailureThrottle({ limiter: deps.failureLimiter, clock });
  const tokens = createTokenService({
    store: tokenStore,
    clock,
    settings,
    failureLimiter: deps.failureLimiter,
    failureThrottle,
    policy: () => policy.current(),
    onBackgroundError: (error) => logger.warn({ err: error }, 'background write failed'),
    onOutsideAllowlist: async (token, ip) => {
      // The refusal is also a lifecycle event (token.ip_refused), at most one per token, address and hour.
      await Promise.all([
        notices.tokenUsedOutsideAllowlist(token.accountId, {
          token: { id: token.id, name: token.name, last4: token.last4, note: token.note },
          ip,
        }),
        ipRefusedEvents(token, ip),
      ]);
    },
    auditEvents: (filter) => auditStore.listAuditEvents(filter),
  });
  const sessions = createSessionService({ store: sessionStore, clock });
  const signInLinks = createSignInLinkService({ store: signInStore, clock, accounts, publicUrl: deps.publicUrl });
  const oidc = deps.oidc ? createOidcSignIn({ store: signInStore, clock, settings: deps.oidc }) : undefined;
  const credentialReports = createCredentialReports({
    store: createKyselyReportStore(database),
    clock,
    // Reports stored by another instance (PostgreSQL; its INSERT notifies); on SQLite the worker's idle cap.
    wake: (poll) =>
      listenUntilStopped(database, 'latchkey_credential_reports', poll, (error) =>
        logger.warn({ err: error }, 'listening for credential reports failed; retrying'),
      ),
    // The error comes from the store or the driver, which only ever see digests.
    onError: (error, context) => logger.error({ err: error, ...context }, 'processing a credential report failed; it stays pending'),
    onProcessed: (outcome) => {
      if (outcome.revoked > 0) logger.warn({ event: 'credentials_reported', ...outcome }, 'reported tokens revoked');
    },
  });
  const reportLimiter = deps.reportLimiter ?? createMemoryReportLimiter({ clock });
  const anonymousWriteLimiter = deps.anonymousWriteLimiter ?? createMemoryAnonymousWriteLimiter();
  const revocationStore = createKyselyRevocationStore(database);
  const jobStore = createKyselyJobStore(database);
  const jobs = createJobRunner({
    store: jobStore,
    clock,
    maxIdleMs: deps.jobMaxIdleMs,
    wake: (poll) => subscribeToJobs(database, poll, (error) => logger.warn({ err: error }, 'listening for jobs failed; retrying')),
    onError: (error, context) => logger.warn({ err: error, ...context }, 'a job failed'),
  });
  const events = createEventChannels(jobs);
  const ipRefusedEvents = createIpRefusedEvents({ enqueue: (job) => jobs.enqueue(job), clock });
  const webhookStore = createKyselyWebhookStore(database, { deliveryJob });
  const webhookAllowPrivate = deps.webhookAllowPrivate ?? false;
  registerWebhookJobs(
    jobs,
    events,
    createWebhookDelivery({
      store: webhookStore,
      clock,
      send: deps.webhookSender ?? createWebhookSender({ allowPrivate: webhookAllowPrivate }),
      retry: WEBHOOK_RETRY,
    }),
  );
  const expiryScan = createExpiryScan({ store: createKyselyExpiryScanStore(database), clock, enqueue: (list) => jobs.enqueue(list) });
  jobs.register(EXPIRY_SCAN_KIND, async () => {
    const count = await expiryScan();
    if (count > 0) logger.info({ event: 'token_expiry_events', count }, 'tokens crossed an expiry threshold');
  });
  jobs.schedule(EXPIRY_SCAN_KIND, EXPIRY_SCAN_INTERVAL_MS);
  const notifications = createNotificationService({
    store: createKyselyNotificationStore(database),
    clock,
    mailer: deps.mailer,
    publicUrl: deps.publicUrl,
    enqueueEvent: async (event) => {
      await jobs.enqueue(eventJob(event));
    },
    onOutcome: (outcome) => logger.info({ event: 'email_notification', ...outcome }, 'email notification'),
  });
  if (deps.mailer) events.add('email', (event, context) => notifications.deliver(event, context), { retry: EMAIL_RETRY });
  const revocations = createRevocationFeed({
    store: revocationStore,
    clock,
    wake: (poll) => subscribeToRevocations(database, poll, (error) => logger.warn({ err: error }, 'listening for revocations failed; retrying')),
    onError: (error) => logger.warn({ err: error }, 'reading the revocation feed failed; will retry'),
  });
  const retention = createRetentionService({
    pruners: [
      ...expiredRowPruners({ sessions: sessionStore, signIn: signInStore, revocations: revocationStore }),
      // The instance policy's idle rule (off unless an administrator sets idleRevokeDays).
      createIdleTokenRevoker({ store: createKyselyIdleTokenStore(database), policy, clock }),
      { name: 'jobs', prune: (now, limit) => jobStore.pruneFinished(now - FINISHED_JOB_RETENTION_MS, limit) },
      { name: 'webhook_deliveries', prune: (now, limit) => webhookStore.pruneFinishedDeliveries(now - DELIVERY_RETENTION_MS, limit) },
    ],
    clock,
    onPruned: (counts) => logger.info({ event: 'expired_rows_pruned', ...counts }, 'expired rows pruned'),
    onError: (error) => logger.warn({ err: error }, 'pruning expired rows failed; will retry'),
  });

  return {
    accounts,
    tokens,
    sessions,
    signIn: createSignInService({
      clock,
      accounts,
      sessions,
      links: signInLinks,
      oidc,
      adminEmails: deps.oidc?.adminEmails ?? [],
      linkExistingAccounts: deps.oidc?.linkExistingAccounts ?? false,
    }),
    signInLinks,
    oidc,
    cliLogin: createCliLoginService({ store: signInStore, clock, tokens }),
    namespaces: createNamespaceService({ store: createKyselyNamespaceStore(database), clock, settings: deps.namespaceSettings }),
    notices,
    admin: createAdminService({ accounts, accountStore, tokenStore, auditStore, clock }),
    serviceAccounts: createServiceAccountService({
      store: createKyselyServiceAccountStore(database),
      accountStore,
      tokenStore,
      tokens,
      clock,
    }),
    policy,
    throttles: createThrottleService({ limiter: deps.failureLimiter, throttle: failureThrottle, clock, audit: createAuditWriter(database) }),
    credentialReports,
    reportLimiter,
    readiness: createReadinessService({ database }),
    anonymousWriteLimiter,
    retention,
    revocations,
    jobs,
    webhooks: createWebhookService({ store: webhookStore, clock, allowPrivate: webhookAllowPrivate, enqueue: (job) => jobs.enqueue(job) }),
    events,
    notifications,
    async close() {
      await jobs.stop(JOBS_CLOSE_GRACE_MS);
      deps.mailer?.close();
      await revocations.stop();
      await retention.stop();
      await deps.failureLimiter?.close();
      await Promise.race([
        credentialReports.stop(),
        new Promise((resolve) => setTimeout(resolve, REPORTS_CLOSE_GRACE_MS).unref()),
      ]);
      await reportLimiter.close();
      await anonymousWriteLimiter.close();
    },
  };
}

/**
 * What wakes the revocation feed: a local write that can change authentication, and on
 * PostgreSQL a notification from any instance (listened for again until it works).
 */
function subscribeToRevocations(database: Database, poll: () => void, onError: (error: unknown) => void): () => Promise<void> {
  const unsubscribe = database.authenticationChanges.subscribe(() => poll());
  const unlisten = listenUntilStopped(database, 'latchkey_revocations', poll, onError);
  return async () => {
    unsubscribe();
    await unlisten();
  };
}

/**
 * What wakes the job runner besides its own enqueues: jobs committed by a store's transaction in
 * this process, and on PostgreSQL a notification from any instance (listened for again until it works).
 */
function subscribeToJobs(database: Database, poll: () => void, onError: (error: unknown) => void): () => Promise<void> {
  const unsubscribe = database.committedJobs.subscribe(poll);
  const unlisten = listenUntilStopped(database, 'latchkey_jobs', poll, onError);
  return async () => {
    unsubscribe();
    await unlisten();
  };
}

/** On PostgreSQL, calls `poll` on every NOTIFY on `channel`, listening again until it works; a no-op on SQLite. */
function listenUntilStopped(database: Database, channel: string, poll: () => void, onError: (error: unknown) => void): () => Promise<void> {
  let stopped = false;
  let unlisten: (() => Promise<void>) | undefined;
  let retry: NodeJS.Timeout | undefined;
  const listen = () => {
    if (!database.listen || stopped) return;
    database.listen(channel, poll).then(
      async (stop) => {
        if (stopped) await stop();
        else unlisten = stop;
      },
      (error: unknown) => {
        onError(error);
        retry = setTimeout(listen, 1_000);
        retry.unref();
      },
    );
  };
  listen();
  return async () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    await unlisten?.();
  };
}
