/**
 * The verification fast path (docs/performance.md, P1 and P4). Most of what a token costs is
 * not checking it but the generic machinery around the check: routing, request and reply
 * objects, a chain of async hooks, a serializer. So the hottest answers are given here, in
 * front of Fastify, straight on Node's request and response: `GET` of a route that declares
 * itself fast (`/api/v1/me`, `/api/v1/verify`), with one `Authorization: Bearer` header, no
 * query string and no body, when the answer needs no I/O —
 *
 * - a token failing its checksum: R-INVALID, which never touches the database or the throttle;
 * - a token this instance holds verified in memory (SQLite's verified-token cache, exactly
 *   invalidated) that may pass: the route's answer, with the same bookkeeping as the hook
 *   (last use, throttle).
 *
 * Everything else — a cache miss, any other refusal, a session cookie, HEAD, a query string,
 * a server not ready or closing — is handed to Fastify untouched (nothing read, nothing
 * written), which answers it as it always has. What is answered here is what Fastify would
 * send, header for header and byte for byte, with the same request log line: the answers are
 * built by the same functions (the route's presenter, problem.ts, logging.ts), and a test sends
 * every kind of request both ways and compares them (test/fast-path.test.ts).
 *
 * A route's answer depends only on the token's row, its owner and the token's state, so it is
 * built once per cached row and kept while those stay the same (the cache replaces a row that
 * changes, except its last use, which is compared).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';
import { TOKEN_EXPIRES_AT_HEADER, tokenStateAt, type TokenState } from '@latchkey/contract';
import type { Logger } from 'pino';
import type { AccountRecord } from '../accounts/account.js';
import { AppError } from '../kernel/app-error.js';
import type { AuthenticatedToken } from '../tokens/token-service.js';
import type { TokenRecord } from '../tokens/token.js';
import { countAuthorizationHeaders, parseAuthorizationHeader } from './authorization-header.js';
import { authFailureLogFields, requestLogFields } from './logging.js';
import { problemResponse } from './problem.js';

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
  tokens: { authenticateNow(presented: string, clientIp: string): AuthenticatedToken | AppError | undefined };
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

/** What a route's answer was built from; it is kept while these are unchanged. */
interface Memo {
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
  /** Per refusal answered here (the checksum refusal is one shared error). */
  const refusals = new WeakMap<AppError, Prepared>();
  let open = true;
  let answered = 0;

  function prepared(index: number, { account, token, dbNow }: AuthenticatedToken): Prepared {
    const state = tokenStateAt(token, dbNow);
    let memo = memos.get(token);
    if (
      !memo ||
      memo.account !== account ||
      memo.lastUsedAt !== token.lastUsedAt ||
      memo.lastUsedIp !== token.lastUsedIp ||
      memo.rotationUses !== token.rotationUses ||
      memo.state !== state
    ) {
      memo = { account, lastUsedAt: token.lastUsedAt, lastUsedIp: token.lastUsedIp, rotationUses: token.rotationUses, state, answers: [] };
      memos.set(token, memo);
    }
    return (memo.answers[index] ??= prepare(deps.routes[index]!.answer(account, token, dbNow), token));
  }

  function refusal(error: AppError): Prepared {
    let answer = refusals.get(error);
    if (!answer) {
      const { status, headers, body } = problemResponse(error.code, {
        detail: error.detail,
        errors: error.errors,
        retryAfterSeconds: error.retryAfterSeconds,
        ...error.extensions,
      });
      // As the authentication hook sends it: `cache-control` first, then the problem's own headers.
      answer = { status, headers: flatten({ 'cache-control': 'no-store', ...headers, 'content-length': String(Buffer.byteLength(body)) }), body };
      refusals.set(error, answer);
    }
    return answer;
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
      const logged = logger.isLevelEnabled('info');
      const startedAt = logged ? performance.now() : 0;
      const ip = clientIpOf(request);
      if (ip === undefined) return false;

      let outcome: AuthenticatedToken | AppError | undefined;
      try {
        outcome = tokens.authenticateNow(authorization.token, ip);
      } catch {
        // Whatever failed (the database closing under us …), Fastify's path meets it again and answers it.
        return false;
      }
      if (outcome === undefined) return false;

      const id = randomUUID();
      let answer: Prepared;
      let principal: { account: AccountRecord; token: TokenRecord } | undefined;
      if (outcome instanceof AppError) {
        answer = refusal(outcome);
        if (outcome.logReason && logger.isLevelEnabled('warn')) {
          logger.warn({ reqId: id, ...authFailureLogFields(outcome.logReason, ip, authorization.token) }, 'authentication failed');
        }
      } else {
        answer = prepared(index, outcome);
        principal = outcome;
      }
      response.writeHead(answer.status, ['x-request-id', id, ...answer.headers]);
      response.end(answer.body);
      answered++;
      if (logged) {
        logger.info({ reqId: id, ...requestLogFields(request.method, request.url!, answer.status, performance.now() - startedAt, ip, principal?.account, principal?.token) }, 'request');
      }
      return true;
    },
  };
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
