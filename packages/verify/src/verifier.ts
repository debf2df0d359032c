/**
 * The verifier: checks a Latchkey token for a Node service.
 *
 * 1. The token's shape and CRC32 checksum, offline: junk never costs a request.
 * 2. The positive cache, but only while the revocation stream is connected and has caught up:
 *    every event naming a token or an account drops what is cached for it, so a cached answer is
 *    as good as a fresh one. While the stream is down (before it first opens, after a cut, when
 *    it has been silent past its keep-alives) nothing cached is trusted.
 * 3. Otherwise RFC 7662 introspection (`POST /api/v1/introspect`) with the service's own token.
 *
 * Scope, namespace and IP allowlist are then checked here, on the introspection answer, with the
 * server's own rules (`@latchkey/contract/scopes`).
 */
import { isIP, BlockList } from 'node:net';
import type { ErrorCode } from '@latchkey/contract/errors';
import { grantsScope, isTokenScope, namespacePatternProblem, namespacesAllow, type TokenScope } from '@latchkey/contract/scopes';
import { hasValidChecksum } from '@latchkey/contract/token';
import { createSseParser, type ServerSentEvent } from './sse.js';
import { secretDigest, TokenCache, type ActiveToken } from './token-cache.js';

export interface VerifierOptions {
  /** Latchkey's base URL, e.g. `https://latchkey.example.com`. */
  url: string;
  /** A token holding the `introspect` scope (a service account's). */
  token: string;
  /** Most tokens kept in the positive cache (default 10,000; 0 turns the cache off). */
  cacheSize?: number;
  /** Longest an answer is kept, even while the stream says nothing about it (default 5 minutes). */
  cacheTtlMs?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
  /** Silence on the stream after which it is taken as cut (default 35 s: two missed keep-alives). */
  streamTimeoutMs?: number;
  /** Wait before reconnecting the stream (default 1 s). */
  reconnectDelayMs?: number;
  /** Timeout of one introspection request (default 10 s). */
  requestTimeoutMs?: number;
  /** Told of what goes wrong underneath (stream errors, unexpected answers); never of a secret. */
  onError?: (error: Error) => void;
}

/** What the protected request needs of the token. */
export interface VerifyDemand {
  /** A scope the token must hold (a write scope includes its read scope). */
  scope?: TokenScope;
  /** A namespace the token's restriction must cover (`preview-*` covers `preview-42`). */
  namespace?: string;
  /**
   * The client's address. A token with an IP allowlist is refused without one, or from outside
   * it (Latchkey cannot see the client of an introspected token, so its caller checks this).
   */
  clientIp?: string;
}

export interface VerifiedToken {
  ok: true;
  accountId: string;
  /** The owner's email, or null. */
  email: string | null;
  tokenId: string;
  scopes: TokenScope[];
  /** The namespace restriction; null: every namespace. */
  namespaces: string[] | null;
  /** RFC 3339 UTC, to the second. */
  expiresAt: string;
}

export interface RefusedToken {
  ok: false;
  /**
   * The error contract's code (`@latchkey/contract/errors`): `INVALID_TOKEN` (malformed, unknown,
   * revoked, expired, owner disabled, outside its allowlist: introspection does not say which),
   * `TOKEN_EXPIRED` (its expiry, which introspection gives to the second, passed while it was checked), `INSUFFICIENT_SCOPE`, or `UNAVAILABLE`
   * (Latchkey could not be asked).
   */
  code: ErrorCode;
  /** INSUFFICIENT_SCOPE: the scope demanded. */
  requiredScope?: TokenScope;
  /** INSUFFICIENT_SCOPE: the namespace the token's restriction does not cover. */
  namespace?: string;
}

export type VerifyResult = VerifiedToken | RefusedToken;

export interface VerifierStats {
  /** Whether the stream is connected and caught up (cached answers are used). */
  synced: boolean;
  cached: number;
  capacity: number;
  cacheHits: number;
  introspections: number;
}

export interface Verifier {
  verify(secret: string, demand?: VerifyDemand): Promise<VerifyResult>;
  /** Resolves once the revocation stream has caught up (or after `timeoutMs`, rejecting). */
  ready(timeoutMs?: number): Promise<void>;
  stats(): VerifierStats;
  /** Closes the stream; later verifications are answered UNAVAILABLE. */
  close(): Promise<void>;
}

const DEFAULTS = {
  cacheSize: 10_000,
  cacheTtlMs: 5 * 60_000,
  streamTimeoutMs: 35_000,
  reconnectDelayMs: 1_000,
  requestTimeoutMs: 10_000,
};

interface IntrospectionAnswer {
  active: boolean;
  scope?: string;
  sub?: string;
  username?: string | null;
  exp?: number;
  token_id?: string;
  namespaces?: string[] | null;
  allowed_ips?: string[] | null;
}

/** Events remembered per subject while answers are in flight; past this, all in flight are suspect. */
const MAX_NAMED = 10_000;

const refused = (code: ErrorCode, extra: Omit<RefusedToken, 'ok' | 'code'> = {}): RefusedToken => ({ ok: false, code, ...extra });

