/**
 * What crosses the wire, as zod schemas: the server validates requests with them and
 * generates its OpenAPI document from them; the CLI and console parse responses with them.
 * Timestamps are RFC 3339 strings in UTC.
 */
import { z } from 'zod';
import { EXPIRING_WINDOW_DAYS, DAY_MS, TOKEN_STATES, type TokenState, tokenStateAt, CSRF_HEADER, NAMESPACE_NAME_PATTERN, TOKEN_NAME_MAX_LENGTH, TOKEN_NOTE_MAX_LENGTH } from './values.js';
import {
  MAX_ALLOWED_IPS,
  MAX_NAMESPACE_PATTERNS,
  SCOPE_DESCRIPTIONS,
  TOKEN_SCOPES,
  namespacePatternProblem,
} from './scopes.js';
import { tokenScannerRegExp } from './token-format.js';

// Plain values live in values.ts (no zod) and are re-exported here as before.
export { EXPIRING_WINDOW_DAYS, DAY_MS, TOKEN_STATES, type TokenState, tokenStateAt, CSRF_HEADER, NAMESPACE_NAME_PATTERN, TOKEN_NAME_MAX_LENGTH, TOKEN_NOTE_MAX_LENGTH } from './values.js';

// ---------------------------------------------------------------------------------------------
// Token names

/**
 * Control (Cc), format (Cf — bidi overrides, zero-width joiners …), lone surrogates (Cs) and
 * line/paragraph separators: characters that let a name hide or reorder text in a terminal
 * or a page.
 */
const UNSAFE_NAME_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

/** The stored form of a name: surrounding whitespace trimmed, Unicode NFC. */
export function normalizeTokenName(name: string): string {
  return name.trim().normalize('NFC');
}

/** Why a (raw) name is refused, or `undefined` when it is acceptable. */
export function tokenNameProblem(raw: string): string | undefined {
  if (UNSAFE_NAME_CHARACTERS.test(raw)) {
    return 'must not contain control, formatting or bidirectional characters';
  }
  const name = normalizeTokenName(raw);
  if (name.length === 0) return 'must not be empty';
  if ([...name].length > TOKEN_NAME_MAX_LENGTH) {
    return `must be at most ${TOKEN_NAME_MAX_LENGTH} characters`;
  }
  // A token pasted into the name field would be stored, listed and logged in plaintext
  // (docs/security.md, item 28): refuse it rather than keep it.
  if (tokenScannerRegExp().test(name)) return 'must not contain a personal access token';
  return undefined;
}

export const tokenNameSchema = z
  .string({ error: 'must be a string' })
  .superRefine((value, ctx) => {
    const message = tokenNameProblem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  })
  .describe('A descriptive name, 1–64 characters, unique among your active tokens.');

// ---------------------------------------------------------------------------------------------
// Token notes

/** The stored form of a note: surrounding whitespace trimmed, Unicode NFC; empty means none. */
export function normalizeTokenNote(note: string): string | null {
  const normalized = note.trim().normalize('NFC');
  return normalized.length === 0 ? null : normalized;
}

/** Why a (raw) note is refused, or `undefined` when it is acceptable. */
export function tokenNoteProblem(raw: string): string | undefined {
  if (UNSAFE_NAME_CHARACTERS.test(raw)) {
    return 'must not contain control, formatting or bidirectional characters';
  }
  const note = normalizeTokenNote(raw) ?? '';
  if ([...note].length > TOKEN_NOTE_MAX_LENGTH) {
    return `must be at most ${TOKEN_NOTE_MAX_LENGTH} characters`;
  }
  if (tokenScannerRegExp().test(note)) return 'must not contain a personal access token';
  return undefined;
}

/** Where a token is used: at most 200 characters; trimmed, and empty after trimming means none (null). */
export const tokenNoteSchema = z
  .string({ error: 'must be a string' })
  .superRefine((value, ctx) => {
    const message = tokenNoteProblem(value);
    if (message) ctx.addIssue({ code: 'custom', message });
  })
  .transform((value) => normalizeTokenNote(value))
  .describe('Where the token is used: up to 200 characters; empty means none.');

