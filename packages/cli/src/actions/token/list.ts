import { tokenListSchema } from '@latchkey/contract';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { formatDate, renderTable, writeJson, type OutputFormat } from '../../output.js';

/** The caller's tokens (`GET /api/v1/tokens`, needs tokens:read): metadata only, never a secret. */
export async function listTokens(io: CliIo, options: GlobalOptions & { state?: string; output?: OutputFormat }): Promise<void> {
  const { client } = await connect(io, options);
  const query = options.state ? `?state=${encodeURIComponent(options.state)}` : '';
  const { tokens } = await client.send({ method: 'GET', path: `/api/v1/tokens${query}` }, tokenListSchema);
  if (options.output === 'json') return writeJson(io.stdout, { tokens });
  if (tokens.length === 0) {
    io.stderr.write(
      options.state && options.state !== 'all'
        ? `No ${options.state} tokens.\n`
        : 'No tokens yet: create one with `latchkey token create --name NAME`.\n',
    );
    return;
  }
  io.stdout.write(
    renderTable(
      ['NAME', 'SCOPES', 'STATE', 'EXPIRES', 'LAST USED', 'ID'],
      tokens.map((token) => [
        token.name,
        token.scopes.length > 0 ? token.scopes.join(',') : '-',
        token.state,
        formatDate(token.expiresAt),
        token.lastUsedAt ? formatDate(token.lastUsedAt) : 'never',
        token.id,
      ]),
    ),
  );
}
