import { createTokenResponseSchema, tokenSchema, type CreateTokenResponse } from '@latchkey/contract';
import { UsageError } from '../../cli-errors.js';
import { readConfig, writeConfig } from '../../config-store.js';
import { connect } from '../../connect.js';
import type { GlobalOptions } from '../../credentials.js';
import type { CliIo } from '../../io.js';
import { formatDate, writeJson, type OutputFormat } from '../../output.js';
import { escapeTerminalText } from '../../terminal-text.js';
import { findToken, looksLikeTokenId } from './find-token.js';

export interface RotateTokenOptions extends GlobalOptions {
  id?: string;
  /** How long the old secret keeps working: seconds, or a number with s, m, h or d (at most 1d). */
  grace?: string;
  expiresInDays?: string;
  /** Print the new secret even when it was stored in a context. */
  printSecret?: boolean;
  output?: OutputFormat;
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const MAX_GRACE_SECONDS = 86_400;

/** `--grace` as seconds: `0`, `90`, `30s`, `15m`, `1h`, `1d`; at most one day. */
export function graceSeconds(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d{1,6})([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * UNIT_SECONDS[match[2] || 's']! : Number.NaN;
  if (!(seconds >= 0 && seconds <= MAX_GRACE_SECONDS)) {
    throw new UsageError(`--grace "${text}" is not a duration of at most 1d (e.g. 0, 30m, 1h, 1d).`);
  }
  return seconds;
}

/**
 * Replaces a token by a new one with the same name, scopes and restrictions and a fresh expiry
 * (docs/api.md, Rotation). Without an id (or naming the token in use) the token rotates itself
 * (`/tokens/self/rotate`, so a CI job keeps itself alive) and every stored context holding it
 * is rewritten with the new one (atomically, config-store.ts); the new secret is then printed
 * only with --print-secret, or when no context holds it (a token from LATCHKEY_TOKEN, --token or
 * stdin: printing it is the only way to keep it). Another token, by id or name, prints its new
 * secret once on stdout, as `token create` does.
 */
export async function rotateToken(io: CliIo, options: RotateTokenOptions): Promise<void> {
  const body: Record<string, unknown> = {};
  const grace = graceSeconds(options.grace);
  if (grace !== undefined) body.graceSeconds = grace;
  if (options.expiresInDays !== undefined) {
    const days = /^\d{1,4}$/.test(options.expiresInDays.trim()) ? Number(options.expiresInDays.trim()) : Number.NaN;
    if (!(days > 0)) throw new UsageError(`--expires-in-days "${options.expiresInDays}" is not a number of days.`);
    body.expiresInDays = days;
  }
  const { client, credentials } = await connect(io, options);

  let self = options.id === undefined;
  let path = '/api/v1/tokens/self/rotate';
  if (!self) {
    const current = await client.send({ method: 'GET', path: '/api/v1/tokens/self' }, tokenSchema);
    const target = looksLikeTokenId(options.id!) && options.id!.toLowerCase() === current.id ? current : await findToken(client, options.id!, { includeRevoked: false });
    self = target.id === current.id;
    if (!self) path = `/api/v1/tokens/${encodeURIComponent(target.id)}/rotate`;
  }
  const rotated = await client.send({ method: 'POST', path, body }, createTokenResponseSchema);

  const stored = self ? storeInContexts(io, credentials.token, rotated) : [];
  const printSecret = !self || stored.length === 0 || options.printSecret === true;
  if (options.output === 'json') {
    return writeJson(io.stdout, printSecret ? rotated : { token: rotated.token });
  }
  if (printSecret) io.stdout.write(`${rotated.secret}\n`);
  const { token } = rotated;
  const oldEnds = grace ? `The old secret keeps working for ${options.grace!.trim()}.` : 'The old secret no longer works.';
  const where = stored.map((name) => `"${escapeTerminalText(name)}"`).join(', ');
  io.stderr.write(
    `Rotated token "${escapeTerminalText(token.name)}" (new id ${escapeTerminalText(token.id)}; expires ${formatDate(token.expiresAt)}). ${oldEnds}` +
      (where ? ` Stored the new token in context ${where}.` : '') +
      (printSecret ? ' Copy the secret above now: it is not shown again.' : '') +
      '\n',
  );
}

/** Puts the new secret in every stored context that held the old one; the names of those contexts. */
function storeInContexts(io: CliIo, inUse: string, rotated: CreateTokenResponse): string[] {
  const config = readConfig(io);
  const holding = config.contexts.filter((context) => context.token === inUse);
  if (holding.length === 0) return [];
  writeConfig(io, {
    ...config,
    contexts: config.contexts.map((context) =>
      context.token === inUse
        ? { ...context, token: rotated.secret, tokenName: rotated.token.name, tokenExpiresAt: rotated.token.expiresAt }
        : context,
    ),
  });
  return holding.map((context) => context.name);
}