// ---------------------------------------------------------------------------------------------
// Token lifetimes

export const DEFAULT_TOKEN_LIFETIME_DAYS = 180;
/** The lifetimes offered by the console; any of them up to the operator's maximum is allowed. */
export const TOKEN_LIFETIME_PRESETS_DAYS = [7, 30, 60, 90, 180] as const;

export const tokenStateSchema = z.enum(TOKEN_STATES);

// ---------------------------------------------------------------------------------------------
// Requests
//
// Every request body is a strict object: a property the route does not know is refused (R-422
// naming it), never silently dropped, so a client that believes it set a field it cannot set
// finds out (docs/security.md, item 48).

export const tokenScopeSchema = z
  .enum(TOKEN_SCOPES, { error: `must be one of ${TOKEN_SCOPES.join(', ')}` })
  .describe(TOKEN_SCOPES.map((scope) => `${scope}: ${SCOPE_DESCRIPTIONS[scope]}`).join('; '));

export const tokenScopesSchema = z
  .array(tokenScopeSchema, { error: 'must be an array of scope names' })
  .min(1, 'must name at least one scope')
  .max(TOKEN_SCOPES.length)
  .refine((scopes) => new Set(scopes).size === scopes.length, 'must not repeat a scope');

export const namespacePatternsSchema = z
  .array(
    z.string({ error: 'must be a string' }).superRefine((value, ctx) => {
      const message = namespacePatternProblem(value);
      if (message) ctx.addIssue({ code: 'custom', message });
    }),
    { error: 'must be an array of namespace names or prefixes' },
  )
  .min(1, 'must name at least one namespace; use null for every namespace')
  .max(MAX_NAMESPACE_PATTERNS, `must list at most ${MAX_NAMESPACE_PATTERNS} entries`);

/** Addresses or CIDRs; parsed on the server (ipaddr.js), which names the entry it refuses. */
export const allowedIpsSchema = z
  .array(z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(64, 'must be an address or CIDR'), {
    error: 'must be an array of addresses or CIDR ranges',
  })
  .min(1, 'must name at least one address; use null for anywhere')
  .max(MAX_ALLOWED_IPS, `must list at most ${MAX_ALLOWED_IPS} entries`);

export const createTokenRequestSchema = z
  .strictObject({
    name: tokenNameSchema,
    note: tokenNoteSchema.optional(),
    scopes: tokenScopesSchema
      .optional()
      .describe(
        'What the token may do. Default: namespaces:read, namespaces:write, tokens:read, tokens:write ' +
          "(a token creating a token: its own scopes of those).",
      ),
    namespaces: namespacePatternsSchema
      .nullable()
      .optional()
      .describe('Namespaces the token may touch: names or prefixes ending in "*". Null or absent: every namespace.'),
    allowedIps: allowedIpsSchema
      .nullable()
      .optional()
      .describe('Addresses or CIDR ranges (IPv4, IPv6) the token may be used from. Null or absent: anywhere.'),
    expiresInDays: z
      .number({ error: 'must be a number of days' })
      .int('must be a whole number of days')
      .optional()
      .describe('One of 7, 30, 60, 90 or 180 (up to the server maximum). Default 180.'),
    expiresAt: z
      .union([z.iso.datetime({ offset: true }), z.iso.date()], {
        error: 'must be an RFC 3339 date-time or a YYYY-MM-DD date',
      })
      .optional()
      .describe('An explicit expiry; a bare date means 00:00 UTC that day.'),
  })
  .describe('A new personal access token.');
export type CreateTokenRequest = z.infer<typeof createTokenRequestSchema>;

/**
 * The create-token body as a server with these `expiresInDays` choices checks it (its presets up
 * to TOKEN_MAX_LIFETIME_DAYS, and that maximum): one of them, shown as an enum in the OpenAPI
 * document rather than any whole number.
 */
