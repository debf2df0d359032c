import { adminThrottleListSchema } from '@latchkey/contract';
import { CliError, UsageError } from '../../cli-errors.js';
import { confirmOrRefuse } from '../../confirm.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { formatDate, renderTable, writeJson, type OutputFormat } from '../../output.js';
import { escapeTerminalText } from '../../terminal-text.js';

const PATH = '/api/v1/admin/throttles';

/** `latchkey admin throttles list` (admin:read): addresses slowed down for refused tokens, most failures first. */
export async function listThrottles(io: CliIo, options: GlobalOptions & { output?: OutputFormat }): Promise<void> {
  const { client } = await connect(io, options);
  const { throttles } = await client.send({ method: 'GET', path: PATH }, adminThrottleListSchema);
  if (options.output === 'json') return writeJson(io.stdout, { throttles });
  if (throttles.length === 0) {
    io.stderr.write('No address is throttled.\n');
    return;
  }
  io.stdout.write(
    renderTable(
      ['ADDRESS', 'FAILURES', 'SINCE', 'RELEASED AT'],
      throttles.map((throttle) => [throttle.address, String(throttle.failures), formatDate(throttle.since), formatDate(throttle.until)]),
    ),
  );
}

/** `latchkey admin throttles lift ADDRESS [--yes]` (admin:write): forgets the address's failures, once confirmed. */
export async function liftThrottle(io: CliIo, options: GlobalOptions & { address?: string; yes?: boolean }): Promise<void> {
  const address = options.address?.trim();
  if (!address) throw new UsageError('Name the address to lift (`latchkey admin throttles list` shows them).');
  const { client } = await connect(io, options);
  const question = `Lift the throttle on ${escapeTerminalText(address)}? Its refused tokens are forgotten and it may try tokens at full speed again.`;
  if (!(await confirmOrRefuse(io, question, options.yes))) throw new CliError('Not lifted.');
  await client.send({ method: 'DELETE', path: `${PATH}/${encodeURIComponent(address)}` });
  io.stdout.write(`Lifted the throttle on ${escapeTerminalText(address)}.\n`);
}
