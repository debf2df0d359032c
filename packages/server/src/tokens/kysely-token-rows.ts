/** Token rows ↔ records, and the columns a token lookup selects (token + owner). */
import { OWNER_PREFIX, toOwner, type OwnerRow } from '../accounts/kysely-account-store.js';
import { ACCOUNT_COLUMNS, TOKEN_COLUMNS, nullableNumber, prefixed, qualified, type TokensTable } from '../database/schema.js';
import type { TokenScope } from '@latchkey/contract/scopes';
import type { NewToken, TokenForAuth, TokenRecord } from './token.js';

export type TokenRow = Pick<TokensTable, (typeof TOKEN_COLUMNS)[number]>;

/** What a lookup by digest selects, for a query over `tokens as t` joined to `accounts as a`. */
export const TOKEN_AND_OWNER_COLUMNS = [...qualified('t', TOKEN_COLUMNS), ...prefixed('a', ACCOUNT_COLUMNS, OWNER_PREFIX)];

export function toToken(row: TokenRow): TokenRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    note: row.note,
    scopes: row.scopes.split(' ') as TokenScope[],
    namespaces: listOrNull(row.namespaces),
    allowedIps: listOrNull(row.allowed_ips),
    last4: row.last4,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    revokedAt: nullableNumber(row.revoked_at),
    lastUsedAt: nullableNumber(row.last_used_at),
    lastUsedIp: row.last_used_ip,
    ...rotationOf(row),
  };
}

/** The rotation fields, present only on a token that replaced another or was replaced. */
function rotationOf(row: TokenRow): Partial<TokenRecord> {
  if (!row.rotated_from && !row.replaced_by) return {};
  return {
    rotatedFrom: row.rotated_from ?? null,
    replacedBy: row.replaced_by ?? null,
    rotatedAt: nullableNumber(row.rotated_at ?? null),
    graceUntil: nullableNumber(row.grace_until ?? null),
    rotationUses: Number(row.rotation_uses ?? 0),
  };
}

export function toTokenForAuth(row: TokenRow & OwnerRow, dbNow: number): TokenForAuth {
  return { ...toToken(row), account: toOwner(row), dbNow };
}

export function tokenRow(token: NewToken): TokensTable {
  return {
    id: token.id,
    account_id: token.accountId,
    name: token.name,
    note: token.note,
    scopes: token.scopes.join(' '),
    namespaces: token.namespaces && token.namespaces.join(' '),
    allowed_ips: token.allowedIps && token.allowedIps.join(' '),
    digest: token.digest,
    last4: token.last4,
    created_at: token.createdAt,
    expires_at: token.expiresAt,
    revoked_at: token.revokedAt,
    last_used_at: token.lastUsedAt,
    last_used_ip: token.lastUsedIp,
    rotated_from: token.rotatedFrom ?? null,
  };
}

/** Space-separated lists: none of their entries (scopes, namespace patterns, CIDRs) has a space. */
function listOrNull(column: string | null): string[] | null {
  return column === null ? null : column.split(' ');
}
