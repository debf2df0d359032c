/** A token's state at a moment, from the same rule the server uses (contract `tokenStateAt`). */
import { tokenStateAt, type TokenState, type TokenView } from '@latchkey/contract';

export function stateOf(token: TokenView, now: number): TokenState {
  return tokenStateAt(
    {
      expiresAt: Date.parse(token.expiresAt),
      revokedAt: token.revokedAt === null ? null : Date.parse(token.revokedAt),
      replacedBy: token.replacedBy ?? null,
    },
    now,
  );
}

export const STATE_LABELS: Record<TokenState, string> = {
  active: 'Active',
  expiring: 'Expiring soon',
  rotating: 'Rotating',
  expired: 'Expired',
  revoked: 'Revoked',
};