export function createTokenRequestSchemaFor(lifetimeChoices: readonly number[]) {
  return createTokenRequestSchema.extend({
    expiresInDays: z
      .literal([...lifetimeChoices], { error: `must be one of ${lifetimeChoices.join(', ')}` })
      .optional()
      .describe(`The lifetime in days: one of ${lifetimeChoices.join(', ')}. Default 180, or the maximum when lower.`),
  });
}

/** The longest grace window a rotation may leave the old secret: one day. */
export const MAX_ROTATION_GRACE_SECONDS = 86_400;

/**
 * `POST /api/v1/tokens/:id/rotate` and `/tokens/self/rotate`: the old secret keeps working for
 * `graceSeconds` (default 0: refused when the call returns); the new token gets a fresh lifetime.
 */
export const rotateTokenRequestSchema = z.strictObject({
  graceSeconds: z
    .number({ error: 'must be a number of seconds' })
    .int('must be a whole number of seconds')
    .min(0, 'must be at least 0')
    .max(MAX_ROTATION_GRACE_SECONDS, `must be at most ${MAX_ROTATION_GRACE_SECONDS} (one day)`)
    .optional()
    .describe('How long the old secret keeps working, 0–86400 seconds. Default 0: refused when the call returns.'),
  expiresInDays: z
    .number({ error: 'must be a number of days' })
    .int('must be a whole number of days')
    .optional()
    .describe('The new token’s lifetime in days, as at creation. Default 180, or the maximum when lower.'),
});
export type RotateTokenRequest = z.infer<typeof rotateTokenRequestSchema>;

export const listTokensQuerySchema = z.object({
  state: z
    .enum([...TOKEN_STATES, 'all'])
    .optional()
    .describe('Only tokens in this state; default: every token not revoked.'),
  search: z.string().max(64).optional().describe('Only names containing this text.'),
});
export type ListTokensQuery = z.infer<typeof listTokensQuerySchema>;

export const namespaceNameSchema = z
  .string({ error: 'must be a string' })
  .max(63, 'must be at most 63 characters')
  .regex(
    NAMESPACE_NAME_PATTERN,
    'must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit',
  );

export const createNamespaceRequestSchema = z.strictObject({ name: namespaceNameSchema });
export type CreateNamespaceRequest = z.infer<typeof createNamespaceRequestSchema>;

// ---------------------------------------------------------------------------------------------
// Responses

const timestamp = z.string().describe('RFC 3339, UTC');

export const accountSchema = z.object({
  id: z.string(),
  email: z.string().nullable(),
  name: z.string().nullable(),
  isAdmin: z.boolean(),
  createdAt: timestamp,
});
export type AccountView = z.infer<typeof accountSchema>;

export const tokenSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** Where the token is used, or null; a server from before notes sends none, read as null. */
  note: z.string().nullable().default(null),
  /** What the token may do; a server from before scopes sends none. */
  scopes: z.array(z.string()).default([]),
  /** Namespace names or `prefix*` patterns the token is restricted to; null: every namespace. */
  namespaces: z.array(z.string()).nullable().default(null),
  /** Addresses or CIDRs the token may be used from; null: anywhere. */
  allowedIps: z.array(z.string()).nullable().default(null),
  state: tokenStateSchema,
  /** `lk_pat_1…AbCd`: never the secret. */
  displayToken: z.string(),
  last4: z.string(),
  createdAt: timestamp,
  expiresAt: timestamp,
  lastUsedAt: timestamp.nullable(),
  lastUsedIp: z.string().nullable(),
  revokedAt: timestamp.nullable(),
  /** The token this one replaced by rotation, or null; a server from before rotation sends none. */
  rotatedFrom: z.string().nullable().optional(),
  /** The token that replaced this one by rotation, or null. */
  replacedBy: z.string().nullable().optional(),
  /** When it was rotated, or null. */
  rotatedAt: timestamp.nullable().optional(),
  /** Rotated: the end of its grace window (its expiry), after which its secret is refused. */
  graceUntil: timestamp.nullable().optional(),
  /** Rotated: how many times its secret was used since the rotation. */
  usesSinceRotation: z.number().int().nullable().optional(),
  /** Rotated: its last use since the rotation, or null when unused since. */
  lastUseSinceRotation: z.object({ at: timestamp, ip: z.string().nullable() }).nullable().optional(),
});
export type TokenView = z.infer<typeof tokenSchema>;

