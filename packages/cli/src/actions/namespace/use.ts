import { namespaceListSchema } from '@latchkey/contract';
import { CliError } from '../../cli-errors.js';
import { readConfig, upsertContext, writeConfig } from '../../config-store.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { escapeTerminalText } from '../../terminal-text.js';
import { checkNamespaceName } from './create.js';

/** Makes NAME the current context's default namespace, once the server confirms it exists. */
export async function useNamespace(io: CliIo, name: string, options: GlobalOptions): Promise<void> {
  checkNamespaceName(name);
  const { client, credentials } = await connect(io, options);
  const config = readConfig(io);
  const context = credentials.context ?? config.contexts.find((candidate) => candidate.url === credentials.url);
  if (!context) {
    throw new CliError(
      'There is no stored context to set a default namespace on; with environment credentials set LATCHKEY_NAMESPACE instead.',
    );
  }
  const { namespaces } = await client.send({ method: 'GET', path: '/api/v1/namespaces' }, namespaceListSchema);
  if (!namespaces.some((namespace) => namespace.name === name)) {
    throw new CliError(`You have no namespace "${name}"; \`latchkey namespace list\` shows yours.`);
  }
  writeConfig(io, upsertContext(config, { ...context, namespace: name }));
  io.stdout.write(
    `Namespace "${escapeTerminalText(name)}" is now the default of context "${escapeTerminalText(context.name)}".\n`,
  );
}
