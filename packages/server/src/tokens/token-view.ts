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
    state: tokenStateAt({ ...token, replacedBy: token.replacedBy ?? null }, now),
    displayToken: maskToken(token.last4),
    last4: token.last4,
    createdAt: iso(token.createdAt),
    expiresAt: iso(token.expiresAt),
    lastUsedAt: isoOrNull(token.lastUsedAt),
    lastUsedIp: token.lastUsedIp,
    revokedAt: isoOrNull(token.revokedAt),
    rotatedFrom: token.rotatedFrom ?? null,
    replacedBy: token.replacedBy ?? null,
    rotatedAt: isoOrNull(token.rotatedAt ?? null),
    graceUntil: isoOrNull(token.graceUntil ?? null),
    usesSinceRotation: token.replacedBy ? (token.rotationUses ?? 0) : null,
    lastUseSinceRotation: lastUseSinceRotation(token),
  };
}

/** The old secret's last use after its rotation: the last use, when it came after. */
function lastUseSinceRotation(token: TokenRecord): TokenView['lastUseSinceRotation'] {
  // Counted uses write the last use with them: none counted, none to show.
  if (!token.replacedBy || !token.rotationUses || token.lastUsedAt === null) return null;
  const { lastUsedAt } = token;
  return { at: iso(lastUsedAt), ip: token.lastUsedIp };
}
