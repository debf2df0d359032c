import { connect } from '../../connect.js';
import { confirmOrRefuse } from '../../confirm.js';
import { CliError } from '../../cli-errors.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { escapeTerminalText } from '../../terminal-text.js';
import { checkNamespaceName } from './create.js';

export async function deleteNamespace(io: CliIo, name: string, options: GlobalOptions & { yes?: boolean }): Promise<void> {
  checkNamespaceName(name);
  const { client } = await connect(io, options);
  const confirmed = await confirmOrRefuse(io, `Delete namespace "${name}"? This cannot be undone.`, options.yes);
  if (!confirmed) throw new CliError('Not deleted.');
  await client.send({ method: 'DELETE', path: `/api/v1/namespaces/${encodeURIComponent(name)}` });
  io.stdout.write(`Deleted namespace "${escapeTerminalText(name)}".\n`);
}
