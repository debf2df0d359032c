/**
 * Personal access tokens: creation with a validated name and lifetime, listing by state,
 * revocation, and authentication of a presented token, throttled per client address when that
 * address sends refused tokens (docs/security.md, item 39).
 */
import {
  DAY_MS,
  DEFAULT_TOKEN_LIFETIME_DAYS,
  EXPIRING_WINDOW_DAYS,
  TOKEN_LIFETIME_LIMIT_DAYS,
  TOKEN_LIFETIME_PRESETS_DAYS,
  normalizeTokenName,
  normalizeTokenNote,
  tokenNameProblem,
  tokenNoteProblem,
  type CreateTokenRequest,
  type ListTokensQuery,
  type RotateTokenRequest,
  type TokenSettingsView,
} from '@latchkey/contract';
import { TOKEN_SCOPES } from '@latchkey/contract/scopes';
import { generateToken, hasValidChecksum, hashToken } from '@latchkey/contract/token';
import type { AccountRecord } from '../accounts/account.js';
import { auditEvent, type Actor, type AuditEventRecord } from '../audit/audit-event.js';
import type { FailureLimiter } from '../auth-failures/failure-limiter.js';
import { createFailureThrottle, type FailureThrottle } from '../auth-failures/failure-throttle.js';
import { AppError, fieldError } from '../kernel/app-error.js';
import { allowlistAdmits } from '../kernel/ip-allowlist.js';
import type { Clock } from '../kernel/clock.js';
import { isId, newId } from '../kernel/ids.js';
import { StoreConflictError } from '../kernel/store-errors.js';
import type { RotationRefusal, TokenAddress, TokenAndOwner, TokenRecord } from './token.js';
import {
  allowlistFor,
  lifetimeWithin,
  namespacesFor,
  scopesFor,
  serviceScopesFor,
  withinPolicy,
  type TokenGrantor,
  type TokenPolicy,
} from './token-grants.js';
import type { TokenStore } from './token-store.js';
import { createTokenUseRecorder } from './token-use-recorder.js';

export type { TokenGrantor, TokenPolicy } from './token-grants.js';

export { LAST_USED_WRITE_INTERVAL_MS } from './token-use-recorder.js';

export interface TokenSettings {
  /** The operator's maximum lifetime (TOKEN_MAX_LIFETIME_DAYS). */
  maxLifetimeDays: number;
  /** Non-revoked tokens an account may hold. */
  maxTokensPerAccount: number;
}

export interface AuthenticatedToken {
  account: AccountRecord;
  token: TokenRecord;
  /** The database clock when the token was checked. */
  dbNow: number;
}

/** A token's page: where it was used, and what it did. */
export interface TokenActivity {
  addresses: TokenAddress[];
  events: AuditEventRecord[];
}

/** What a token page shows of its actions and addresses. */
export const TOKEN_ACTIVITY_EVENTS = 20;
export const TOKEN_ACTIVITY_ADDRESSES = 5;

