import { maskToken } from '@latchkey/contract';
import { tokenLast4 } from '@latchkey/contract/token';
import { CliError, UsageError } from '../../cli-errors.js';
import { currentContext, findContext, readConfig } from '../../config-store.js';
import type { CliIo } from '../../io.js';
import { accountLabel, formatDate, renderFields, writeJson, type OutputFormat } from '../../output.js';

/** The stored context (current, or NAME); the token only with `--include-token`. */
export async function showContext(
  io: CliIo,
  name: string | undefined,
  options: { output?: OutputFormat; includeToken?: boolean },
): Promise<void> {
  const config = readConfig(io);
  const context = name === undefined ? currentContext(config) : findContext(config, name);
  if (!context) {
    if (name !== undefined) throw new UsageError(`No context named "${name}"; \`latchkey context list\` shows the stored ones.`);
    throw new CliError('No current context: run `latchkey context use URL`.');
  }
  const masked = context.token === null ? null : maskToken(tokenLast4(context.token));
  const view = {
    name: context.name,
    url: context.url,
    account: context.account,
    namespace: context.namespace,
    current: context.name === config.currentContext,
    tokenName: context.tokenName,
    tokenExpiresAt: context.tokenExpiresAt,
    displayToken: masked,
    ...(options.includeToken ? { token: context.token } : {}),
  };
  if (options.output === 'json') return writeJson(io.stdout, view);
  io.stdout.write(
    renderFields([
      ['Name', view.name + (view.current ? ' (current)' : '')],
      ['URL', view.url],
      ['Account', accountLabel(view.account)],
      ['Namespace', view.namespace ?? '-'],
      ['Token', options.includeToken ? (context.token ?? '-') : (masked ?? '- (revoked)')],
      ['Token name', view.tokenName ?? '-'],
      ['Token expires', formatDate(view.tokenExpiresAt)],
    ]),
  );
}
