/**
 * The verification fast path (docs/performance.md, P1 and P4). Most of what a token costs is
 * not checking it but the generic machinery around the check: routing, request and reply
 * objects, a chain of async hooks, a serializer. So the hottest answers are given here, in
 * front of Fastify, straight on Node's request and response: `GET` of a route that declares
 * itself fast (`/api/v1/me`, `/api/v1/verify`), with one `Authorization: Bearer` header, no
 * query string and no body:
 *
 * - when the answer needs no I/O it is given at once: a token failing its checksum (R-INVALID,
 *   which never touches the database or the throttle), or a token this instance holds verified
 *   in memory (SQLite's verified-token cache, exactly invalidated) that may pass;
 * - otherwise the token service authenticates it as the hook would (the lookup, the throttle,
 *   the refusal counted) and the answer follows.
 *
 * Everything else — a session cookie, HEAD, a query string, a server not ready or closing — is
 * handed to Fastify untouched (nothing read, nothing written), which answers it as it always
 * has. What is answered here is what Fastify would send, header for header and byte for byte,
 * with the same log lines: the answers are built by the same functions (the route's presenter,
 * problem.ts, logging.ts), and a test sends every kind of request both ways and compares them
 * (test/http/fast-path.test.ts).
 *
 * A route's answer depends only on the token's row, its owner and the token's state, so for a
 * cached row it is built once and kept while those stay the same (the cache replaces a row that
 * changes, except its last use, which is compared).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { TOKEN_EXPIRES_AT_HEADER, tokenStateAt, type TokenState } from '@latchkey/contract';
import type { Logger } from 'pino';
import type { AccountRecord } from '../accounts/account.js';
import { AppError } from '../kernel/app-error.js';
import { LruMap } from '../kernel/lru-map.js';
import { StoreUnavailableError } from '../kernel/store-errors.js';
import type { AuthenticatedToken, TokenService } from '../tokens/token-service.js';
import type { TokenRecord } from '../tokens/token.js';
import { DEFAULT_TOKEN_CACHE_ENTRIES } from '../tokens/verified-token-cache.js';
import { countAuthorizationHeaders, parseAuthorizationHeader } from './authorization-header.js';
import { authFailureLogFields, requestLogFields } from './logging.js';
import { DATABASE_UNAVAILABLE_DETAIL } from './error-handler.js';
import { problemOptionsOf, problemResponse } from './problem.js';

/** A route answered here when it can be: its path, and its answer to a token that passed. */
export interface FastRoute {
  /** The exact path of a `GET` route any token may call (`config.scope: 'any'`). */
  path: string;
  /** What the route sends a token that authenticated; called once per cached token row and state. */
  answer(account: AccountRecord, token: TokenRecord, dbNow: number): FastAnswer;
}

export interface FastAnswer {
  status: number;
  /** Headers beside those of every authenticated answer (`cache-control`, the token's expiry). */
  headers?: Record<string, string>;
  /** A JSON body (sent as `application/json; charset=utf-8`), or none. */
  json?: unknown;
}

export interface FastPath {
  /** Answers the request and returns true, or returns false having read and written nothing. */
  answer(request: IncomingMessage, response: ServerResponse): boolean;
  /** From now on every request goes to Fastify, whose drain then applies (`Connection: close`). */
  close(): void;
  /** Requests answered here so far (tests check which way a request went). */
  readonly answered: number;
}

export interface FastPathDeps {
  tokens: Pick<TokenService, 'authenticate' | 'authenticateNow'>;
  routes: readonly FastRoute[];
  logger: Logger;
  /** As given to Fastify: the client address is then the one Fastify's `request.ip` would give. */
  trustProxy?: boolean | string[];
  isReady?: () => boolean;
}

/** A built answer: the status and every header but the request id, as `writeHead` takes them. */
interface Prepared {
  status: number;
  headers: string[];
  body: string | undefined;
}

/** A request taken by the fast path, waiting for the end of the event loop's poll phase. */
interface Received {
  request: IncomingMessage;
  response: ServerResponse;
  /** The route's index in `routes`. */
  index: number;
  presented: string;
  ip: string;
  startedAt: number;
}

