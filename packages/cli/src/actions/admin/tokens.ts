import { adminTokenListSchema, type AdminTokenView } from '@latchkey/contract';
import { CliError, UsageError } from '../../cli-errors.js';
import { confirmOrRefuse } from '../../confirm.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { accountLabel, formatDate, renderTable, writeJson, type OutputFormat } from '../../output.js';
import { escapeTerminalText } from '../../terminal-text.js';
import { looksLikeTokenId } from '../token/find-token.js';
import { accountIdOf } from './find-account.js';

export interface AdminTokensOptions extends GlobalOptions {
  owner?: string;
  state?: string;
  expiringWithin?: string;
  unusedFor?: string;
  scope?: string;
  output?: OutputFormat;
}

/** A whole number of days from the command line, or a usage error naming the option. */
export function daysOption(value: string | undefined, option: string): string | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value.trim())) throw new UsageError(`${option} takes a whole number of days, not "${value}".`);
  return String(Number(value.trim()));
}

/** `latchkey admin tokens list`: every account's tokens with their owner (GET /api/v1/admin/tokens, admin:read). */
export async function listAdminTokens(io: CliIo, options: AdminTokensOptions): Promise<void> {
  const filters = new URLSearchParams({ limit: '200' });
  const expiring = daysOption(options.expiringWithin, '--expiring-within');
  const unused = daysOption(options.unusedFor, '--unused-for');
  const { client } = await connect(io, options);
  if (options.owner) filters.set('owner', await accountIdOf(client, options.owner));
  if (options.state) filters.set('state', options.state);
  if (expiring !== undefined) filters.set('expiringWithinDays', expiring);
  if (unused !== undefined) filters.set('unusedForDays', unused);
  if (options.scope) filters.set('scope', options.scope);

  const tokens: AdminTokenView[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams(filters);
    if (cursor) query.set('cursor', cursor);
    const page = await client.send({ method: 'GET', path: `/api/v1/admin/tokens?${query}` }, adminTokenListSchema);
    tokens.push(...page.tokens);
    cursor = page.nextCursor;
  } while (cursor);

  if (options.output === 'json') return writeJson(io.stdout, { tokens });
  if (tokens.length === 0) {
    io.stderr.write('No token matches.\n');
    return;
  }
  io.stdout.write(
    renderTable(
      ['NAME', 'OWNER', 'SCOPES', 'STATE', 'EXPIRES', 'LAST USED', 'ID'],
      tokens.map((token) => [
        token.name,
        accountLabel(token.owner),
        token.scopes.length > 0 ? token.scopes.join(',') : '-',
        token.state,
        formatDate(token.expiresAt),
        token.lastUsedAt ? formatDate(token.lastUsedAt) : 'never',
        token.id,
      ]),
    ),
  );
}

/**
 * `latchkey admin tokens revoke ID`: revokes any account's token (DELETE /api/v1/admin/tokens/:id,
 * admin:write); its owner finds a notice in the console. The confirmation names the token and its
 * owner when the inventory has it.
 */
export async function revokeAdminToken(io: CliIo, options: GlobalOptions & { id?: string; yes?: boolean }): Promise<void> {
  if (!options.id) throw new UsageError('Name the token to revoke by its id (`latchkey admin tokens list` shows them).');
  if (!looksLikeTokenId(options.id)) throw new UsageError(`"${options.id}" is not a token id; \`latchkey admin tokens list\` shows them.`);
  const id = options.id.toLowerCase();
  const { client } = await connect(io, options);
  let label = `token ${id}`;
  if (!options.yes) {
    const token = await findInInventory(client, id);
    if (token) label = `token "${escapeTerminalText(token.name)}" of ${escapeTerminalText(accountLabel(token.owner))} (${id})`;
  }
  const confirmed = await confirmOrRefuse(io, `Revoke ${label}? Everything using it stops working at once; its owner is told.`, options.yes);
  if (!confirmed) throw new CliError('Not revoked.');
  await client.send({ method: 'DELETE', path: `/api/v1/admin/tokens/${encodeURIComponent(id)}` });
  io.stdout.write(`Revoked ${label}.\n`);
}

/** The unrevoked token `id` among the first thousand of the inventory, for the confirmation's wording. */
async function findInInventory(client: Parameters<typeof accountIdOf>[0], id: string): Promise<AdminTokenView | undefined> {
  let cursor: string | null = null;
  for (let pages = 0; pages < 5; pages++) {
    const query = new URLSearchParams({ limit: '200' });
    if (cursor) query.set('cursor', cursor);
    const page = await client.send({ method: 'GET', path: `/api/v1/admin/tokens?${query}` }, adminTokenListSchema);
    const token = page.tokens.find((candidate) => candidate.id === id);
    if (token) return token;
    cursor = page.nextCursor;
    if (!cursor) return undefined;
  }
  return undefined;
}
