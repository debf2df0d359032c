/**
 * Personal access tokens: creation with a validated name and lifetime, listing by state,
 * revocation, and authentication of a presented token within its address's failure budget.
 */
import {
  DAY_MS,
  DEFAULT_TOKEN_LIFETIME_DAYS,
  EXPIRING_WINDOW_DAYS,
  TOKEN_LIFETIME_PRESETS_DAYS,
  normalizeTokenName,
  tokenNameProblem,
  type CreateTokenRequest,
  type ListTokensQuery,
  type TokenSettingsView,
} from '@latchkey/contract';
import { generateToken, hasValidChecksum, hashToken } from '@latchkey/contract/token';
import type { AccountRecord } from '../accounts/account.js';
import { auditEvent, type Actor } from '../audit/audit-event.js';
import { GOOD_STANDING, type ClientStanding, type FailureLimiter } from '../auth-failures/failure-limiter.js';
import { AppError, fieldError } from '../kernel/app-error.js';
import type { Clock } from '../kernel/clock.js';
import { isId, newId } from '../kernel/ids.js';
import { StoreConflictError } from '../kernel/store-errors.js';
import type { TokenForAuth, TokenRecord } from './token.js';
import type { TokenStore } from './token-store.js';

/** `last_used_at` is written at most this often per token (docs/security.md, item 24). */
export const LAST_USED_WRITE_INTERVAL_MS = 60_000;

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

export interface TokenService {
  create(accountId: string, input: CreateTokenRequest, actor: Actor): Promise<{ token: TokenRecord; secret: string }>;
  list(accountId: string, query: ListTokensQuery): Promise<{ tokens: TokenRecord[]; dbNow: number }>;
  get(accountId: string, tokenId: string): Promise<{ token: TokenRecord; dbNow: number }>;
  /** Revokes one of the account's tokens; NOT_FOUND for a missing, foreign or revoked one. */
  revoke(accountId: string, tokenId: string, actor: Actor): Promise<void>;
  /** The lifetimes `create` accepts, and the one it gives when none is asked for. */
  lifetimeSettings(): TokenSettingsView;
  /**
   * Checks a presented token: the address's failure budget first (RATE_LIMITED, whatever the
   * token: no oracle), then format and checksum (no database), then one lookup by digest.
   * Throws INVALID_TOKEN (malformed, unknown, revoked, owner disabled — one answer for all) or
   * TOKEN_EXPIRED; each counts against the address's budget, and a success forgives it.
   */
  authenticate(presented: string, clientIp: string): Promise<AuthenticatedToken>;
}

/** The outcome of checking a token, before the failure budget hears of it. */
type Verification =
  | { ok: true; found: TokenForAuth; standing: ClientStanding }
  | {
      ok: false;
      error: AppError;
      /** Whether it spends the address's budget (a refused token does; a ban does not). */
      counts: boolean;
      /** False for a token refused on its checksum alone: counting it must not write either. */
      reachedDatabase: boolean;
    };