export const createTokenResponseSchema = z.object({
  token: tokenSchema,
  /** The secret, returned exactly once. */
  secret: z.string(),
});
export type CreateTokenResponse = z.infer<typeof createTokenResponseSchema>;

export const tokenListSchema = z.object({ tokens: z.array(tokenSchema) });

/** A token page's "where and what": the last distinct addresses and the token's own actions. */
export const tokenActivitySchema = z.object({
  /** The last (up to 5) distinct addresses it was used from, most recent first. */
  addresses: z.array(z.object({ ip: z.string(), lastUsedAt: timestamp })),
  /** Its most recent audited actions (up to 20), newest first. */
  events: z.array(
    z.object({
      action: z.string(),
      occurredAt: timestamp,
      ip: z.string().nullable(),
      targetId: z.string(),
      /** What it acted on, in words: a namespace or token name. */
      target: z.string().nullable(),
    }),
  ),
});
export type TokenActivityView = z.infer<typeof tokenActivitySchema>;

/** The lifetimes and scopes this server allows (the instance policy), so clients offer only those. */
export const tokenSettingsSchema = z
  .object({
    maxLifetimeDays: z.number().int().describe('The longest lifetime a token may have, in days.'),
    defaultLifetimeDays: z.number().int().describe('The lifetime a token gets when none is given, in days.'),
    lifetimeChoices: z
      .array(z.number().int())
      .describe('The values `expiresInDays` accepts, ascending; an `expiresAt` may be any date up to the maximum.'),
    allowedScopes: z
      .array(z.enum(TOKEN_SCOPES))
      .optional()
      .describe(
        "The scopes a personal token may carry (the instance policy's personalScopes; admin scopes still only an administrator's). This server always sends it; absent (a server from before the policy): every scope.",
      ),
  })
  .describe('The token lifetimes this server allows.');
export type TokenSettingsView = z.infer<typeof tokenSettingsSchema>;

export const meResponseSchema = z.object({
  account: accountSchema,
  /** How the caller authenticated. */
  authenticatedWith: z.enum(['session', 'token']),
  /** For a console session: the value to send back as `X-CSRF-Token` on mutations. */
  csrfToken: z.string().optional(),
  /** For a personal access token: the token presented. */
  token: tokenSchema.optional(),
});
export type MeResponse = z.infer<typeof meResponseSchema>;

export const namespaceSchema = z.object({
  id: z.string(),
  name: z.string(),
  createdAt: timestamp,
});
export type NamespaceView = z.infer<typeof namespaceSchema>;

export const namespaceListSchema = z.object({ namespaces: z.array(namespaceSchema) });

export const createInviteRequestSchema = z.strictObject({
  email: z.email('must be an email address').max(254),
  isAdmin: z.boolean().optional().describe('Make a new account an administrator.'),
});
export type CreateInviteRequest = z.infer<typeof createInviteRequestSchema>;

export const inviteSchema = z.object({
  accountId: z.string(),
  email: z.string(),
  /** A one-time sign-in link for the invited person: single use, valid 15 minutes. */
  url: z.string(),
  expiresAt: timestamp,
});
export type InviteView = z.infer<typeof inviteSchema>;

/** The CLI's browser login: exchanging the one-time code from the loopback redirect. */
export const cliTokenRequestSchema = z.strictObject({
  code: z.string(),
  code_verifier: z.string(),
  redirect_uri: z.string(),
});
export type CliTokenRequest = z.infer<typeof cliTokenRequestSchema>;

