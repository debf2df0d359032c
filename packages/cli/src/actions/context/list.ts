import { readConfig } from '../../config-store.js';
import type { CliIo } from '../../io.js';
import { accountLabel, renderTable, writeJson, type OutputFormat } from '../../output.js';

export async function listContexts(io: CliIo, options: { output?: OutputFormat }): Promise<void> {
  const config = readConfig(io);
  const contexts = config.contexts.map((context) => ({
    name: context.name,
    url: context.url,
    account: context.account,
    namespace: context.namespace,
    hasToken: context.token !== null,
    current: context.name === config.currentContext,
  }));
  if (options.output === 'json') return writeJson(io.stdout, { contexts });
  if (contexts.length === 0) {
    io.stderr.write('No contexts yet: add one with `latchkey context use https://…`.\n');
    return;
  }
  io.stdout.write(
    renderTable(
      ['CURRENT', 'NAME', 'URL', 'ACCOUNT', 'NAMESPACE'],
      contexts.map((context) => [
        context.current ? '*' : '',
        context.name,
        context.url,
        accountLabel(context.account) + (context.hasToken ? '' : ' (no token)'),
        context.namespace ?? '-',
      ]),
    ),
  );
}
