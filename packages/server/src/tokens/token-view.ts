/** A token as the API shows it: never the secret; the state as of the database clock. */
import { maskToken, tokenStateAt, type TokenView } from '@latchkey/contract';
import { iso, isoOrNull } from '../http/timestamps.js';
import type { TokenRecord } from './token.js';

/** `now` is the database clock, so every instance reports the same state. */
export function presentToken(token: TokenRecord, now: number): TokenView {
  return {
    id: token.id,
    name: token.name,
    note: token.note,
    scopes: token.scopes,
    namespaces: token.namespaces,
    allowedIps: token.allowedIps,
    state: tokenStateAt(token, now),
    displayToken: maskToken(token.last4),
    last4: token.last4,
    createdAt: iso(token.createdAt),
    expiresAt: iso(token.expiresAt),
    lastUsedAt: isoOrNull(token.lastUsedAt),
    lastUsedIp: token.lastUsedIp,
    revokedAt: isoOrNull(token.revokedAt),
  };
}
