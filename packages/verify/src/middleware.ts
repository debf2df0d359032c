/**
 * Framework helpers: a Fastify plugin and an Express middleware that read
 * `Authorization: Bearer …`, verify it, and either hand the request on with `request.latchkey`
 * set or answer as Latchkey itself would: the error contract's problem+json with the same
 * `WWW-Authenticate` challenge (docs/security.md, error contract).
 *
 * Neither framework is a dependency: the types below are the few members used.
 */
import { ERRORS, type ErrorCode, type ProblemDetails } from '@latchkey/contract/errors';
import { challengeFor } from '@latchkey/contract/challenges';
import type { RefusedToken, VerifiedToken, Verifier, VerifyDemand } from './verifier.js';

/** What a protected route needs; the namespace may depend on the request (`/ns/:name/…`). */
export interface ProtectOptions<Request> {
  scope?: VerifyDemand['scope'];
  namespace?: string | ((request: Request) => string | undefined);
}

export interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: ProblemDetails;
}

/** Seconds a client should wait after UNAVAILABLE, as the server says. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** The answer Latchkey would give for this refusal. */
export function refusalResponse(result: Pick<RefusedToken, 'code' | 'requiredScope' | 'namespace'>): Refusal {
  const { status, type, title } = ERRORS[result.code];
  const body: ProblemDetails = { type, title, status, code: result.code };
  if (result.requiredScope) body.requiredScope = result.requiredScope;
  if (result.namespace) body.namespace = result.namespace;
  const headers: Record<string, string> = { 'content-type': 'application/problem+json', 'cache-control': 'no-store' };
  const challenge = challengeFor(result.code, result);
  if (challenge) headers['www-authenticate'] = challenge;
  if (result.code === 'UNAVAILABLE') headers['retry-after'] = String(UNAVAILABLE_RETRY_AFTER_SECONDS);
  return { status, headers, body };
}

/**
 * The bearer token of an Authorization header: the token, or the refusal for a missing header
 * or another scheme (UNAUTHENTICATED) and for a malformed one (INVALID_REQUEST).
 */
export function bearerToken(header: string | string[] | undefined): string | { code: ErrorCode } {
  if (header === undefined || header === '') return { code: 'UNAUTHENTICATED' };
  if (Array.isArray(header)) return { code: 'INVALID_REQUEST' };
  const match = /^Bearer +(\S+) *$/i.exec(header);
  if (match) return match[1]!;
  return /^Bearer\b/i.test(header) ? { code: 'INVALID_REQUEST' } : { code: 'UNAUTHENTICATED' };
}

/** Verifies the request's token against `options`: the verified token, or the answer to send. */
export async function authorize<Request>(
  verifier: Verifier,
  request: Request,
  header: string | string[] | undefined,
  clientIp: string | undefined,
  options: ProtectOptions<Request>,
): Promise<VerifiedToken | Refusal> {
  const secret = bearerToken(header);
  if (typeof secret !== 'string') return refusalResponse(secret);
  const namespace = typeof options.namespace === 'function' ? options.namespace(request) : options.namespace;
  const demand: VerifyDemand = {};
  if (options.scope !== undefined) demand.scope = options.scope;
  if (namespace !== undefined) demand.namespace = namespace;
  if (clientIp !== undefined) demand.clientIp = clientIp;
  const result = await verifier.verify(secret, demand);
  return result.ok ? result : refusalResponse(result);
}

// ---------------------------------------------------------------------------------------------
// Express (and anything with its req/res/next shape)

export interface ExpressLikeRequest {
  headers: Record<string, string | string[] | undefined>;
  ip?: string | undefined;
  latchkey?: VerifiedToken;
}

export interface ExpressLikeResponse {
  status(code: number): this;
  set(headers: Record<string, string>): this;
  send(body: string): unknown;
}

/** `app.use(latchkeyExpress(verifier, { scope: 'namespaces:read' }))`: sets `req.latchkey`. */
export function latchkeyExpress<Request extends ExpressLikeRequest>(verifier: Verifier, options: ProtectOptions<Request> = {}) {
  return (request: Request, response: ExpressLikeResponse, next: (error?: unknown) => void): void => {
    authorize(verifier, request, request.headers.authorization, request.ip, options).then((outcome) => {
      if ('ok' in outcome) {
        request.latchkey = outcome;
        next();
      } else {
        response.status(outcome.status).set(outcome.headers).send(JSON.stringify(outcome.body));
      }
    }, next);
  };
}

// ---------------------------------------------------------------------------------------------
// Fastify

export interface FastifyLikeRequest {
  headers: Record<string, string | string[] | undefined>;
  ip: string;
  latchkey?: VerifiedToken | null;
}

export interface FastifyLikeReply {
  code(status: number): this;
  headers(values: Record<string, string>): this;
  send(body: string): unknown;
}

export interface FastifyLikeInstance {
  hasRequestDecorator(name: 'latchkey'): boolean;
  decorateRequest(name: 'latchkey', value: null): unknown;
  addHook(name: 'onRequest', hook: (request: never, reply: never) => Promise<unknown>): unknown;
}

/**
 * A Fastify plugin that protects every route of the scope it is registered in:
 * `await app.register(latchkeyFastify(verifier, { scope: 'namespaces:read' }))`. Like
 * fastify-plugin, it is not encapsulated (the hook applies to routes registered beside it).
 */
export function latchkeyFastify<Request extends FastifyLikeRequest>(verifier: Verifier, options: ProtectOptions<Request> = {}) {
  const plugin = async (fastify: FastifyLikeInstance): Promise<void> => {
    // Registered again in a nested scope (a route demanding more): decorated once.
    if (!fastify.hasRequestDecorator('latchkey')) fastify.decorateRequest('latchkey', null);
    const hook = async (request: Request, reply: FastifyLikeReply): Promise<unknown> => {
      const outcome = await authorize(verifier, request, request.headers.authorization, request.ip, options);
      if ('ok' in outcome) {
        request.latchkey = outcome;
        return undefined;
      }
      return reply.code(outcome.status).headers(outcome.headers).send(JSON.stringify(outcome.body));
    };
    fastify.addHook('onRequest', hook as (request: never, reply: never) => Promise<unknown>);
  };
  // fastify-plugin's marker: register in the parent's context, not a child's.
  return Object.assign(plugin, { [Symbol.for('skip-override')]: true });
}
