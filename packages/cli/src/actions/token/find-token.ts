import { tokenListSchema, tokenSchema, type TokenView } from '@latchkey/contract';
import type { ApiClient } from '../../api-client.js';
import { CliError } from '../../cli-errors.js';

/** Token ids are UUIDs; anything else given where a token is expected is its name. */
const ID_SHAPE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const looksLikeTokenId = (value: string): boolean => ID_SHAPE.test(value);

/**
 * The caller's token named by `idOrName`: by id (`GET /api/v1/tokens/:id`), else by exact name
 * among the tokens `GET /api/v1/tokens` lists (needs `tokens:read`). `includeRevoked`: a name
 * may name a revoked token too (for `show`); a live token of that name is preferred, and among
 * live ones the current one over those it replaced by rotation.
 */
export async function findToken(client: ApiClient, idOrName: string, { includeRevoked }: { includeRevoked: boolean }): Promise<TokenView> {
  if (looksLikeTokenId(idOrName)) {
    return client.send({ method: 'GET', path: `/api/v1/tokens/${encodeURIComponent(idOrName.toLowerCase())}` }, tokenSchema);
  }
  const { tokens } = await client.send(
    { method: 'GET', path: `/api/v1/tokens${includeRevoked ? '?state=all' : ''}` },
    tokenListSchema,
  );
  const named = tokens.filter((token) => token.name === idOrName);
  const live = named.filter((token) => token.state !== 'revoked');
  // A rotated token keeps its name beside its replacement's: the name means the current one.
  const current = live.filter((token) => !token.replacedBy);
  const candidates = current.length > 0 ? current : live.length > 0 ? live : named;
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) {
    throw new CliError(`You have no ${includeRevoked ? '' : 'live '}token named "${idOrName}"; \`latchkey token list\` shows yours.`);
  }
  throw new CliError(
    `${candidates.length} tokens are named "${idOrName}"; name one by its id: ${candidates.map((token) => token.id).join(', ')}.`,
  );
}
