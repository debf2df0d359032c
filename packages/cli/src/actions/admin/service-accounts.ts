import {
  adminServiceAccountListSchema,
  adminServiceAccountSchema,
  createTokenResponseSchema,
  type AdminServiceAccountView,
} from '@latchkey/contract';
import type { ApiClient } from '../../api-client.js';
import { CliError, UsageError } from '../../cli-errors.js';
import { confirmOrRefuse } from '../../confirm.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { accountLabel, formatDate, renderTable, writeJson, type OutputFormat } from '../../output.js';
import { escapeTerminalText } from '../../terminal-text.js';
import { createTokenBody, type CreateTokenOptions } from '../token/create.js';

const PATH = '/api/v1/admin/service-accounts';

/** Every service account, newest first, following every page. */
async function allServiceAccounts(client: ApiClient): Promise<AdminServiceAccountView[]> {
  const accounts: AdminServiceAccountView[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: '200' });
    if (cursor) query.set('cursor', cursor);
    const page = await client.send({ method: 'GET', path: `${PATH}?${query}` }, adminServiceAccountListSchema);
    accounts.push(...page.serviceAccounts);
    cursor = page.nextCursor;
  } while (cursor);
  return accounts;
}

/** The service account `idOrName` names: by id, else by exact name. */
async function findServiceAccount(client: ApiClient, idOrName: string): Promise<AdminServiceAccountView> {
  const accounts = await allServiceAccounts(client);
  const match =
    accounts.find((account) => account.id === idOrName || account.id === idOrName.toLowerCase()) ?? accounts.find((account) => account.name === idOrName);
  if (!match) throw new CliError(`No service account "${idOrName}"; \`latchkey admin service-accounts list\` shows them.`);
  return match;
}

/** `latchkey admin service-accounts list` (admin:read). */
export async function listServiceAccounts(io: CliIo, options: GlobalOptions & { output?: OutputFormat }): Promise<void> {
  const { client } = await connect(io, options);
  const serviceAccounts = await allServiceAccounts(client);
  if (options.output === 'json') return writeJson(io.stdout, { serviceAccounts });
  if (serviceAccounts.length === 0) {
    io.stderr.write('No service accounts yet; `latchkey admin service-accounts create NAME` makes one.\n');
    return;
  }
  io.stdout.write(
    renderTable(
      ['NAME', 'DESCRIPTION', 'CREATED BY', 'TOKENS', 'CREATED', 'ID'],
      serviceAccounts.map((account) => [
        account.name,
        account.description ?? '-',
        account.createdBy ? accountLabel(account.createdBy) : '(deleted)',
        String(account.activeTokens),
        formatDate(account.createdAt),
        account.id,
      ]),
    ),
  );
}

/** `latchkey admin service-accounts create NAME [--description D]` (admin:write). */
export async function createServiceAccount(
  io: CliIo,
  options: GlobalOptions & { name?: string; description?: string; output?: OutputFormat },
): Promise<void> {
  const name = options.name?.trim();
  if (!name) throw new UsageError('Name the service account, e.g. `latchkey admin service-accounts create ci-deploy`.');
  const { client } = await connect(io, options);
  const body: Record<string, unknown> = { name };
  if (options.description !== undefined && options.description.trim() !== '') body.description = options.description;
  const account = await client.send({ method: 'POST', path: PATH, body }, adminServiceAccountSchema);
  if (options.output === 'json') return writeJson(io.stdout, account);
  io.stdout.write(`Created service account "${escapeTerminalText(account.name)}" (${escapeTerminalText(account.id)}).\n`);
  io.stderr.write(`Mint it a token: latchkey admin service-accounts mint ${escapeTerminalText(account.id)} --name NAME\n`);
}

/** `latchkey admin service-accounts delete ID [--yes]`: by id or exact name, confirmed with its token count. */
export async function deleteServiceAccount(io: CliIo, options: GlobalOptions & { id?: string; yes?: boolean }): Promise<void> {
  if (!options.id) throw new UsageError('Name the service account to delete: its id or name.');
  const { client } = await connect(io, options);
  const account = await findServiceAccount(client, options.id);
  const label = `service account "${escapeTerminalText(account.name)}" (${escapeTerminalText(account.id)})`;
  const count = account.activeTokens;
  const tokens =
    count === 0 ? 'It has no active tokens.' : count === 1 ? 'Its 1 active token stops working for good.' : `Its ${count} active tokens stop working for good.`;
  if (!(await confirmOrRefuse(io, `Delete ${label} and its tokens? ${tokens} This cannot be undone.`, options.yes))) throw new CliError('Not deleted.');
  await client.send({ method: 'DELETE', path: `${PATH}/${encodeURIComponent(account.id)}` });
  io.stdout.write(`Deleted ${label}.\n`);
}

/**
 * `latchkey admin service-accounts mint ID --name N …`: a token for a service account, its secret
 * on stdout once (like `token create`), the rest on stderr.
 */
export async function mintServiceToken(io: CliIo, options: CreateTokenOptions & { id?: string }): Promise<void> {
  if (!options.id) throw new UsageError('Name the service account to mint a token for: its id or name.');
  const body = createTokenBody(options);
  const { client } = await connect(io, options);
  const account = await findServiceAccount(client, options.id);
  const created = await client.send(
    { method: 'POST', path: `${PATH}/${encodeURIComponent(account.id)}/tokens`, body },
    createTokenResponseSchema,
  );
  if (options.output === 'json') return writeJson(io.stdout, created);
  io.stdout.write(`${created.secret}\n`);
  const { token } = created;
  io.stderr.write(
    `Minted token "${escapeTerminalText(token.name)}" for service account "${escapeTerminalText(account.name)}" ` +
      `(${escapeTerminalText(token.scopes.join(', '))}; expires ${formatDate(token.expiresAt)}; id ${escapeTerminalText(token.id)}). ` +
      'Copy the secret above now: it is not shown again.\n',
  );
}