export interface TokenService {
  create(
    accountId: string,
    input: CreateTokenRequest,
    actor: Actor,
    grantor?: TokenGrantor,
  ): Promise<{ token: TokenRecord; secret: string }>;
  list(accountId: string, query: ListTokensQuery): Promise<{ tokens: TokenRecord[]; dbNow: number }>;
  get(accountId: string, tokenId: string): Promise<{ token: TokenRecord; dbNow: number }>;
  /** Revokes one of the account's tokens; NOT_FOUND for a missing, foreign or revoked one. */
  revoke(accountId: string, tokenId: string, actor: Actor): Promise<void>;
  /**
   * Replaces one of the account's tokens by a new one with the same name, note, scopes,
   * namespaces and allowlist and a fresh lifetime (`expiresInDays`, within the policy); the old
   * secret keeps working for `graceSeconds` (default 0: refused when this returns, on every
   * instance), its uses counted. NOT_FOUND for a missing or foreign token; TOKEN_NOT_ROTATABLE
   * (reason `rotated`, `revoked` or `expired`) for one that is not current. A grantor token
   * other than the rotated one bounds the new token as at create; a token rotating itself keeps
   * exactly what it has (it cannot widen itself) and gets a fresh lifetime.
   */
  rotate(
    accountId: string,
    tokenId: string,
    input: RotateTokenRequest,
    actor: Actor,
    grantor?: TokenGrantor,
  ): Promise<{ token: TokenRecord; secret: string; replaced: TokenRecord }>;
  /** The token's recent distinct addresses and audited actions; NOT_FOUND for another's. */
  activity(accountId: string, tokenId: string): Promise<TokenActivity>;
  /** The lifetimes and scopes `create` accepts for a personal token now (the policy), and the lifetime it gives when none is asked for. */
  lifetimeSettings(): Promise<TokenSettingsView>;
  /**
   * Checks a presented token: format and checksum first (no database, never counted), then one
   * lookup by digest. Throws INVALID_TOKEN (malformed, unknown, revoked, owner disabled — one
   * answer for all) or TOKEN_EXPIRED; a looked-up token refused so counts against the client
   * address (docs/security.md, item 39). From a throttled address, a token this instance has not
   * verified recently may be refused RATE_LIMITED without a lookup; a token that verifies is
   * never refused for other requests' failures.
   */
  authenticate(presented: string, clientIp: string): Promise<AuthenticatedToken>;
  /**
   * `authenticate`'s answer for each presented token when it needs no I/O, or undefined where
   * only `authenticate` can tell: a token failing its checksum is refused (returned, not
   * thrown); a token this instance holds verified in memory (SQLite's verified-token cache) and
   * may pass is answered with the same bookkeeping (last use, throttle). A cache miss, or a cached
   * token refused for another reason (revoked, expired, outside its allowlist: those count against
   * the address, which is I/O), gives undefined having changed nothing, so `authenticate` then
   * does it all. One check for commits made elsewhere covers the whole batch: every request in it
   * must have been received before the call. The token answered is the cache's own object
   * (stable while it is valid): read it, never change it.
   */
  authenticateNow(presented: ReadonlyArray<{ token: string; clientIp: string }>): Array<AuthenticatedToken | AppError | undefined>;
  /**
   * What a service asks of a token it was shown (RFC 7662 introspection): the token and its
   * owner when it is valid now, undefined for anything else — malformed, unknown, revoked,
   * expired, owner disabled: one answer. The allowlist is not applied (the client is not the
   * caller here; the answer carries it), and nothing is counted against the caller's address:
   * a service checks many tokens that are not good.
   */
  introspect(presented: string): Promise<AuthenticatedToken | undefined>;
}

