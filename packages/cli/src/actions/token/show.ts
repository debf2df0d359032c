import { tokenSchema, type TokenView } from '@latchkey/contract';
import { relativeTime } from '@latchkey/contract/relative-time';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import { nowOf, type CliIo } from '../../io.js';
import { formatDate, renderFields, writeJson, type OutputFormat } from '../../output.js';
import { findToken } from './find-token.js';

/**
 * A token as the server sees it, never the secret, only `lk_pat_1…AbCd`: the one in use
 * (`GET /api/v1/tokens/self`, any token may), or the one `id` names, by id or name (tokens:read).
 */
export async function showToken(io: CliIo, options: GlobalOptions & { id?: string; output?: OutputFormat }): Promise<void> {
  const { client, credentials } = await connect(io, options);
  const token =
    options.id === undefined
      ? await client.send({ method: 'GET', path: '/api/v1/tokens/self' }, tokenSchema)
      : await findToken(client, options.id, { includeRevoked: true });
  if (options.output === 'json') return writeJson(io.stdout, token);
  io.stdout.write(
    renderFields([
      ['Name', token.name],
      // Where the token is used, when it has a note (escaped by renderFields, like the name).
      ...(token.note ? [['Note', token.note] as const] : []),
      ['State', token.state],
      ['Scopes', token.scopes.length > 0 ? token.scopes.join(', ') : '-'],
      ['Namespaces', token.namespaces === null ? 'every namespace' : token.namespaces.join(', ')],
      ['Allowed IPs', token.allowedIps === null ? 'anywhere' : token.allowedIps.join(', ')],
      ['Token', token.displayToken],
      ['Expires', expiry(token, nowOf(io))],
      ['Last used', token.lastUsedAt ? `${formatDate(token.lastUsedAt)}${token.lastUsedIp ? ` from ${token.lastUsedIp}` : ''}` : 'never'],
      ['Created', formatDate(token.createdAt)],
      ...rotationFields(token),
      ['ID', token.id],
      // Where the token in use came from; a token named by id or name is not necessarily in use.
      ...(options.id === undefined
        ? [['From', credentials.tokenSource === 'the stored context' ? `context "${credentials.context?.name}"` : credentials.tokenSource] as const]
        : []),
    ]),
  );
}

/** Its place in a rotation chain: what it replaced, what replaced it, and the old secret's use since. */
function rotationFields(token: TokenView): Array<readonly [string, string]> {
  const fields: Array<readonly [string, string]> = [];
  if (token.rotatedFrom) fields.push(['Replaces', token.rotatedFrom]);
  if (token.replacedBy) {
    fields.push(['Replaced by', `${token.replacedBy}${token.rotatedAt ? ` on ${formatDate(token.rotatedAt)}` : ''}`]);
    const uses = token.usesSinceRotation ?? 0;
    const last = token.lastUseSinceRotation;
    fields.push([
      'Since rotation',
      `used ${uses} ${uses === 1 ? 'time' : 'times'}${last ? `, last ${formatDate(last.at)}${last.ip ? ` from ${last.ip}` : ''}` : ''}`,
    ]);
  }
  return fields;
}

/** The expiry date, and how far off it is as the console words it; a revoked token has no countdown. */
function expiry(token: TokenView, now: number): string {
  const date = formatDate(token.expiresAt);
  return token.state === 'revoked' ? date : `${date} (${relativeTime(Date.parse(token.expiresAt), now)})`;
}
