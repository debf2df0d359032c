/**
 * createApp(deps) builds the HTTP application around the services and never listens: main.ts
 * listens, tests use `app.inject`. Every capability's routes are registered in the one block
 * below.
 */
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { meFastRoute, registerMeRoutes } from './accounts/me-routes.js';
import { registerAdminRoutes } from './admin/admin-routes.js';
import { registerConsoleRoutes } from './console/console-routes.js';
import { registerErrorDocsRoutes } from './console/error-docs-routes.js';
import { registerCredentialReportRoutes } from './credential-reports/credential-report-routes.js';
import { registerHealthRoutes } from './health/health-routes.js';
import { registerAnonymousWriteLimit } from './http/anonymous-write-limit.js';
import { registerAuthentication, type AuthMode, type RouteScope } from './http/authenticate.js';
import { handleClientError } from './http/client-errors.js';
import { handleFrameworkError, registerErrorHandling } from './http/error-handler.js';
import { createFastPath, installFastPath, type FastPath, type FastRoute } from './http/fast-path.js';
import { registerRequestLog } from './http/logging.js';
import { sendProblem } from './http/problem.js';
import { refuseUndeclaredBody } from './http/strict-body.js';
import type { ZodApp } from './http/zod-app.js';
import { registerNamespaceRoutes } from './namespaces/namespace-routes.js';
import { registerNoticeRoutes } from './notices/notice-routes.js';
import { registerNotificationRoutes } from './notifications/notification-routes.js';
import type { Services } from './services.js';
import { registerInviteRoutes } from './sessions/invite-routes.js';
import { registerSignInOptionsRoutes } from './sessions/sign-in-options-routes.js';
import { registerSignInRoutes } from './sessions/sign-in-routes.js';
import { registerTokenRoutes } from './tokens/token-routes.js';
import { registerIntrospectionRoutes } from './verification/introspection-routes.js';
import { registerRevocationRoutes } from './verification/revocation-routes.js';
import { registerVerifyRoutes, verifyFastRoute } from './verification/verify-routes.js';
import { registerWebhookRoutes } from './webhooks/webhook-routes.js';

/** The methods whose requests may carry a body. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Request bodies larger than this are refused with 413 (docs/security.md, R-413). */
export const BODY_LIMIT_BYTES = 16 * 1024;

export interface AppDeps {
  services: Services;
  logger: Logger;
  /** The origin the console is served from; cookie-authenticated mutations must come from it. */
  publicUrl: string;
  trustProxy?: boolean | string[];
  /** How often an idle revocation stream sends a keep-alive (tests shorten it). */
  revocationHeartbeatMs?: number;
  /** False until the database has answered and is migrated; until then everything but /healthz is 503. */
  isReady?: () => boolean;
  /** False: every request goes through Fastify (tests compare the two ways). Default true. */
  fastPath?: boolean;
}

/** The routes the fast path answers when it can (http/fast-path.ts). */
const FAST_ROUTES: readonly FastRoute[] = [meFastRoute, verifyFastRoute];

/** A route as registered, for tests that must cover every route the app has. */
export interface RegisteredRoute {
  method: string;
  url: string;
  /** The route's `config.auth`; undefined on public routes. */
  auth: string | undefined;
  /** The scope a token needs on it (`config.scope`): a scope name, `any`, or undefined (no tokens). */
  scope: string | undefined;
  /** Whether only administrators may call it (`config.admin`): anyone else is 403 FORBIDDEN. */
  admin: boolean;
  /** Whether the route declares a JSON body schema (every such body is strict: docs/security.md, item 48). */
  takesBody: boolean;
}

export interface App {
  http: ZodApp;
  /** Every route registered, in registration order (HEAD routes Fastify adds included). */
  routes: readonly RegisteredRoute[];
  services: Services;
  /** Answers the hottest requests in front of Fastify once the app listens (http/fast-path.ts); undefined when turned off. */
  fastPath: FastPath | undefined;
}