export function createVerifier(options: VerifierOptions): Verifier {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  const cache = new TokenCache(settings.cacheSize, settings.cacheTtlMs);
  const authorization = `Bearer ${options.token}`;
  const report = (error: unknown) => options.onError?.(error instanceof Error ? error : new Error(String(error)));

  let closed = false;
  let synced = false;
  /** Bumped by every event, and by anything after which nothing in flight may be cached. */
  let generation = 0;
  /** Bumped when every answer still in flight is suspect (reset, a lost or fresh stream). */
  let epoch = 0;
  /** The generation of the latest event per `token:<id>` / `account:<id>`, while answers are in flight. */
  const namedAt = new Map<string, number>();
  let lastEventId: string | undefined;
  let stream: AbortController | undefined;
  let wakeReconnect: (() => void) | undefined;
  const waiters = new Set<() => void>();
  const inFlight = new Map<string, { generation: number; answer: Promise<ActiveToken | null | 'unavailable'> }>();
  /** Introspections under way (shared or not): `namedAt` is kept while there are any. */
  let running = 0;
  let cacheHits = 0;
  let introspections = 0;

  /** An event: answers in flight are no longer shared, and none about `subject` is cached. */
  function invalidated(subject?: string): void {
    generation++;
    inFlight.clear();
    if (subject === undefined || namedAt.size >= MAX_NAMED) {
      epoch++;
      namedAt.clear();
    } else {
      namedAt.set(subject, generation);
    }
  }

  /** Whether an answer asked for at `started` (generation, epoch) may go into the cache. */
  function cacheable(token: ActiveToken, started: { generation: number; epoch: number }): boolean {
    if (closed || epoch !== started.epoch) return false;
    const named = Math.max(namedAt.get(`token:${token.tokenId}`) ?? -1, namedAt.get(`account:${token.accountId}`) ?? -1);
    return named <= started.generation;
  }

  function onStreamEvent(event: ServerSentEvent, resumed: boolean): void {
    if (event.id !== undefined) lastEventId = event.id;
    if (event.event === 'revoked') {
      const subject = parseRevoked(event.data);
      if (subject?.kind === 'token') cache.dropToken(subject.id);
      else if (subject?.kind === 'account') cache.dropAccount(subject.id);
      else cache.clear(); // an event this version does not understand: trust nothing
      invalidated(subject?.kind === 'token' || subject?.kind === 'account' ? `${subject.kind}:${subject.id}` : undefined);
    } else if (event.event === 'reset') {
      cache.clear();
      invalidated();
    } else if (event.event === 'ready') {
      // A stream that did not resume knows nothing of what happened before it: start afresh.
      if (!resumed) {
        cache.clear();
        invalidated();
      }
      synced = true;
      for (const wake of waiters) wake();
      waiters.clear();
    }
  }

  function lost(): void {
    synced = false;
    invalidated();
  }

  async function followOnce(): Promise<void> {
    const controller = new AbortController();
    stream = controller;
    const resumed = lastEventId !== undefined;
    let heard = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - heard > settings.streamTimeoutMs) controller.abort(new Error('the revocation stream went silent'));
    }, Math.max(10, Math.min(1_000, settings.streamTimeoutMs / 4)));
    watchdog.unref?.();
    try {
      const response = await doFetch(`${base}/api/v1/revocations`, {
        headers: { authorization, accept: 'text/event-stream', ...(resumed ? { 'last-event-id': lastEventId! } : {}) },
        signal: controller.signal,
      });
      if (response.status !== 200 || !response.body) {
        await response.body?.cancel();
        throw new Error(`GET /api/v1/revocations answered ${response.status}`);
      }
      heard = Date.now();
      const push = createSseParser({
        onEvent: (event) => onStreamEvent(event, resumed),
        onActivity: () => (heard = Date.now()),
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        push(value);
      }
      if (!closed) throw new Error('the revocation stream ended');
    } finally {
      clearInterval(watchdog);
      lost();
    }
  }

  const following = (async () => {
    while (!closed) {
      try {
        await followOnce();
      } catch (error) {
        if (!closed) report(error);
      }
      if (closed) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.reconnectDelayMs);
        wakeReconnect = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeReconnect = undefined;
    }
  })();

  async function introspect(secret: string): Promise<ActiveToken | null | 'unavailable'> {
    introspections++;
    try {
      const response = await doFetch(`${base}/api/v1/introspect`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token: secret }).toString(),
        signal: AbortSignal.timeout(settings.requestTimeoutMs),
      });
      if (response.status !== 200) {
        await response.body?.cancel();
        report(new Error(`POST /api/v1/introspect answered ${response.status}`));
        return 'unavailable';
      }
      return activeToken((await response.json()) as IntrospectionAnswer);
    } catch (error) {
      report(error);
      return 'unavailable';
    }
  }

  /** One introspection per secret at a time, shared by the calls that arrive while it runs. */
  function lookUp(secret: string, digest: string): Promise<ActiveToken | null | 'unavailable'> {
    const shared = inFlight.get(digest);
    if (shared && shared.generation === generation) return shared.answer;
    const started = { generation, epoch };
    running++;
    const answer = introspect(secret).then((found) => {
      running--;
      if (inFlight.get(digest)?.answer === answer) inFlight.delete(digest);
      // Not cached if an event about this token or its account arrived meanwhile: the answer
      // may predate it.
      if (found && found !== 'unavailable' && cacheable(found, started)) cache.set(digest, found, Date.now());
      if (running === 0) namedAt.clear();
      return found;
    });
    inFlight.set(digest, { generation, answer });
    return answer;
  }

  return {
    async verify(secret, demand = {}) {
      checkDemand(demand);
      if (typeof secret !== 'string' || !hasValidChecksum(secret)) return refused('INVALID_TOKEN');
      if (closed) return refused('UNAVAILABLE');
      const digest = secretDigest(secret);
      let token = synced ? cache.get(digest, Date.now()) : undefined;
      if (token) cacheHits++;
      else {
        const found = await lookUp(secret, digest);
        if (found === 'unavailable') return refused('UNAVAILABLE');
        if (found === null) return refused('INVALID_TOKEN');
        token = found;
      }
      return decide(token, demand);
    },
    ready(timeoutMs = 30_000) {
      if (synced) return Promise.resolve();
      if (closed) return Promise.reject(new Error('the verifier is closed'));
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`the revocation stream did not catch up within ${timeoutMs} ms`));
        }, timeoutMs);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.add(wake);
      });
    },
    stats: () => ({ synced, cached: cache.size, capacity: cache.capacity, cacheHits, introspections }),
    async close() {
      closed = true;
      stream?.abort();
      wakeReconnect?.();
      await following;
      cache.clear();
      inFlight.clear();
    },
  };
}

