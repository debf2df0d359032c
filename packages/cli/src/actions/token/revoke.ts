import { CliError } from '../../cli-errors.js';
import { readConfig, writeConfig } from '../../config-store.js';
import { confirmOrRefuse } from '../../confirm.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { escapeTerminalText } from '../../terminal-text.js';

/** Revokes the token in use, at once and for good, then forgets it in every stored context. */
export async function revokeToken(io: CliIo, options: GlobalOptions & { yes?: boolean }): Promise<void> {
  const { client, credentials } = await connect(io, options);
  const confirmed = await confirmOrRefuse(
    io,
    'Revoke the token in use? Everything using it stops working at once.',
    options.yes,
  );
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
