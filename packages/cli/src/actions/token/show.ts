import { tokenSchema } from '@latchkey/contract';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { formatDate, renderFields, writeJson, type OutputFormat } from '../../output.js';

/** The token in use, as the server sees it: never the secret, only `lk_pat_1…AbCd`. */
export async function showToken(io: CliIo, options: GlobalOptions & { output?: OutputFormat }): Promise<void> {
  const { client, credentials } = await connect(io, options);
  const token = await client.send({ method: 'GET', path: '/api/v1/tokens/self' }, tokenSchema);
  if (options.output === 'json') return writeJson(io.stdout, token);
  io.stdout.write(
    renderFields([
      ['Name', token.name],
      ['State', token.state],
      ['Token', token.displayToken],
      ['Expires', formatDate(token.expiresAt)],
      ['Last used', token.lastUsedAt ? `${formatDate(token.lastUsedAt)}${token.lastUsedIp ? ` from ${token.lastUsedIp}` : ''}` : 'never'],
      ['Created', formatDate(token.createdAt)],
      ['ID', token.id],
      ['From', credentials.tokenSource === 'the stored context' ? `context "${credentials.context?.name}"` : credentials.tokenSource],
    ]),
  );
}
