/**
 * What a new token may carry (docs/scopes.md): its scopes, namespace restriction, allowlist and
 * lifetime as asked, bounded by who creates it — a token never creates a token broader than
 * itself, only administrators' tokens hold admin scopes, a service account's token never does —
 * and by the instance policy. Pure rules; token-service.ts applies them at create.
 */
import type { CreateTokenRequest } from '@latchkey/contract';
import {
  ADMIN_SCOPES,
  DEFAULT_TOKEN_SCOPES,
  MAX_ALLOWED_IPS,
  canonicalNamespacePatterns,
  canonicalScopes,
  effectiveScopes,
  namespacePatternCovered,
  namespacePatternProblem,
  type TokenScope,
} from '@latchkey/contract/scopes';
import { fieldError, insufficientScope } from '../kernel/app-error.js';
import { allowlistCovers, canonicalAllowlistEntry } from '../kernel/ip-allowlist.js';
import type { TokenRecord } from './token.js';

/**
 * What the instance policy (admin/policy-service.ts) says of new tokens, read at each create so
 * a change applies at once on every instance. Without one (most tests): the settings' maximum,
 * every scope, service tokens up to TOKEN_LIFETIME_LIMIT_DAYS.
 */
export interface TokenPolicy {
  maxLifetimeDays: number;
  /** Null: a service account's token may live up to TOKEN_LIFETIME_LIMIT_DAYS. */
  serviceMaxLifetimeDays: number | null;
  /** The scopes a personal token may carry. */
  personalScopes: readonly TokenScope[];
}

/** Who is creating a token, which bounds what it may carry (docs/scopes.md). */
export interface TokenGrantor {
  /** Whether the owner is an administrator: only their tokens may hold admin scopes. */
  isAdmin?: boolean;
  /**
   * The token making the request, when a token creates a token: the new one is no broader —
   * scopes, namespaces, expiry and allowlist within its own, never an admin scope.
   */
  token?: TokenRecord;
  /**
   * An administrator minting a token for a service account: the service policy's lifetime (any
   * whole number of days up to serviceMaxLifetimeDays), any non-admin scope, never an admin scope.
   */
  service?: boolean;
}

/**
 * The new token's scopes: as asked, or the default (a token creating a token: the default
 * scopes it holds itself). A token never grants what it lacks (R-SCOPE naming the scope) nor
 * an admin scope; only an administrator's tokens hold admin scopes.
 */
export function scopesFor(requested: readonly TokenScope[] | undefined, grantor: TokenGrantor): TokenScope[] {
  const held = grantor.token && effectiveScopes(grantor.token.scopes);
  if (requested === undefined) {
    return canonicalScopes(held ? DEFAULT_TOKEN_SCOPES.filter((scope) => held.has(scope)) : DEFAULT_TOKEN_SCOPES);
  }
  const admin = requested.find((scope) => ADMIN_SCOPES.includes(scope));
  if (admin && grantor.token) throw fieldError('/scopes', 'a token cannot grant admin scopes; create this token in the console');
  if (admin && !grantor.isAdmin) throw fieldError('/scopes', 'admin scopes are only for administrators’ tokens');
  const missing = held && requested.find((scope) => !held.has(scope));
  if (missing) throw insufficientScope(missing);
  return canonicalScopes(requested);
}

/**
 * A personal token's scopes within the policy's personalScopes: asked-for scopes outside it are
 * refused (R-422 at /scopes naming them); the default scopes are narrowed to it.
 */
export function withinPolicy(scopes: TokenScope[], requested: readonly TokenScope[] | undefined, policy: TokenPolicy): TokenScope[] {
  const outside = scopes.filter((scope) => !policy.personalScopes.includes(scope));
  if (outside.length === 0) return scopes;
  if (requested !== undefined) {
    throw fieldError('/scopes', `the instance policy does not allow personal tokens to carry ${outside.join(', ')}`);
  }
  const allowed = scopes.filter((scope) => policy.personalScopes.includes(scope));
  if (allowed.length === 0) throw fieldError('/scopes', 'the instance policy allows none of the default scopes; name the scopes');
  return allowed;
}

/** A service account's token: as asked or the defaults, never an admin scope (a service account is never an administrator). */
export function serviceScopesFor(requested: readonly TokenScope[] | undefined): TokenScope[] {
  if (requested === undefined) return canonicalScopes(DEFAULT_TOKEN_SCOPES);
  const admin = requested.filter((scope) => ADMIN_SCOPES.includes(scope));
  if (admin.length > 0) throw fieldError('/scopes', `a service account's token cannot carry admin scopes (${admin.join(', ')})`);
  return canonicalScopes(requested);
}

/** The namespace restriction: as asked (within the grantor's), or the grantor's own. */
export function namespacesFor(requested: readonly string[] | null | undefined, grantor: TokenRecord | undefined): string[] | null {
  const held = grantor?.namespaces ?? null;
  if (requested === undefined) return held;
  if (requested === null) {
    if (held !== null) throw fieldError('/namespaces', 'must stay within the namespaces of the token creating it');
    return null;
  }
  requested.forEach((pattern, index) => {
    const problem = namespacePatternProblem(pattern);
    if (problem) throw fieldError(`/namespaces/${index}`, problem);
    if (!namespacePatternCovered(pattern, held)) {
      throw fieldError(`/namespaces/${index}`, `is outside the namespaces of the token creating it (${held!.join(', ')})`);
    }
  });
  return canonicalNamespacePatterns(requested);
}

/** The allowlist: as asked (each entry within the grantor's), or the grantor's own. */
export function allowlistFor(requested: readonly string[] | null | undefined, grantor: TokenRecord | undefined): string[] | null {
  const held = grantor?.allowedIps ?? null;
  if (requested === undefined) return held;
  if (requested === null) {
    if (held !== null) throw fieldError('/allowedIps', 'must stay within the allowlist of the token creating it');
    return null;
  }
  if (requested.length > MAX_ALLOWED_IPS) throw fieldError('/allowedIps', `must list at most ${MAX_ALLOWED_IPS} entries`);
  const canonical = requested.map((entry, index) => {
    const parsed = canonicalAllowlistEntry(entry);
    if ('problem' in parsed) throw fieldError(`/allowedIps/${index}`, parsed.problem);
    if (!allowlistCovers(held, parsed.canonical)) {
      throw fieldError(`/allowedIps/${index}`, `is outside the allowlist of the token creating it (${held!.join(', ')})`);
    }
    return parsed.canonical;
  });
  return [...new Set(canonical)];
}

/** A token created by a token expires no later than it: by default at its expiry, if sooner. */
export function lifetimeWithin(expiresAt: number, input: Pick<CreateTokenRequest, 'expiresInDays' | 'expiresAt'>, grantor: TokenRecord | undefined): number {
  if (!grantor || expiresAt <= grantor.expiresAt) return expiresAt;
  const asked = input.expiresAt !== undefined || input.expiresInDays !== undefined;
  if (!asked) return grantor.expiresAt;
  const pointer = input.expiresAt !== undefined ? '/expiresAt' : '/expiresInDays';
  throw fieldError(pointer, `must not outlast the token creating it (it expires ${new Date(grantor.expiresAt).toISOString()})`);
}
