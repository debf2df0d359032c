import { adminAccountListSchema, adminAccountSchema, type AdminAccountView } from '@latchkey/contract';
import type { ApiClient } from '../../api-client.js';
import { CliError } from '../../cli-errors.js';
import { looksLikeTokenId } from '../token/find-token.js';

/**
 * The account `idOrEmail` names, for an administrator: by id (`GET /api/v1/admin/accounts/:id`),
 * else by exact email (any case) among those the account search finds. Needs admin:read.
 */
export async function findAccount(client: ApiClient, idOrEmail: string): Promise<AdminAccountView> {
  // Account ids are UUIDs, like token ids.
  if (looksLikeTokenId(idOrEmail)) {
    return client.send({ method: 'GET', path: `/api/v1/admin/accounts/${encodeURIComponent(idOrEmail.toLowerCase())}` }, adminAccountSchema);
  }
  const wanted = idOrEmail.toLowerCase();
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ search: idOrEmail, state: 'all', limit: '200' });
    if (cursor) query.set('cursor', cursor);
    const page = await client.send({ method: 'GET', path: `/api/v1/admin/accounts?${query}` }, adminAccountListSchema);
    const match = page.accounts.find((account) => account.email?.toLowerCase() === wanted);
    if (match) return match;
    cursor = page.nextCursor;
  } while (cursor);
  throw new CliError(`No account has the email "${idOrEmail}"; \`latchkey admin accounts list --search TEXT\` finds accounts.`);
}

/** The account id `idOrEmail` names: an id as it is (the server says if it is unknown), an email looked up. */
export async function accountIdOf(client: ApiClient, idOrEmail: string): Promise<string> {
  return looksLikeTokenId(idOrEmail) ? idOrEmail.toLowerCase() : (await findAccount(client, idOrEmail)).id;
}
