/**
 * The administration API (`/api/v1/admin/…`, docs/api.md "Administration API"): what an
 * administrator's console session or admin-scoped token sends and receives. Bodies are strict
 * objects like every other body; query numbers are coerced from strings and bounded; a query
 * parameter the route does not know is ignored, as elsewhere.
 */
import { z } from 'zod';
import { TOKEN_SCOPES } from './scopes.js';
import { accountSchema, TOKEN_STATES, tokenSchema } from './schemas.js';

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

export const ADMIN_ACCOUNT_STATES = ['active', 'disabled', 'all'] as const;

export const adminAccountsQuerySchema = z.object({
  search: z.string().max(254).optional().describe('Only accounts whose email or name contains this text (any case).'),
  state: z.enum(ADMIN_ACCOUNT_STATES).optional().describe('active, disabled or all (the default).'),
  cursor: cursorSchema,
  limit: limitSchema,
});
export type AdminAccountsQuery = z.infer<typeof adminAccountsQuerySchema>;

export const adminAccountSchema = accountSchema.extend({
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

export const ACCOUNT_DISPLAY_NAME_MAX_LENGTH = 100;
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
  token: z.string().max(64).optional().describe('Only events made with this token (id).'),
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

/** `Accept` value asking GET /api/v1/admin/audit for every matching event, one JSON object a line. */
export const NDJSON_MEDIA_TYPE = 'application/x-ndjson';
