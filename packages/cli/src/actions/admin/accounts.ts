import { adminAccountListSchema, type AdminAccountView } from '@latchkey/contract';
import { CliError, UsageError } from '../../cli-errors.js';
import { confirmOrRefuse } from '../../confirm.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { accountLabel, formatDate, renderFields, renderTable, writeJson, type OutputFormat } from '../../output.js';
import { escapeTerminalText } from '../../terminal-text.js';
import { findAccount } from './find-account.js';

/** `latchkey admin accounts list`: every account (GET /api/v1/admin/accounts, admin:read), newest first. */
export async function listAccounts(
  io: CliIo,
  options: GlobalOptions & { search?: string; state?: string; output?: OutputFormat },
): Promise<void> {
  const { client } = await connect(io, options);
  const accounts: AdminAccountView[] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: '200' });
    if (options.search) query.set('search', options.search);
    if (options.state) query.set('state', options.state);
    if (cursor) query.set('cursor', cursor);
    const page = await client.send({ method: 'GET', path: `/api/v1/admin/accounts?${query}` }, adminAccountListSchema);
    accounts.push(...page.accounts);
    cursor = page.nextCursor;
  } while (cursor);
  if (options.output === 'json') return writeJson(io.stdout, { accounts });
  if (accounts.length === 0) {
    io.stderr.write('No account matches.\n');
    return;
  }
  io.stdout.write(
    renderTable(
      ['ACCOUNT', 'NAME', 'ROLE', 'STATE', 'TOKENS', 'LAST SIGN-IN', 'ID'],
      accounts.map((account) => [
        account.email ?? '-',
        account.name ?? '-',
        account.isAdmin ? 'admin' : 'member',
        account.disabledAt ? 'disabled' : 'active',
        String(account.activeTokens),
        account.lastSignInAt ? formatDate(account.lastSignInAt) : 'never',
        account.id,
      ]),
    ),
  );
}

/**
 * `latchkey admin accounts show ACCOUNT`: one account by id (GET /api/v1/admin/accounts/:id) or
 * exact email (found through the list's search), admin:read.
 */
export async function showAccount(io: CliIo, options: GlobalOptions & { account?: string; output?: OutputFormat }): Promise<void> {
  if (!options.account) throw new UsageError('Name the account to show: its id or email.');
  const { client } = await connect(io, options);
  const account = await findAccount(client, options.account);
  if (options.output === 'json') return writeJson(io.stdout, account);
  io.stdout.write(
    renderFields([
      ['Email', account.email ?? '-'],
      ['Name', account.name ?? '-'],
      ['Role', account.isAdmin ? 'admin' : 'member'],
      ['State', account.disabledAt ? `disabled (since ${formatDate(account.disabledAt)})` : 'active'],
      ['Active tokens', String(account.activeTokens)],
      ['Last sign-in', account.lastSignInAt ? formatDate(account.lastSignInAt) : 'never'],
      ['Created', formatDate(account.createdAt)],
      ['ID', account.id],
    ]),
  );
}

type AccountChange = 'disable' | 'enable' | 'delete';

/** "Its 3 active tokens stop working at once." / "Its 1 active token stops …" / "It has no active tokens." */
function tokensSentence(count: number, when: string): string {
  if (count === 0) return 'It has no active tokens.';
  return count === 1 ? `Its 1 active token stops working ${when}.` : `Its ${count} active tokens stop working ${when}.`;
}

/** `latchkey admin accounts disable|enable|delete ACCOUNT`: by id or exact email (admin:write). */
export async function changeAccount(
  io: CliIo,
  change: AccountChange,
  options: GlobalOptions & { account?: string; yes?: boolean },
): Promise<void> {
  if (!options.account) throw new CliError(`Name the account to ${change}: its id or email.`);
  const { client } = await connect(io, options);
  const account = await findAccount(client, options.account);
  const label = `account ${escapeTerminalText(accountLabel(account))} (${escapeTerminalText(account.id)})`;
  if (change === 'disable') {
    const question = `Disable ${label}? It is signed out until it is enabled again. ${tokensSentence(account.activeTokens, 'at once')}`;
    if (!(await confirmOrRefuse(io, question, options.yes))) throw new CliError('Not disabled.');
    await client.send({ method: 'POST', path: `/api/v1/admin/accounts/${encodeURIComponent(account.id)}/disable` });
    io.stdout.write(`Disabled ${label}.\n`);
  } else if (change === 'enable') {
    await client.send({ method: 'POST', path: `/api/v1/admin/accounts/${encodeURIComponent(account.id)}/enable` });
    io.stdout.write(`Enabled ${label}.\n`);
  } else {
    const question = `Delete ${label} and everything it owns? ${tokensSentence(account.activeTokens, 'for good')} This cannot be undone.`;
    if (!(await confirmOrRefuse(io, question, options.yes))) throw new CliError('Not deleted.');
    await client.send({ method: 'DELETE', path: `/api/v1/admin/accounts/${encodeURIComponent(account.id)}` });
    io.stdout.write(`Deleted ${label}.\n`);
  }
}