export async function createApp(deps: AppDeps): Promise<App> {
  const { services, publicUrl } = deps;
  const http = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: deps.trustProxy ?? false,
    // On SIGTERM the listener closes at once (new connections are refused), but a request that
    // arrives on a connection accepted before that is served normally, with `Connection: close`,
    // rather than answered with Fastify's own 503, which is not problem+json (docs/security.md,
    // item 20).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    clientErrorHandler: handleClientError,
    // What the router refuses (malformed percent-encoding …) is problem+json too, never Fastify's own body.
    frameworkErrors: handleFrameworkError,
  }).withTypeProvider<ZodTypeProvider>();

  const routes: RegisteredRoute[] = [];
  http.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      routes.push({
        method,
        url: route.url,
        auth: (route.config as { auth?: string } | undefined)?.auth,
        scope: (route.config as { scope?: string } | undefined)?.scope,
        admin: (route.config as { admin?: true } | undefined)?.admin === true,
        takesBody: (route.schema as { body?: unknown } | undefined)?.body !== undefined,
      });
    }
    const security = openApiSecurity(route.config as { auth?: AuthMode; scope?: RouteScope } | undefined);
    if (security && route.schema) (route.schema as { security?: unknown }).security = security;
    // A route that declares no body takes none: JSON sent to it is refused, not ignored (item 48).
    const methods = [route.method].flat();
    if ((route.schema as { body?: unknown } | undefined)?.body === undefined && methods.some((method) => BODY_METHODS.has(method))) {
      route.preValidation = [...[route.preValidation ?? []].flat(), refuseUndeclaredBody];
    }
  });

  http.setValidatorCompiler(validatorCompiler);
  // Responses are typed at compile time by the zod type provider; re-validating every response
  // at run time would cost the hot path for no protection, so they are serialized as they are.
  http.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // JSON is the only body this API takes (R-415 for anything else).
  http.removeContentTypeParser('text/plain');

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
  http.addHook('onClose', () => services.close());
  const fastPath =
    deps.fastPath === false
      ? undefined
      : createFastPath({ tokens: services.tokens, routes: FAST_ROUTES, logger: deps.logger, trustProxy: deps.trustProxy, isReady });
  // Closing: requests still arriving on open connections get Fastify's drain (`Connection: close`).
  if (fastPath) http.addHook('preClose', async () => fastPath.close());
  registerAuthentication(http, {
    tokens: services.tokens,
    sessions: services.sessions,
    publicOrigin: new URL(publicUrl).origin,
  });
  registerAnonymousWriteLimit(http, { limiter: services.anonymousWriteLimiter });

  registerHealthRoutes(http, services);
  registerMeRoutes(http);
  registerTokenRoutes(http, services);
  registerNamespaceRoutes(http, services);
  registerVerifyRoutes(http);
  registerRevocationRoutes(http, { feed: services.revocations, heartbeatMs: deps.revocationHeartbeatMs });
  await http.register(async (scope) => registerIntrospectionRoutes(scope.withTypeProvider<ZodTypeProvider>(), services));
  registerNoticeRoutes(http, services);
  registerWebhookRoutes(http, services);
  registerNotificationRoutes(http, services);
  registerAdminRoutes(http, services);
  registerCredentialReportRoutes(http, { reports: services.credentialReports, limiter: services.reportLimiter });
  registerInviteRoutes(http, services);
  registerSignInOptionsRoutes(http, services);
  await registerConsoleRoutes(http, { publicUrl });
  await http.register(async (scope) =>
    registerSignInRoutes(scope.withTypeProvider<ZodTypeProvider>(), {
      signIn: services.signIn,
      sessions: services.sessions,
      links: services.signInLinks,
      oidc: services.oidc,
      cliLogin: services.cliLogin,
      publicUrl,
    }),
  );
  registerErrorDocsRoutes(http);
  http.get('/api/openapi.json', { schema: { hide: true } }, async () => http.swagger());

  await http.ready();
  if (fastPath) {
    checkFastRoutes(routes);
    installFastPath(http.server, fastPath);
  }
  return { http, routes, services, fastPath };
}

/** A fast route answers as its Fastify route would, so it must be a GET route every token may call. */
function checkFastRoutes(routes: readonly RegisteredRoute[]): void {
  for (const { path } of FAST_ROUTES) {
    const route = routes.find((candidate) => candidate.method === 'GET' && candidate.url === path);
    if (!route || route.scope !== 'any' || (route.auth !== 'token' && route.auth !== 'either') || route.admin) {
      throw new Error(`fast route ${path}: not a GET route every token may call`);
    }
  }
}

/**
 * The route's OpenAPI security requirement, from the same data the hook enforces: a token with
 * the scope the route needs (none listed: any token), or a console session.
 */
function openApiSecurity(config: { auth?: AuthMode; scope?: RouteScope } | undefined): Array<Record<string, string[]>> | undefined {
  if (!config?.auth) return undefined;
  const bearer = { bearer: config.scope && config.scope !== 'any' ? [config.scope] : [] };
  if (config.auth === 'session') return [{ session: [] }];
  if (config.auth === 'token') return [bearer];
  return [bearer, { session: [] }];
}
