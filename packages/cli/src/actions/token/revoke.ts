import { tokenSchema } from '@latchkey/contract';
import { CliError } from '../../cli-errors.js';
import { readConfig, writeConfig } from '../../config-store.js';
import { confirmOrRefuse } from '../../confirm.js';
import { connect } from '../../connect.js';
import type { GlobalOptions, ResolvedCredentials } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import type { ApiClient } from '../../api-client.js';
import { escapeTerminalText } from '../../terminal-text.js';
import { findToken, looksLikeTokenId } from './find-token.js';

/**
 * Revokes a token at once and for good: the one `id` names (by id or name; tokens:write), or
 * without one the token in use, which is then forgotten in every stored context. Naming the
 * token in use is the same as naming none.
 */
export async function revokeToken(io: CliIo, options: GlobalOptions & { id?: string; yes?: boolean }): Promise<void> {
  const { client, credentials } = await connect(io, options);
  if (options.id === undefined) return revokeSelf(io, client, credentials, options.yes);

  const self = await client.send({ method: 'GET', path: '/api/v1/tokens/self' }, tokenSchema);
  if (looksLikeTokenId(options.id) && options.id.toLowerCase() === self.id) return revokeSelf(io, client, credentials, options.yes);
  const token = await findToken(client, options.id, { includeRevoked: false });
  if (token.id === self.id) return revokeSelf(io, client, credentials, options.yes);

  const label = `token "${escapeTerminalText(token.name)}" (${escapeTerminalText(token.id)})`;
  const confirmed = await confirmOrRefuse(io, `Revoke ${label}? Everything using it stops working at once.`, options.yes);
  if (!confirmed) throw new CliError('Not revoked.');
  await client.send({ method: 'DELETE', path: `/api/v1/tokens/${encodeURIComponent(token.id)}` });
  io.stdout.write(`Revoked ${label}.\n`);
}

async function revokeSelf(io: CliIo, client: ApiClient, credentials: ResolvedCredentials, yes: boolean | undefined): Promise<void> {
  const confirmed = await confirmOrRefuse(io, 'Revoke the token in use? Everything using it stops working at once.', yes);
  if (!confirmed) throw new CliError('Not revoked.');
  await client.send({ method: 'DELETE', path: '/api/v1/tokens/self' });

  const config = readConfig(io);
  const holding = config.contexts.filter((context) => context.token === credentials.token);
  if (holding.length > 0) {
    writeConfig(io, {
      ...config,
      contexts: config.contexts.map((context) => (context.token === credentials.token ? { ...context, token: null } : context)),
    });
  }
  const where = holding.map((context) => `"${escapeTerminalText(context.name)}"`).join(', ');
  io.stdout.write(
    `Revoked the token.${where ? ` Removed it from context ${where}; run \`latchkey context use URL\` to add a new one.` : ''}\n`,
  );
}
