/**
 * The administration API (`/api/v1/admin/…`, docs/api.md "Administration API"): what an
 * administrator's console session or admin-scoped token sends and receives. Bodies are strict
 * objects like every other body; query numbers are coerced from strings and bounded; a query
 * parameter the route does not know is ignored, as elsewhere.
 */
import { z } from 'zod';
import { ADMIN_ACCOUNT_STATES, ACCOUNT_DISPLAY_NAME_MAX_LENGTH, NDJSON_MEDIA_TYPE, TOKEN_LIFETIME_LIMIT_DAYS, SERVICE_ACCOUNT_DESCRIPTION_MAX_LENGTH } from './values.js';
import { TOKEN_SCOPES } from './scopes.js';
import {
  accountSchema,
  allowedIpsSchema,
  namespacePatternsSchema,
  TOKEN_STATES,
  tokenNameSchema,
  tokenNoteSchema,
  tokenSchema,
  tokenScopesSchema,
} from './schemas.js';

// Plain values live in values.ts (no zod) and are re-exported here as before.
export { ADMIN_ACCOUNT_STATES, ACCOUNT_DISPLAY_NAME_MAX_LENGTH, NDJSON_MEDIA_TYPE, TOKEN_LIFETIME_LIMIT_DAYS, SERVICE_ACCOUNT_DESCRIPTION_MAX_LENGTH } from './values.js';

const timestamp = z.string().describe('RFC 3339, UTC');

export const ADMIN_PAGE_LIMIT_DEFAULT = 50;
export const ADMIN_PAGE_LIMIT_MAX = 200;

const limitSchema = z.coerce
  .number({ error: 'must be a number' })
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(ADMIN_PAGE_LIMIT_MAX, `must be at most ${ADMIN_PAGE_LIMIT_MAX}`)
  .optional()
  .describe(`Page size, 1–${ADMIN_PAGE_LIMIT_MAX}; default ${ADMIN_PAGE_LIMIT_DEFAULT}.`);

const cursorSchema = z
  .string()
  .max(512, 'is not a cursor this server issued')
  .optional()
  .describe('The `nextCursor` of the previous page (opaque).');

const daysSchema = z.coerce
  .number({ error: 'must be a number of days' })
  .int('must be a whole number of days')
  .min(0, 'must not be negative')
  .max(36_500, 'must be at most 36500');

const dateTimeQuery = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time' });

// ---------------------------------------------------------------------------------------------
// Accounts

export const adminAccountsQuerySchema = z.object({
  search: z.string().max(254).optional().describe('Only accounts whose email or name contains this text (any case).'),
  state: z.enum(ADMIN_ACCOUNT_STATES).optional().describe('active, disabled or all (the default).'),
  cursor: cursorSchema,
  limit: limitSchema,
});
export type AdminAccountsQuery = z.infer<typeof adminAccountsQuerySchema>;

/** A person signs in; a service account never does and holds tokens an administrator mints. */
export const ACCOUNT_KINDS = ['person', 'service'] as const;
export type AccountKindView = (typeof ACCOUNT_KINDS)[number];

export const adminAccountSchema = accountSchema.extend({
  /** person, or service for a service account. */
  kind: z.enum(ACCOUNT_KINDS),
  /** When the account was disabled, or null while it may sign in. */
  disabledAt: timestamp.nullable(),
  /** The last sign-in, or null when it never signed in. */
  lastSignInAt: timestamp.nullable(),
  /** Its tokens neither revoked nor expired. */
  activeTokens: z.number().int(),
});
export type AdminAccountView = z.infer<typeof adminAccountSchema>;

export const adminAccountListSchema = z.object({
  /** Newest accounts first. */
  accounts: z.array(adminAccountSchema),
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: z.string().nullable(),
});
export type AdminAccountList = z.infer<typeof adminAccountListSchema>;

/** As in token names: characters that let a name hide or reorder text in a terminal or a page. */
const UNSAFE_DISPLAY_CHARACTERS = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;

export const adminUpdateAccountRequestSchema = z
  .strictObject({
    isAdmin: z.boolean({ error: 'must be true or false' }).optional().describe('Grant or revoke administration.'),
    name: z
      .string({ error: 'must be a string or null' })
      .max(ACCOUNT_DISPLAY_NAME_MAX_LENGTH, `must be at most ${ACCOUNT_DISPLAY_NAME_MAX_LENGTH} characters`)
      .refine((name) => !UNSAFE_DISPLAY_CHARACTERS.test(name), 'must not contain control, formatting or bidirectional characters')
      .nullable()
      .optional()
      .describe('The display name; null or empty removes it.'),
  })
  .describe("Changes to an account; an administrator cannot remove their own isAdmin.");
export type AdminUpdateAccountRequest = z.infer<typeof adminUpdateAccountRequestSchema>;