export function createTokenService(deps: {
  store: TokenStore;
  clock: Clock;
  settings: TokenSettings;
  /** Where failed authentications are counted per client address; no throttling when absent (most tests). */
  failureLimiter?: FailureLimiter;
  /** This instance's throttle over `failureLimiter`, when the composition root shares it (the administration API lifts throttles). */
  failureThrottle?: FailureThrottle;
  /** Told about a failed last-used write; such a failure never fails the request. */
  onBackgroundError?: (error: unknown) => void;
  /** Told when a valid token is presented from outside its allowlist (and refused): the owner's notice. */
  onOutsideAllowlist?: (token: TokenRecord, ip: string) => Promise<void>;
  /** The audit trail, read for a token's page. */
  auditEvents?: (filter: { tokenId: string; limit: number }) => Promise<AuditEventRecord[]>;
  /** The instance policy, read at each create and settings request; the settings' maximum and every scope when absent. */
  policy?: () => Promise<TokenPolicy>;
}): TokenService {
  const { store, clock, settings } = deps;
  const throttle = deps.failureThrottle ?? (deps.failureLimiter && createFailureThrottle({ limiter: deps.failureLimiter, clock }));
  const uses = createTokenUseRecorder({ store, clock, onBackgroundError: deps.onBackgroundError });

  function currentPolicy(): Promise<TokenPolicy> {
    if (deps.policy) return deps.policy();
    return Promise.resolve({ maxLifetimeDays: settings.maxLifetimeDays, serviceMaxLifetimeDays: null, personalScopes: TOKEN_SCOPES });
  }

  /** A service account's token: any whole number of days up to the service maximum (default 180, or the maximum when lower). */
  function serviceLifetimeEnd(input: Pick<CreateTokenRequest, 'expiresInDays' | 'expiresAt'>, now: number, policy: TokenPolicy): number {
    const maxDays = policy.serviceMaxLifetimeDays ?? TOKEN_LIFETIME_LIMIT_DAYS;
    if (input.expiresAt !== undefined) throw fieldError('/expiresAt', 'give expiresInDays for a service account token');
    const days = input.expiresInDays ?? defaultLifetime(maxDays);
    if (!Number.isInteger(days) || days < 1 || days > maxDays) {
      throw fieldError('/expiresInDays', `must be a whole number of days from 1 to ${maxDays} (the service account policy)`);
    }
    return now + days * DAY_MS;
  }

  function lifetimeEnd(input: Pick<CreateTokenRequest, 'expiresInDays' | 'expiresAt'>, now: number, policy: TokenPolicy): number {
    const maxDays = policy.maxLifetimeDays;
    if (input.expiresInDays !== undefined && input.expiresAt !== undefined) {
      throw fieldError('/expiresAt', 'give either expiresInDays or expiresAt, not both');
    }
    if (input.expiresAt !== undefined) {
      const text = input.expiresAt.length === 10 ? `${input.expiresAt}T00:00:00Z` : input.expiresAt;
      const expiresAt = Date.parse(text);
      if (!(expiresAt > now)) throw fieldError('/expiresAt', 'must be in the future');
      if (expiresAt > now + maxDays * DAY_MS) {
        throw fieldError('/expiresAt', `must be at most ${maxDays} days from now`);
      }
      return expiresAt;
    }
    const allowed = allowedLifetimes(maxDays);
    const days = input.expiresInDays ?? defaultLifetime(maxDays);
    if (!allowed.includes(days)) {
      throw fieldError('/expiresInDays', `must be one of ${allowed.join(', ')}`);
    }
    return now + days * DAY_MS;
  }

  /** A cached token's answer when it passes (with its bookkeeping), or RATE_LIMITED; undefined when only `authenticate` can tell. */
  function passedNow(row: TokenAndOwner | undefined, digest: Buffer, clientIp: string, dbNow: number): AuthenticatedToken | AppError | undefined {
    if (!row || refusalOf(row, dbNow, clientIp)) return undefined;
    const admission = throttle?.admit(clientIp, digest);
    if (admission && !admission.lookUp) return tooManyFailures(admission.retryAfterSeconds);
    throttle?.recordVerified(digest, clientIp);
    uses.record(row, clientIp);
    return { account: row.account, token: row, dbNow };
  }

  return {
    async create(accountId, input, actor, grantor = {}) {
      const problem = tokenNameProblem(input.name);
      if (problem) throw fieldError('/name', problem);
      const noteProblem = typeof input.note === 'string' ? tokenNoteProblem(input.note) : undefined;
      if (noteProblem) throw fieldError('/note', noteProblem);
      const policy = await currentPolicy();
      const scopes = grantor.service ? serviceScopesFor(input.scopes) : withinPolicy(scopesFor(input.scopes, grantor), input.scopes, policy);
      const namespaces = namespacesFor(input.namespaces, grantor.token);
      const allowedIps = allowlistFor(input.allowedIps, grantor.token);
      const now = clock.now();
      const expiresAt = grantor.service
        ? serviceLifetimeEnd(input, now, policy)
        : lifetimeWithin(lifetimeEnd(input, now, policy), input, grantor.token);
      const generated = generateToken();
      const token = newTokenRecord(generated, now, {
        accountId,
        name: normalizeTokenName(input.name),
        note: typeof input.note === 'string' ? normalizeTokenNote(input.note) : null,
        scopes,
        namespaces,
        allowedIps,
        expiresAt,
      });
      try {
        await store.insertToken(
          { ...token, digest: generated.digest },
          { maxActive: settings.maxTokensPerAccount },
          auditEvent(now, 'token.created', actor, token.id, { name: token.name, expiresAt, scopes, namespaces, allowedIps }),
        );
      } catch (error) {
        if (error instanceof StoreConflictError && error.reason === 'token_name_taken') {
          throw new AppError('CONFLICT', 'You already have an active token with this name.');
        }
        if (error instanceof StoreConflictError && error.reason === 'token_limit_reached') {
          throw new AppError(
            'CONFLICT',
            `You already have ${settings.maxTokensPerAccount} tokens; delete one before creating another.`,
          );
        }
        throw error;
      }
      return { token, secret: generated.token };
    },

    list(accountId, query) {
      return store.listTokens(accountId, {
        state: query.state ?? 'unrevoked',
        search: query.search || undefined,
        expiringWindowMs: EXPIRING_WINDOW_DAYS * DAY_MS,
      });
    },

    async get(accountId, tokenId) {
      const token = isId(tokenId) ? await store.findToken(accountId, tokenId) : undefined;
      if (!token) throw notFound();
      return { token, dbNow: await store.now() };
    },

    async revoke(accountId, tokenId, actor) {
      const now = clock.now();
      const revoked =
        isId(tokenId) &&
        (await store.revokeToken(accountId, tokenId, now, auditEvent(now, 'token.revoked', actor, tokenId)));
      if (!revoked) throw notFound();
    },

    async rotate(accountId, tokenId, input, actor, grantor = {}) {
      const old = isId(tokenId) ? await store.findToken(accountId, tokenId) : undefined;
      if (!old) throw notFound();
      const policy = await currentPolicy();
      // A token rotating itself keeps what it has; another token may pass on only what it holds.
      const bound = grantor.token && grantor.token.id !== old.id ? grantor.token : undefined;
      const asked = { name: old.name, expiresInDays: input.expiresInDays };
      const scopes = grantor.service
        ? serviceScopesFor(old.scopes)
        : withinPolicy(bound ? scopesFor(old.scopes, { ...grantor, token: bound }) : old.scopes, old.scopes, policy);
      const now = clock.now();
      const expiresAt = grantor.service
        ? serviceLifetimeEnd(asked, now, policy)
        : lifetimeWithin(lifetimeEnd(asked, now, policy), asked, bound);
      const generated = generateToken();
      const token = newTokenRecord(generated, now, {
        accountId,
        name: old.name,
        note: old.note,
        scopes,
        namespaces: namespacesFor(old.namespaces, bound),
        allowedIps: allowlistFor(old.allowedIps, bound),
        expiresAt,
        rotatedFrom: old.id,
      });
      const outcome = await store.rotateToken(
        accountId,
        old.id,
        { ...token, digest: generated.digest },
        { rotatedAt: now, graceMs: (input.graceSeconds ?? 0) * 1000 },
        (graceUntil) =>
          auditEvent(now, 'token.rotated', actor, old.id, { name: old.name, replacedBy: token.id, graceUntil, expiresAt, scopes }),
      );
      if ('refused' in outcome) throw notRotatable(outcome.refused);
      return { token, secret: generated.token, replaced: outcome.rotated };
    },

    async activity(accountId, tokenId) {
      const token = isId(tokenId) ? await store.findToken(accountId, tokenId) : undefined;
      if (!token) throw notFound();
      const [addresses, events] = await Promise.all([
        store.listTokenAddresses(tokenId, TOKEN_ACTIVITY_ADDRESSES),
        deps.auditEvents ? deps.auditEvents({ tokenId, limit: TOKEN_ACTIVITY_EVENTS }) : Promise.resolve([]),
      ]);
      return { addresses, events };
    },

    async lifetimeSettings() {
      const policy = await currentPolicy();
      const maxDays = policy.maxLifetimeDays;
      return {
        maxLifetimeDays: maxDays,
        defaultLifetimeDays: defaultLifetime(maxDays),
        lifetimeChoices: allowedLifetimes(maxDays),
        allowedScopes: TOKEN_SCOPES.filter((scope) => policy.personalScopes.includes(scope)),
      };
    },

    async introspect(presented) {
      if (!hasValidChecksum(presented)) return undefined;
      const found = await store.findTokenForAuth(hashToken(presented));
      if (!found || found.revokedAt !== null || found.account.disabledAt !== null || found.expiresAt <= found.dbNow) return undefined;
      const { account, dbNow, ...token } = found;
      return { account, token, dbNow };
    },

    authenticateNow(presented) {
      const answers: Array<AuthenticatedToken | AppError | undefined> = presented.map(() => undefined);
      // None without a verified-token cache (PostgreSQL): then only the checksum is decided here.
      const peek = store.verifiedTokenPeek?.();
      const lookedUp: number[] = [];
      const digests: Buffer[] = [];
      presented.forEach(({ token }, index) => {
        if (!hasValidChecksum(token)) answers[index] = MALFORMED_TOKEN;
        else if (peek) {
          lookedUp.push(index);
          digests.push(hashToken(token));
        }
      });
      if (!peek || digests.length === 0) return answers;
      const { rows, dbNow } = peek(digests);
      lookedUp.forEach((index, position) => {
        answers[index] = passedNow(rows[position], digests[position]!, presented[index]!.clientIp, dbNow);
      });
      return answers;
    },

    async authenticate(presented, clientIp) {
      if (!hasValidChecksum(presented)) throw MALFORMED_TOKEN;
      const digest = hashToken(presented);
      const admission = throttle?.admit(clientIp, digest);
      if (admission && !admission.lookUp) throw tooManyFailures(admission.retryAfterSeconds);
      const found = await store.findTokenForAuth(digest);
      const refusal = found ? refusalOf(found, found.dbNow, clientIp) : invalidToken('unknown');
      if (refusal) {
        await throttle?.recordFailure(clientIp, digest);
        if (refusal.logReason === 'ip_not_allowed') {
          deps.onOutsideAllowlist?.(found!, clientIp).catch((error: unknown) => deps.onBackgroundError?.(error));
        }
        throw refusal;
      }
      const { account, dbNow, ...token } = found!;
      throttle?.recordVerified(digest, clientIp);
      uses.record(found!, clientIp);
      return { account, token, dbNow };
    },
  };
}