export const cliTokenResponseSchema = z.object({
  /** The new personal access token: in this response only. */
  token: z.string(),
  id: z.string(),
  name: z.string(),
  expiresAt: timestamp,
});
export type CliTokenResponse = z.infer<typeof cliTokenResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Leaked-token reports (revoke by possession) and the notices they leave

/** Credentials one report may list. */
export const MAX_REPORTED_CREDENTIALS = 1000;

export const credentialReportRequestSchema = z
  .strictObject({
    credentials: z
      .array(z.string({ error: 'must be a string' }), { error: 'must be an array of strings' })
      .max(MAX_REPORTED_CREDENTIALS, `must list at most ${MAX_REPORTED_CREDENTIALS} credentials`)
      .describe('Tokens found somewhere they should not be (a public repository, a log, a paste).'),
  })
  .describe('A report of leaked credentials: every valid token listed is revoked.');
export type CredentialReportRequest = z.infer<typeof credentialReportRequestSchema>;

/** A token revoked because it was reported as leaked. */
export const reportedTokenSchema = z.object({ id: z.string(), name: z.string(), last4: z.string() });

export const noticeSchema = z.discriminatedUnion('kind', [
  z.object({
    id: z.string(),
    /** `tokens_reported`: `tokens` were revoked at `createdAt` because someone reported them as leaked. */
    kind: z.literal('tokens_reported'),
    createdAt: timestamp,
    tokens: z.array(reportedTokenSchema),
  }),
  z.object({
    id: z.string(),
    /** `token_outside_allowlist`: `token` was presented from `ip`, outside its allowlist, and refused. */
    kind: z.literal('token_outside_allowlist'),
    createdAt: timestamp,
    token: reportedTokenSchema.extend({ note: z.string().nullable() }),
    ip: z.string(),
  }),
  z.object({
    id: z.string(),
    /** `token_revoked_by_admin`: an administrator revoked `token` (Administration API). */
    kind: z.literal('token_revoked_by_admin'),
    createdAt: timestamp,
    token: reportedTokenSchema.extend({ note: z.string().nullable() }),
  }),
  z.object({
    id: z.string(),
    /** `tokens_revoked_idle`: `tokens` were revoked because none was used for `idleDays` days (the instance policy). */
    kind: z.literal('tokens_revoked_idle'),
    createdAt: timestamp,
    tokens: z.array(reportedTokenSchema),
    idleDays: z.number().int(),
  }),
  z.object({
    id: z.string(),
    /**
     * `account_changed_by_admin`: an administrator re-enabled the account (`enabled`), made it an
     * administrator (`admin_granted`), removed that role (`admin_revoked`) or changed its name
     * (`renamed`, with the new `name`; null when it was cleared).
     */
    kind: z.literal('account_changed_by_admin'),
    createdAt: timestamp,
    change: z.enum(['enabled', 'admin_granted', 'admin_revoked', 'renamed']),
    name: z.string().nullable().optional(),
  }),
  z.object({
    id: z.string(),
    /** `webhook_disabled`: `webhook` was disabled after its deliveries failed without a break for 3 days (since `failingSince`). */
    kind: z.literal('webhook_disabled'),
    createdAt: timestamp,
    webhook: z.object({ id: z.string(), url: z.string(), description: z.string().nullable() }),
    failingSince: timestamp.nullable(),
  }),
]);
export type NoticeView = z.infer<typeof noticeSchema>;

export const noticeListSchema = z.object({ notices: z.array(noticeSchema) });

/** Response header on every bearer-authenticated response (like GitHub's). */
export const TOKEN_EXPIRES_AT_HEADER = 'latchkey-token-expires-at';
/** The console session cookie; `__Host-` pins it to this origin, path `/`, Secure. */
export const SESSION_COOKIE = '__Host-latchkey_session';
