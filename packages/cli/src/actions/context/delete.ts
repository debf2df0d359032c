import { UsageError } from '../../cli-errors.js';
import { findContext, readConfig, writeConfig } from '../../config-store.js';
import type { CliIo } from '../../io.js';
import { escapeTerminalText } from '../../terminal-text.js';

/** Forgets a stored context. Its token stays valid: `latchkey token revoke` ends that. */
export async function deleteContext(io: CliIo, name: string): Promise<void> {
  const config = readConfig(io);
  if (!findContext(config, name)) {
    throw new UsageError(`No context named "${name}"; \`latchkey context list\` shows the stored ones.`);
  }
  writeConfig(io, {
    currentContext: config.currentContext === name ? null : config.currentContext,
    contexts: config.contexts.filter((context) => context.name !== name),
  });
  io.stdout.write(
    `Deleted context "${escapeTerminalText(name)}". Its token is still valid until it expires; ` +
      'revoke it in the console if it is no longer needed.\n',
  );
}
