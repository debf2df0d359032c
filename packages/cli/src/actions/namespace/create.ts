import { NAMESPACE_NAME_PATTERN, namespaceSchema } from '@latchkey/contract';
import { UsageError } from '../../cli-errors.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { formatDate, writeJson, type OutputFormat } from '../../output.js';
import { escapeTerminalText } from '../../terminal-text.js';

export async function createNamespace(
  io: CliIo,
  name: string,
  options: GlobalOptions & { output?: OutputFormat },
): Promise<void> {
  checkNamespaceName(name);
  const { client } = await connect(io, options);
  const namespace = await client.send({ method: 'POST', path: '/api/v1/namespaces', body: { name } }, namespaceSchema);
  if (options.output === 'json') return writeJson(io.stdout, namespace);
  io.stdout.write(`Created namespace "${escapeTerminalText(namespace.name)}" (${formatDate(namespace.createdAt)}).\n`);
}

/** The server checks too; checking here turns a typo into a usage error without a request. */
export function checkNamespaceName(name: string): void {
  if (name.length > 63 || !NAMESPACE_NAME_PATTERN.test(name)) {
    throw new UsageError(
      `"${name}" is not a valid namespace name: use 1–63 lowercase letters, digits and "-", starting and ending with a letter or digit.`,
    );
  }
}