// ---------------------------------------------------------------------------------------------
// Tokens

export const adminTokensQuerySchema = z.object({
  owner: z.string().max(64).optional().describe("Only this account's tokens (account id)."),
  state: z
    .enum([...TOKEN_STATES, 'all'])
    .optional()
    .describe('Only tokens in this state; default: every token not revoked.'),
  expiringWithinDays: daysSchema.optional().describe('Only unrevoked tokens expiring within this many days (not yet expired).'),
  unusedForDays: daysSchema.optional().describe('Only tokens not used for this many days (never used counts from creation).'),
  scope: z.enum(TOKEN_SCOPES).optional().describe('Only tokens holding this scope (a write scope counts for its read scope).'),
  cursor: cursorSchema,
  limit: limitSchema,
});
export type AdminTokensQuery = z.infer<typeof adminTokensQuerySchema>;

export const adminTokenOwnerSchema = z.object({
  id: z.string(),
  email: z.string().nullable(),
  name: z.string().nullable(),
});

export const adminTokenSchema = tokenSchema.extend({ owner: adminTokenOwnerSchema });
export type AdminTokenView = z.infer<typeof adminTokenSchema>;

export const adminTokenListSchema = z.object({
  /** Newest tokens first. */
  tokens: z.array(adminTokenSchema),
  nextCursor: z.string().nullable(),
});
export type AdminTokenList = z.infer<typeof adminTokenListSchema>;

// ---------------------------------------------------------------------------------------------
// Audit

export const adminAuditQuerySchema = z.object({
  actor: z.string().max(64).optional().describe('Only events by this account (id).'),
  token: z.string().max(64).optional().describe("Only this token's trail (id): events made with it, and events about it (its creation, rotation, revoke)."),
  action: z
    .string()
    .max(64)
    .regex(/^[a-z][a-z_.]*$/, 'must be an action name such as token.revoked')
    .optional()
    .describe('Only this action, e.g. token.revoked.'),
  since: dateTimeQuery.optional().describe('Only events at or after this time.'),
  until: dateTimeQuery.optional().describe('Only events before this time.'),
  cursor: cursorSchema,
  limit: limitSchema,
});
export type AdminAuditQuery = z.infer<typeof adminAuditQuerySchema>;

export const adminAuditEventSchema = z.object({
  id: z.string(),
  occurredAt: timestamp,
  /** What happened: token.created, token.revoked, account.disabled, … */
  action: z.string(),
  actor: z.object({
    /** Null for the server itself (host CLI, retention). */
    accountId: z.string().nullable(),
    /** Set when the actor used a personal access token. */
    tokenId: z.string().nullable(),
    ip: z.string().nullable(),
  }),
  targetId: z.string(),
  detail: z.record(z.string(), z.unknown()),
});
export type AdminAuditEventView = z.infer<typeof adminAuditEventSchema>;

export const adminAuditListSchema = z.object({
  /** Newest first. */
  events: z.array(adminAuditEventSchema),
  nextCursor: z.string().nullable(),
});
export type AdminAuditList = z.infer<typeof adminAuditListSchema>;

// ---------------------------------------------------------------------------------------------
// Service accounts (slice 2)

const serviceAccountNameSchema = z
  .string({ error: 'must be a string' })
  .trim()
  .min(1, 'must not be empty')
  .max(ACCOUNT_DISPLAY_NAME_MAX_LENGTH, `must be at most ${ACCOUNT_DISPLAY_NAME_MAX_LENGTH} characters`)
  .refine((name) => !UNSAFE_DISPLAY_CHARACTERS.test(name), 'must not contain control, formatting or bidirectional characters');

export const adminCreateServiceAccountRequestSchema = z
  .strictObject({
    name: serviceAccountNameSchema.describe('What the account is for, e.g. "ci-deploy"; 1–100 characters.'),
    description: z
      .string({ error: 'must be a string or null' })
      .max(SERVICE_ACCOUNT_DESCRIPTION_MAX_LENGTH, `must be at most ${SERVICE_ACCOUNT_DESCRIPTION_MAX_LENGTH} characters`)
      .refine((text) => !UNSAFE_DISPLAY_CHARACTERS.test(text), 'must not contain control, formatting or bidirectional characters')
      .nullable()
      .optional()
      .describe('Free text; null or empty: none.'),
  })
  .describe('A non-human account: it holds tokens an administrator mints, and can never sign in.');
export type AdminCreateServiceAccountRequest = z.infer<typeof adminCreateServiceAccountRequestSchema>;

export const adminServiceAccountsQuerySchema = z.object({ cursor: cursorSchema, limit: limitSchema });
export type AdminServiceAccountsQuery = z.infer<typeof adminServiceAccountsQuerySchema>;

