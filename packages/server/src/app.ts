/**
 * createApp(deps) builds the HTTP application and never listens: main.ts listens, tests use
 * `app.inject`. Every route is registered in the one block below.
 */
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { createDomain, type Clock, type Domain, type TokenSettings } from './domain/index.js';
import { createCredentialReports, type CredentialReports } from './domain/credential-reports.js';
import type { Store } from './store/store.js';
import { registerAuthentication } from './http/authenticate.js';
import { createMemoryReportLimiter, type ReportLimiter } from './http/report-limiter.js';
import { handleClientError } from './http/client-errors.js';
import type { FailureLimiter } from './http/failure-limiter.js';
import { registerErrorHandling } from './http/error-handler.js';
import { registerRequestLog } from './http/logging.js';
import { sendProblem } from './http/problem.js';
import { createAuth, type Auth, type OidcOptions } from './auth/index.js';
import { registerAuthRoutes } from './http/routes/auth.js';
import { registerDocsRoutes } from './http/routes/docs.js';
import { registerConsoleRoutes } from './http/routes/console.js';
import { registerCredentialRoutes } from './http/routes/credentials.js';
import { registerInviteRoutes } from './http/routes/invites.js';
import { registerHealthRoutes } from './http/routes/health.js';
import { registerMeRoutes } from './http/routes/me.js';
import { registerNamespaceRoutes } from './http/routes/namespaces.js';
import { registerNoticeRoutes } from './http/routes/notices.js';
import { registerSignInOptionsRoutes } from './http/routes/sign-in-options.js';
import { registerTokenRoutes } from './http/routes/tokens.js';
import type { ZodApp } from './http/zod-app.js';

/** Request bodies larger than this are refused with 413 (SECURITY.md R-413). */
export const BODY_LIMIT_BYTES = 16 * 1024;

export interface AppDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  settings: TokenSettings;
  /** The origin the console is served from; cookie-authenticated mutations must come from it. */
  publicUrl: string;
  trustProxy?: boolean | string[];
  /** OpenID Connect sign-in; without it, built-in one-time links are the only way in. */
  oidc?: OidcOptions;
  /** Failed-authentication limiting per client address; none when absent (most tests). */
  failureLimiter?: FailureLimiter;
  /** The call budget of the leaked-token report endpoint; in process memory when absent. */
  reportLimiter?: ReportLimiter;
  /** False until the database has answered and is migrated; until then everything but /healthz is 503. */
  isReady?: () => boolean;
  /** Test-only fault hooks (LATCHKEY_TEST_FAULT); absent in every real deployment. */
  faults?: TestFaultHooks;
}

/** Points where a test may inject a crash (SECURITY.md item 15). */
export interface TestFaultHooks {
  /** Runs after a revoke's transaction has committed and before its 204 is written. */
  afterRevokeCommit?: () => void;
}

/** A route as registered, for tests that must cover every route the app has. */
export interface RegisteredRoute {
  method: string;
  url: string;
  /** The route's `config.auth`; undefined on public routes. */
  auth: string | undefined;
}

export interface App {
  http: ZodApp;
  /** Every route registered, in registration order (HEAD routes Fastify adds included). */
  routes: readonly RegisteredRoute[];
  domain: Domain;
  auth: Auth;
  /** Leaked-token reports, processed after their 202 (tests await `idle()`). */
  credentialReports: CredentialReports;
}

export async function createApp(deps: AppDeps): Promise<App> {
  const http = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: deps.trustProxy ?? false,
    // On SIGTERM the listener closes at once (new connections are refused), but a request that
    // arrives on a connection accepted before that is served normally, with `Connection: close`,
    // rather than answered with Fastify's own 503 (not problem+json) (SECURITY.md item 20).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    clientErrorHandler: handleClientError,
  }).withTypeProvider<ZodTypeProvider>();

  const routes: RegisteredRoute[] = [];
  http.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({ method, url: route.url, auth: (route.config as { auth?: string } | undefined)?.auth });
    }
  });

  http.setValidatorCompiler(validatorCompiler);
  // Responses are typed at compile time by the zod type provider; re-validating every response
  // at run time would cost the hot path for no protection, so they are serialized as they are.
  http.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // JSON is the only body this API takes (R-415 for anything else).
  http.removeContentTypeParser('text/plain');

  const domain = createDomain({
    store: deps.store,
    clock: deps.clock,
    settings: deps.settings,
    onBackgroundError: (error) => deps.logger.warn({ err: error }, 'background write failed'),
  });

  const credentialReports = createCredentialReports({
    store: deps.store,
    clock: deps.clock,
    // The error comes from the store or the driver, which only ever see digests.
    onError: (error, context) => deps.logger.error({ err: error, ...context }, 'processing a credential report failed'),
    onProcessed: (outcome) => {
      if (outcome.revoked > 0) deps.logger.warn({ event: 'credentials_reported', ...outcome }, 'reported tokens revoked');
    },
  });
  const reportLimiter = deps.reportLimiter ?? createMemoryReportLimiter({ clock: deps.clock });

  const auth = createAuth({ store: deps.store, clock: deps.clock, domain, publicUrl: deps.publicUrl, oidc: deps.oidc });

  await http.register(fastifyCookie);
  await http.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Latchkey API', version: '1' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'A personal access token (lk_pat_1…)' },
          session: { type: 'apiKey', in: 'cookie', name: '__Host-latchkey_session' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });

  const isReady = deps.isReady;
  http.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (isReady && !isReady() && request.url !== '/healthz') {
      return sendProblem(reply, 'UNAVAILABLE', { detail: 'The database is not ready yet.' });
    }
  });
  registerErrorHandling(http);
  registerRequestLog(http);
  http.addHook('onClose', async () => deps.failureLimiter?.close());
  http.addHook('onClose', async () => {
    // Reports already answered 202 are finished before the store closes, within reason.
    await Promise.race([credentialReports.idle(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    await reportLimiter.close();
  });
  registerAuthentication(http, {
    domain,
    publicOrigin: new URL(deps.publicUrl).origin,
    failureLimiter: deps.failureLimiter,
  });

  registerHealthRoutes(http, { store: deps.store });
  registerMeRoutes(http);
  registerTokenRoutes(http, { domain, faults: deps.faults });
  registerNamespaceRoutes(http, { domain });
  registerNoticeRoutes(http, { store: deps.store, clock: deps.clock });
  registerCredentialRoutes(http, { reports: credentialReports, limiter: reportLimiter });
  registerInviteRoutes(http, { auth, domain, store: deps.store, clock: deps.clock });
  registerSignInOptionsRoutes(http, { auth });
  await registerConsoleRoutes(http, { publicUrl: deps.publicUrl });
  await http.register(async (scope) =>
    registerAuthRoutes(scope.withTypeProvider<ZodTypeProvider>(), { auth, domain, publicUrl: deps.publicUrl }),
  );
  registerDocsRoutes(http);
  http.get('/api/openapi.json', { schema: { hide: true } }, async () => http.swagger());

  await http.ready();
  return { http, routes, domain, auth, credentialReports };
}