export function createTokenService(deps: {
  store: TokenStore;
  clock: Clock;
  settings: TokenSettings;
  /** Failed-authentication limiting per client address; none when absent (most tests). */
  failureLimiter?: FailureLimiter;
  /** Told about a failed last-used write; such a failure never fails the request. */
  onBackgroundError?: (error: unknown) => void;
}): TokenService {
  const { store, clock, settings, failureLimiter: limiter } = deps;
  /** Tokens whose last-used write is in flight: concurrent requests skip theirs. */
  const touching = new Set<string>();

  function lifetimeEnd(input: CreateTokenRequest, now: number): number {
    const maxDays = settings.maxLifetimeDays;
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

  function touchLastUsed(found: TokenForAuth, clientIp: string | null): void {
    const now = clock.now();
    if (found.lastUsedAt !== null && now - found.lastUsedAt < LAST_USED_WRITE_INTERVAL_MS) return;
    if (touching.has(found.id)) return;
    touching.add(found.id);
    store
      .touchTokenLastUsed(found.id, now, clientIp, LAST_USED_WRITE_INTERVAL_MS)
      .catch((error: unknown) => deps.onBackgroundError?.(error))
      .finally(() => touching.delete(found.id));
  }

  async function verify(presented: string, clientIp: string): Promise<Verification> {
    if (!hasValidChecksum(presented)) {
      return { ok: false, error: invalidToken('malformed'), counts: true, reachedDatabase: false };
    }
    const digest = hashToken(presented);
    const { token: found, standing } = limiter?.lookUpWithStanding
      ? await limiter.lookUpWithStanding(digest, clientIp)
      : { token: await store.findTokenForAuth(digest), standing: GOOD_STANDING };
    if (standing.retryAfterSeconds > 0) {
      return { ok: false, error: tooManyFailures(standing.retryAfterSeconds), counts: false, reachedDatabase: true };
    }
    const refusal = refusalOf(found);
    if (refusal) return { ok: false, error: refusal, counts: true, reachedDatabase: true };
    return { ok: true, found: found!, standing };
  }

  return {
    async create(accountId, input, actor) {
      const problem = tokenNameProblem(input.name);
      if (problem) throw fieldError('/name', problem);
      const now = clock.now();
      const expiresAt = lifetimeEnd(input, now);
      const generated = generateToken();
      const token: TokenRecord = {
        id: newId(),
        accountId,
        name: normalizeTokenName(input.name),
        last4: generated.last4,
        createdAt: now,
        expiresAt,
        revokedAt: null,
        lastUsedAt: null,
        lastUsedIp: null,
      };
      try {
        await store.insertToken(
          { ...token, digest: generated.digest },
          { maxActive: settings.maxTokensPerAccount },
          auditEvent(now, 'token.created', actor, token.id, { name: token.name, expiresAt }),
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

    lifetimeSettings() {
      const maxDays = settings.maxLifetimeDays;
      return { maxLifetimeDays: maxDays, defaultLifetimeDays: defaultLifetime(maxDays), lifetimeChoices: allowedLifetimes(maxDays) };
    },

    async authenticate(presented, clientIp) {
      const before = limiter ? await limiter.check(clientIp) : GOOD_STANDING;
      if (before.retryAfterSeconds > 0) throw tooManyFailures(before.retryAfterSeconds);
      const verification = await verify(presented, clientIp);
      if (!verification.ok) {
        if (limiter && verification.counts) {
          await limiter.recordFailure(clientIp, { reachedDatabase: verification.reachedDatabase });
        }
        throw verification.error;
      }
      const { found, standing } = verification;
      if (limiter && (before.hasFailures || standing.hasFailures)) await limiter.recordSuccess(clientIp);
      touchLastUsed(found, clientIp);
      const { account, dbNow, ...token } = found;
      return { account, token, dbNow };
    },
  };
}

/** Why a token found (or not) by its digest may not authenticate; undefined when it may. */
function refusalOf(found: TokenForAuth | undefined): AppError | undefined {
  if (!found) return invalidToken('unknown');
  if (found.revokedAt !== null) return invalidToken('revoked');
  if (found.account.disabledAt !== null) return invalidToken('account_disabled');
  if (found.expiresAt <= found.dbNow) {
    return new AppError('TOKEN_EXPIRED', 'The token expired; create a new one.', {
      logReason: 'expired',
      extensions: { expiresAt: new Date(found.expiresAt).toISOString() },
    });
  }
  return undefined;
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

/** R-LIMIT (429): the client address has spent its failed-authentication budget. */
function tooManyFailures(retryAfterSeconds: number): AppError {
  return new AppError('RATE_LIMITED', 'Too many failed authentications from your address.', { retryAfterSeconds });
}

function invalidToken(reason: string): AppError {
  return new AppError('INVALID_TOKEN', undefined, { logReason: reason });
}

function notFound(): AppError {
  return new AppError('NOT_FOUND', 'No such token.');
}