/** Why a token found by its digest may not authenticate at `dbNow`; undefined when it may. */
function refusalOf(found: TokenAndOwner, dbNow: number, clientIp: string): AppError | undefined {
  if (found.revokedAt !== null) return invalidToken('revoked');
  if (found.account.disabledAt !== null) return invalidToken('account_disabled');
  // From outside its allowlist a token is refused exactly like an unknown one — before expiry is
  // told, which would confirm it is real; only the log and the owner's notice say why.
  if (!allowlistAdmits(found.allowedIps, clientIp)) return invalidToken('ip_not_allowed');
  if (found.expiresAt <= dbNow) {
    // A replaced token's grace window ended: its expiry was shortened to it, so it is refused alike.
    const detail = found.replacedBy ? 'The token was replaced by rotation and its grace period ended; use the new token.' : 'The token expired; create a new one.';
    return new AppError('TOKEN_EXPIRED', detail, {
      logReason: 'expired',
      extensions: { expiresAt: new Date(found.expiresAt).toISOString() },
    });
  }
  return undefined;
}

/** A token as created (by `create` or `rotate`): unused, unrevoked, created now. */
function newTokenRecord(
  generated: { last4: string },
  now: number,
  fields: Pick<TokenRecord, 'accountId' | 'name' | 'note' | 'scopes' | 'namespaces' | 'allowedIps' | 'expiresAt' | 'rotatedFrom'>,
): TokenRecord {
  return { id: newId(), ...fields, last4: generated.last4, createdAt: now, revokedAt: null, lastUsedAt: null, lastUsedIp: null };
}