function definedOnly(options: VerifierOptions): Partial<typeof DEFAULTS> {
  const picked: Partial<typeof DEFAULTS> = {};
  for (const key of Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>) {
    if (options[key] !== undefined) picked[key] = options[key];
  }
  return picked;
}

/** A demand the server would refuse with 422 is a mistake in the service's code: thrown, never a pass. */
function checkDemand(demand: VerifyDemand): void {
  if (demand.scope !== undefined && !isTokenScope(demand.scope)) throw new TypeError(`unknown scope ${JSON.stringify(demand.scope)}`);
  if (demand.namespace !== undefined && (typeof demand.namespace !== 'string' || demand.namespace.endsWith('*') || namespacePatternProblem(demand.namespace))) {
    throw new TypeError(`not a namespace name: ${JSON.stringify(demand.namespace)}`);
  }
}

function parseRevoked(data: string): { kind: string; id: string } | undefined {
  try {
    const parsed = JSON.parse(data) as { kind?: unknown; id?: unknown };
    return typeof parsed.kind === 'string' && typeof parsed.id === 'string' ? { kind: parsed.kind, id: parsed.id } : undefined;
  } catch {
    return undefined;
  }
}

function activeToken(answer: IntrospectionAnswer): ActiveToken | null {
  if (answer.active !== true || typeof answer.sub !== 'string' || typeof answer.token_id !== 'string' || typeof answer.exp !== 'number') return null;
  return {
    accountId: answer.sub,
    email: answer.username ?? null,
    tokenId: answer.token_id,
    scopes: (answer.scope ?? '').split(' ').filter(isTokenScope),
    namespaces: answer.namespaces ?? null,
    allowedIps: answer.allowed_ips ?? null,
    expiresAtMs: answer.exp * 1000,
  };
}

function decide(token: ActiveToken, demand: VerifyDemand): VerifyResult {
  if (Date.now() >= token.expiresAtMs) return refused('TOKEN_EXPIRED');
  if (token.allowedIps !== null && (demand.clientIp === undefined || !allowlistAdmits(token.allowedIps, demand.clientIp))) {
    return refused('INVALID_TOKEN');
  }
  const scopes = token.scopes as TokenScope[];
  if (demand.scope !== undefined && !grantsScope(scopes, demand.scope)) return refused('INSUFFICIENT_SCOPE', { requiredScope: demand.scope });
  if (demand.namespace !== undefined && !namespacesAllow(token.namespaces, demand.namespace)) {
    return refused('INSUFFICIENT_SCOPE', { ...(demand.scope ? { requiredScope: demand.scope } : {}), namespace: demand.namespace });
  }
  return {
    ok: true,
    accountId: token.accountId,
    email: token.email,
    tokenId: token.tokenId,
    scopes,
    namespaces: token.namespaces,
    expiresAt: new Date(token.expiresAtMs).toISOString().replace('.000Z', 'Z'),
  };
}

/**
 * Whether `ip` is in the allowlist (canonical entries: an address, or network/prefix). An
 * IPv4-mapped IPv6 address counts as its IPv4 address, as on the server.
 */
export function allowlistAdmits(entries: readonly string[], ip: string): boolean {
  const address = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? ip;
  const family = isIP(address);
  if (family === 0) return false;
  const list = new BlockList();
  for (const entry of entries) {
    const [network, bits] = entry.split('/');
    const kind = isIP(network ?? '');
    if (kind === 0) continue;
    const type = kind === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(network!, type);
    else list.addSubnet(network!, Number(bits), type);
  }
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
