import { createTokenResponseSchema } from '@latchkey/contract';
import { canonicalNamespacePatterns, isTokenScope, namespacePatternProblem, TOKEN_SCOPES, type TokenScope } from '@latchkey/contract/scopes';
import { UsageError } from '../../cli-errors.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { formatDate, writeJson, type OutputFormat } from '../../output.js';
import { escapeTerminalText } from '../../terminal-text.js';

export interface CreateTokenOptions extends GlobalOptions {
  name?: string;
  /** Every --scope value (repeated or comma-separated); empty: the server's default. */
  scopes: readonly string[];
  /** Every --namespace value; empty: every namespace. */
  namespaces: readonly string[];
  /** Every --allow-ip value; empty: anywhere. */
  allowedIps: readonly string[];
  expiresIn?: string;
  note?: string;
  output?: OutputFormat;
}

/**
 * Creates a token and prints its secret on stdout, alone on its line, so `$(latchkey token
 * create …)` captures it; the server answers with it this once. What the server refuses (a
 * token broader than the one in use, a lifetime it does not offer, a bad address) comes back
 * as its error.
 */
export async function createToken(io: CliIo, options: CreateTokenOptions): Promise<void> {
  const body = createTokenBody(options);
  const { client } = await connect(io, options);
  const created = await client.send({ method: 'POST', path: '/api/v1/tokens', body }, createTokenResponseSchema);
  if (options.output === 'json') return writeJson(io.stdout, created);
  io.stdout.write(`${created.secret}\n`);
  const { token } = created;
  io.stderr.write(
    `Created token "${escapeTerminalText(token.name)}" (${escapeTerminalText(token.scopes.join(', '))}; expires ${formatDate(token.expiresAt)}; id ${escapeTerminalText(token.id)}). ` +
      'Copy the secret above now: it is not shown again.\n',
  );
}

/** The request body, checked here first so a typo is a usage error without a request. */
export function createTokenBody(options: CreateTokenOptions): Record<string, unknown> {
  const name = options.name?.trim();
  if (!name) throw new UsageError("missing required option '--name <name>'");
  const body: Record<string, unknown> = { name };

  if (options.scopes.length > 0) {
    const unknown = options.scopes.filter((scope) => !isTokenScope(scope));
    if (unknown.length > 0) {
      throw new UsageError(
        `unknown scope${unknown.length > 1 ? 's' : ''} ${unknown.map((scope) => `"${scope}"`).join(', ')}; the scopes are ${TOKEN_SCOPES.join(', ')}.`,
      );
    }
    body.scopes = [...new Set(options.scopes as readonly TokenScope[])];
  }

  if (options.namespaces.length > 0) {
    for (const pattern of options.namespaces) {
      const problem = namespacePatternProblem(pattern);
      if (problem) throw new UsageError(`--namespace "${pattern}" ${problem}.`);
    }
    body.namespaces = canonicalNamespacePatterns(options.namespaces);
  }

  if (options.allowedIps.length > 0) body.allowedIps = [...new Set(options.allowedIps)];

  if (options.expiresIn !== undefined) {
    const days = /^\d{1,4}$/.test(options.expiresIn.trim()) ? Number(options.expiresIn.trim()) : Number.NaN;
    if (!(days > 0)) throw new UsageError(`--expires-in "${options.expiresIn}" is not a number of days.`);
    body.expiresInDays = days;
  }

  if (options.note !== undefined) body.note = options.note;
  return body;
}