/** What a route's answer was built from; it is kept while these are unchanged. */
interface Memo {
  token: TokenRecord;
  account: AccountRecord;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
  rotationUses: number | undefined;
  state: TokenState;
  answers: Array<Prepared | undefined>;
}

export function createFastPath(deps: FastPathDeps): FastPath {
  const { tokens, logger, isReady } = deps;
  const routeIndex = new Map(deps.routes.map((route, index) => [route.path, index]));
  const clientIpOf = clientAddress(deps.trustProxy);
  /** Per cached token row (the cache's own object, replaced when the row changes). */
  const memos = new WeakMap<TokenRecord, Memo>();
  /** Per token id, for rows looked up afresh (bounded as the SQLite cache is). */
  const recent = new LruMap<string, Memo>(DEFAULT_TOKEN_CACHE_ENTRIES);
  /** Per refusal answered here (the checksum refusal is one shared error). */
  const refusals = new WeakMap<AppError, Prepared>();
  let open = true;
  let answered = 0;
  let received: Received[] = [];

  /**
   * The route's answer, kept per token while what it is built from stays the same: for a cached
   * row (the cache's own object, changed in place only in its last use) by the row's identity;
   * for a row looked up afresh (PostgreSQL) by the token's id and an equal row.
   */
  function answerFor(index: number, { account, token, dbNow }: AuthenticatedToken, cached: boolean): Prepared {
    const state = tokenStateAt(token, dbNow);
    let memo = cached ? memos.get(token) : recent.peek(token.id);
    const current = cached
      ? memo !== undefined &&
        memo.account === account &&
        memo.lastUsedAt === token.lastUsedAt &&
        memo.lastUsedIp === token.lastUsedIp &&
        memo.rotationUses === token.rotationUses &&
        memo.state === state
      : memo !== undefined && memo.state === state && sameData(memo.token, token) && sameData(memo.account, account);
    if (!current) {
      memo = { token, account, lastUsedAt: token.lastUsedAt, lastUsedIp: token.lastUsedIp, rotationUses: token.rotationUses, state, answers: [] };
      if (cached) memos.set(token, memo);
      else recent.touch(token.id, memo);
    }
    return (memo!.answers[index] ??= prepare(deps.routes[index]!.answer(account, token, dbNow), token));
  }

  function refusal(error: AppError): Prepared {
    let answer = refusals.get(error);
    if (!answer) {
      answer = problem(error.code, problemOptionsOf(error));
      refusals.set(error, answer);
    }
    return answer;
  }

  /** What Fastify's error handler answers (and logs) for a failure thrown by authentication. */
  function failure(error: unknown, id: string, ip: string, presented: string): Prepared {
    if (error instanceof AppError) {
      if (error.logReason && logger.isLevelEnabled('warn')) {
        logger.warn({ reqId: id, ...authFailureLogFields(error.logReason, ip, presented) }, 'authentication failed');
      }
      return refusal(error);
    }
    if (error instanceof StoreUnavailableError) {
      logger.warn({ reqId: id, err: error.cause ?? error }, 'database unavailable');
      return problem('UNAVAILABLE', { detail: DATABASE_UNAVAILABLE_DETAIL });
    }
    logger.error({ reqId: id, err: error }, 'unhandled error');
    return problem('INTERNAL');
  }

  function send(pending: Received, id: string, answer: Prepared, principal: AuthenticatedToken | undefined): void {
    const { request, response } = pending;
    // Closed meanwhile: as Fastify answers during its drain.
    const headers = open ? ['x-request-id', id, ...answer.headers] : ['x-request-id', id, ...answer.headers, 'connection', 'close'];
    response.writeHead(answer.status, headers);
    response.end(answer.body);
    answered++;
    if (logger.isLevelEnabled('info')) {
      const elapsedMs = performance.now() - pending.startedAt;
      const fields = requestLogFields(request.method!, request.url!, answer.status, elapsedMs, pending.ip, principal?.account, principal?.token);
      logger.info({ reqId: id, ...fields }, 'request');
    }
  }

  return {
    get answered() {
      return answered;
    },

    close() {
      open = false;
    },

    answer(request, response) {
      if (!open || request.method !== 'GET') return false;
      const index = routeIndex.get(request.url!);
      if (index === undefined) return false;
      const { headers } = request;
      if (headers.authorization === undefined || headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined) {
        return false;
      }
      if (isReady && !isReady()) return false;
      if (countAuthorizationHeaders(request.rawHeaders) !== 1) return false;
      const authorization = parseAuthorizationHeader(headers.authorization);
      if (authorization.kind !== 'bearer') return false;
      const ip = clientIpOf(request);
      if (ip === undefined) return false;
      received.push({ request, response, index, presented: authorization.token, ip, startedAt: performance.now() });
      if (received.length === 1) setImmediate(answerReceived);
      return true;
    },
  };

  /**
   * Answers the requests received since the last call: the poll phase of the event loop has read
   * them all, so one check of the token cache against commits made elsewhere covers them all
   * (tokens.authenticateNow). What needs I/O is authenticated one by one, as the hook would.
   */
  function answerReceived(): void {
    const batch = received;
    received = [];
    let outcomes: Array<AuthenticatedToken | AppError | undefined>;
    try {
      outcomes = tokens.authenticateNow(batch.map(({ presented, ip }) => ({ token: presented, clientIp: ip })));
    } catch {
      // Whatever failed (the database closing under us …), `authenticate` meets it again and it is answered.
      outcomes = batch.map(() => undefined);
    }
    batch.forEach((pending, position) => {
      const outcome = outcomes[position];
      const id = randomUUID();
      const { presented, ip } = pending;
      if (outcome instanceof AppError) send(pending, id, failure(outcome, id, ip, presented), undefined);
      else if (outcome !== undefined) send(pending, id, answerFor(pending.index, outcome, true), outcome);
      else {
        tokens.authenticate(presented, ip).then(
          (authenticated) => send(pending, id, answerFor(pending.index, authenticated, false), authenticated),
          (error: unknown) => send(pending, id, failure(error, id, ip, presented), undefined),
        ).catch((error: unknown) => {
          // Sending failed (the client went away): nothing more to answer.
          logger.warn({ reqId: id, err: error }, 'fast path answer failed');
        });
      }
    });
  }
}

