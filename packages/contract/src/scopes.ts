/**
 * What a personal access token may do (docs/scopes.md): its scopes, and the namespaces it is
 * restricted to. Zod-free, so the CLI's completion and the console import it cheaply.
 */

/** Every scope, in the order the console and `--help` list them. */
export const TOKEN_SCOPES = [
  'namespaces:read',
  'namespaces:write',
  'tokens:read',
  'tokens:write',
  'admin:read',
  'admin:write',
  'introspect',
] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** What each scope is for, in a few words (console, CLI help, OpenAPI). */
export const SCOPE_DESCRIPTIONS: Record<TokenScope, string> = {
  'namespaces:read': 'List namespaces',
  'namespaces:write': 'Create and delete namespaces (includes namespaces:read)',
  'tokens:read': "List and read the owner's tokens (metadata only)",
  'tokens:write': "Create and revoke the owner's tokens, never broader than itself (includes tokens:read)",
  'admin:read': 'Read the admin API (administrators only)',
  'admin:write': 'Use the admin API (administrators only; includes admin:read)',
  introspect: 'Check other tokens on behalf of a service: RFC 7662 introspection and the revocation stream',
};

/** Scopes only an administrator's token may hold, and a token can never grant. */
export const ADMIN_SCOPES: readonly TokenScope[] = ['admin:read', 'admin:write'];

/** A new token's scopes when the request names none: every non-admin scope except `introspect`. */
export const DEFAULT_TOKEN_SCOPES: readonly TokenScope[] = [
  'namespaces:read',
  'namespaces:write',
  'tokens:read',
  'tokens:write',
];

/** What a token made before scopes existed could do, and keeps (migration 0011). */
export const LEGACY_TOKEN_SCOPES: readonly TokenScope[] = ['namespaces:read', 'namespaces:write'];

/** A write scope includes its read scope. */
const IMPLIED: Partial<Record<TokenScope, TokenScope>> = {
  'namespaces:write': 'namespaces:read',
  'tokens:write': 'tokens:read',
  'admin:write': 'admin:read',
};

export function isTokenScope(value: unknown): value is TokenScope {
  return typeof value === 'string' && (TOKEN_SCOPES as readonly string[]).includes(value);
}

/** The scopes held, with the read scopes their write scopes include. */
export function effectiveScopes(scopes: readonly TokenScope[]): Set<TokenScope> {
  const effective = new Set<TokenScope>(scopes);
  for (const scope of scopes) {
    const implied = IMPLIED[scope];
    if (implied) effective.add(implied);
  }
  return effective;
}

export function grantsScope(scopes: readonly TokenScope[], needed: TokenScope): boolean {
  return scopes.includes(needed) || scopes.some((scope) => IMPLIED[scope] === needed);
}

/** The stored form: unique, in TOKEN_SCOPES order. */
export function canonicalScopes(scopes: readonly TokenScope[]): TokenScope[] {
  return TOKEN_SCOPES.filter((scope) => scopes.includes(scope));
}

// ---------------------------------------------------------------------------------------------
// Namespace restrictions: DNS labels, or a prefix followed by `*` (`preview-*`).

export const MAX_NAMESPACE_PATTERNS = 20;

/** A namespace name (DNS-1123 label) or a non-empty label prefix ending in `*`. */
const NAMESPACE_PATTERN = /^(?:[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?|[a-z0-9][-a-z0-9]{0,61}\*)$/;

export function namespacePatternProblem(pattern: string): string | undefined {
  if (NAMESPACE_PATTERN.test(pattern)) return undefined;
  return 'must be a namespace name or a prefix ending in "*" (e.g. preview-*): lowercase letters, digits and "-"';
}

export function namespacePatternMatches(pattern: string, name: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name;
}

/** Whether a token restricted to `patterns` (null: unrestricted) may touch namespace `name`. */
export function namespacesAllow(patterns: readonly string[] | null, name: string): boolean {
  return patterns === null || patterns.some((pattern) => namespacePatternMatches(pattern, name));
}

/** Whether every name `pattern` matches is matched by one of `patterns` (null: everything). */
export function namespacePatternCovered(pattern: string, patterns: readonly string[] | null): boolean {
  if (patterns === null) return true;
  if (!pattern.endsWith('*')) return namespacesAllow(patterns, pattern);
  const prefix = pattern.slice(0, -1);
  return patterns.some((held) => held.endsWith('*') && prefix.startsWith(held.slice(0, -1)));
}

/** The stored form: unique, sorted. */
export function canonicalNamespacePatterns(patterns: readonly string[]): string[] {
  return [...new Set(patterns)].sort();
}

// ---------------------------------------------------------------------------------------------
// IP allowlists (parsed and checked on the server with ipaddr.js; these are the limits).

export const MAX_ALLOWED_IPS = 20;