export const adminServiceAccountSchema = z.object({
  id: z.string(),
  name: z.string(),
  description: z.string().nullable(),
  createdAt: timestamp,
  /** The administrator who created it; null once that account is deleted. */
  createdBy: adminTokenOwnerSchema.nullable(),
  /** Its tokens neither revoked nor expired. */
  activeTokens: z.number().int(),
});
export type AdminServiceAccountView = z.infer<typeof adminServiceAccountSchema>;

export const adminServiceAccountListSchema = z.object({
  /** Newest first. */
  serviceAccounts: z.array(adminServiceAccountSchema),
  nextCursor: z.string().nullable(),
});
export type AdminServiceAccountList = z.infer<typeof adminServiceAccountListSchema>;

/**
 * A token for a service account (answer: the create-token answer, the secret shown once). Its
 * lifetime is bounded by the policy's `serviceMaxLifetimeDays` (or TOKEN_LIFETIME_LIMIT_DAYS when
 * that is null); default: 180 days, or the maximum when lower. Admin scopes are refused (422).
 */
export const adminCreateServiceTokenRequestSchema = z
  .strictObject({
    name: tokenNameSchema,
    note: tokenNoteSchema.optional(),
    scopes: tokenScopesSchema.optional().describe('Default: namespaces:read, namespaces:write, tokens:read, tokens:write. Never an admin scope.'),
    namespaces: namespacePatternsSchema.nullable().optional(),
    allowedIps: allowedIpsSchema.nullable().optional(),
    expiresInDays: z
      .number({ error: 'must be a number of days' })
      .int('must be a whole number of days')
      .min(1, 'must be at least 1')
      .max(TOKEN_LIFETIME_LIMIT_DAYS, `must be at most ${TOKEN_LIFETIME_LIMIT_DAYS}`)
      .optional()
      .describe("Any whole number of days up to the policy's serviceMaxLifetimeDays (or 3650 without one)."),
  })
  .describe("A token for a service account, minted by an administrator.");
export type AdminCreateServiceTokenRequest = z.infer<typeof adminCreateServiceTokenRequestSchema>;

// ---------------------------------------------------------------------------------------------
// Instance policy (slice 2)

const policyDays = z
  .number({ error: 'must be a number of days' })
  .int('must be a whole number of days')
  .min(1, 'must be at least 1')
  .max(TOKEN_LIFETIME_LIMIT_DAYS, `must be at most ${TOKEN_LIFETIME_LIMIT_DAYS}`);

export const policySchema = z.object({
  /** The longest lifetime of a personal token, in days. */
  maxLifetimeDays: z.number().int(),
  /** The longest lifetime of a service account's token; null: no maximum (up to 3650 days). */
  serviceMaxLifetimeDays: z.number().int().nullable(),
  /** The scopes personal tokens may carry (admin scopes still only an administrator's). */
  personalScopes: z.array(z.enum(TOKEN_SCOPES)),
  /** Tokens unused for this many days are revoked (their owner is told); null: never. */
  idleRevokeDays: z.number().int().nullable(),
  /** When the policy was last changed; null while it is the defaults (TOKEN_MAX_LIFETIME_DAYS). */
  updatedAt: timestamp.nullable(),
});
export type PolicyView = z.infer<typeof policySchema>;

export const adminUpdatePolicyRequestSchema = z
  .strictObject({
    maxLifetimeDays: policyDays.describe('1–3650.'),
    serviceMaxLifetimeDays: policyDays.nullable().describe('1–3650, or null for no maximum.'),
    personalScopes: tokenScopesSchema.describe('At least one scope, none repeated.'),
    idleRevokeDays: policyDays.nullable().describe('1–3650, or null: never revoke idle tokens.'),
  })
  .describe('The whole policy (every field required); applies to new tokens at once, on every instance.');
export type AdminUpdatePolicyRequest = z.infer<typeof adminUpdatePolicyRequestSchema>;

// ---------------------------------------------------------------------------------------------
// Throttled addresses (slice 2)

export const adminThrottleSchema = z.object({
  /** The client key: an IPv4 address, or an IPv6 /64 written as its prefix ("2001:db8:1:2::/64"). */
  address: z.string(),
  /** Refused well-formed tokens counted in the window (3–3.5 minutes). */
  failures: z.number().int(),
  /** The start of the oldest counted 30-second bucket. */
  since: timestamp,
  /** When every counted failure will have aged out, unless more arrive. */
  until: timestamp,
});
export type AdminThrottleView = z.infer<typeof adminThrottleSchema>;

export const adminThrottleListSchema = z.object({
  /** Throttled addresses, most failures first. */
  throttles: z.array(adminThrottleSchema),
});
export type AdminThrottleList = z.infer<typeof adminThrottleListSchema>;