/** Puts the fast path in front of the Fastify handler the server was created with. */
export function installFastPath(server: Server, fastPath: FastPath): void {
  const handlers = server.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
  if (handlers.length !== 1) throw new Error(`expected the server to have one request handler (Fastify's), found ${handlers.length}`);
  const fastify = handlers[0]!;
  server.removeListener('request', fastify);
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (!fastPath.answer(request, response)) fastify(request, response);
  });
}

function prepare(answer: FastAnswer, token: TokenRecord): Prepared {
  const headers: Record<string, string> = {
    'cache-control': 'no-store',
    [TOKEN_EXPIRES_AT_HEADER]: new Date(token.expiresAt).toISOString(),
    ...answer.headers,
  };
  if (answer.json === undefined) return { status: answer.status, headers: flatten(headers), body: undefined };
  const body = JSON.stringify(answer.json);
  headers['content-type'] = 'application/json; charset=utf-8';
  headers['content-length'] = String(Buffer.byteLength(body));
  return { status: answer.status, headers: flatten(headers), body };
}

/** Whether two rows hold the same data: primitives, arrays and plain objects, compared all the way down. */
function sameData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((item, index) => sameData(item, b[index]));
  if (Array.isArray(b) || Object.getPrototypeOf(a) !== Object.prototype || Object.getPrototypeOf(b) !== Object.prototype) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.hasOwn(b, key) && sameData((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

/** A problem+json answer as the authentication hook and sendProblem give it: `cache-control` first. */
function problem(...args: Parameters<typeof problemResponse>): Prepared {
  const { status, headers, body } = problemResponse(...args);
  return { status, headers: flatten({ 'cache-control': 'no-store', ...headers, 'content-length': String(Buffer.byteLength(body)) }), body };
}

function flatten(headers: Record<string, string>): string[] {
  return Object.entries(headers).flat();
}

/** The client address as Fastify's `request.ip` gives it, for the same `trustProxy`. */
function clientAddress(trustProxy: boolean | string[] | undefined): (request: IncomingMessage) => string | undefined {
  if (!trustProxy) return (request) => request.socket.remoteAddress;
  const trusted = trustProxy === true ? () => true : proxyAddr.compile(trustProxy);
  return (request) => {
    const addresses = proxyAddr.all(request, trusted);
    return addresses[addresses.length - 1];
  };
}