/** The lifetimes a creator may pick: the presets up to the maximum, and the maximum itself. */
export function allowedLifetimes(maxDays: number): number[] {
  const presets: number[] = TOKEN_LIFETIME_PRESETS_DAYS.filter((days) => days <= maxDays);
  return presets.includes(maxDays) ? presets : [...presets, maxDays];
}

/** The lifetime a token gets when none is asked for: 180 days, or the maximum when that is shorter. */
function defaultLifetime(maxDays: number): number {
  return Math.min(DEFAULT_TOKEN_LIFETIME_DAYS, maxDays);
}

/** R-LIMIT (429): the client address is throttled and its one lookup per second is spent. */
function tooManyFailures(retryAfterSeconds: number): AppError {
  return new AppError('RATE_LIMITED', 'Too many failed authentications from your address.', { retryAfterSeconds });
}

function invalidToken(reason: string): AppError {
  return new AppError('INVALID_TOKEN', undefined, { logReason: reason });
}

/** A token failing its checksum: one answer, built once (a flood of them costs no allocation). */
const MALFORMED_TOKEN = invalidToken('malformed');

const NOT_ROTATABLE: Record<Exclude<RotationRefusal, 'not_found'>, string> = {
  rotated: 'This token was already replaced by rotation; rotate its replacement instead.',
  revoked: 'This token is revoked; create a new one instead.',
  expired: 'This token has expired; create a new one instead.',
};

/** R-409 TOKEN_NOT_ROTATABLE with `reason`, or R-404 for a token that is not there. */
function notRotatable(reason: RotationRefusal): AppError {
  if (reason === 'not_found') return notFound();
  return new AppError('TOKEN_NOT_ROTATABLE', NOT_ROTATABLE[reason], { extensions: { reason } });
}

function notFound(): AppError {
  return new AppError('NOT_FOUND', 'No such token.');
}
