import { namespaceListSchema } from '@latchkey/contract';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { formatDate, renderTable, writeJson, type OutputFormat } from '../../output.js';

export async function listNamespaces(io: CliIo, options: GlobalOptions & { output?: OutputFormat }): Promise<void> {
  const { client, credentials } = await connect(io, options);
  const { namespaces } = await client.send({ method: 'GET', path: '/api/v1/namespaces' }, namespaceListSchema);
  if (options.output === 'json') return writeJson(io.stdout, { namespaces });
  if (namespaces.length === 0) {
    io.stderr.write('No namespaces yet: create one with `latchkey namespace create NAME`.\n');
    return;
  }
  io.stdout.write(
    renderTable(
      ['NAME', 'DEFAULT', 'CREATED'],
      namespaces.map((namespace) => [
        namespace.name,
        namespace.name === credentials.namespace ? '*' : '',
        formatDate(namespace.createdAt),
      ]),
    ),
  );
}
