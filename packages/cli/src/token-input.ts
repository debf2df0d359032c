/**
 * Where a token comes in (flag, environment, stdin, browser login) it is checked offline first:
 * the exact shape and the CRC32 checksum. A mistyped or truncated token is refused here with
 * no network request, and so never sent anywhere.
 */
import { hasValidChecksum } from '@latchkey/contract/token';
import { TOKEN_LENGTH, TOKEN_PREFIX, TOKEN_SHAPE } from '@latchkey/contract/token-format';
import { CliError, UsageError } from './cli-errors.js';
import type { InputStream } from './io.js';
import { readLine } from './read-line.js';

export type TokenSource = '--token' | '--token-stdin' | 'LATCHKEY_TOKEN' | 'the browser login' | 'the stored context';

/** Throws a CliError (exit 1) that never repeats the token. */
export function checkTokenFormat(token: string, source: TokenSource): string {
  const trimmed = token.trim();
  if (hasValidChecksum(trimmed)) return trimmed;
  const shape = !trimmed.startsWith(TOKEN_PREFIX)
    ? `it does not start with ${TOKEN_PREFIX}`
    : trimmed.length !== TOKEN_LENGTH
      ? `it has ${trimmed.length} characters instead of ${TOKEN_LENGTH}`
      : TOKEN_SHAPE.test(trimmed)
        ? 'its checksum does not match (a character is wrong)'
        : 'it contains characters a token never has';
  throw new CliError(
    `The token from ${source} is not a valid Latchkey personal access token: ${shape}. ` +
      'Copy it again from the console (Settings › Personal Access Tokens); nothing was sent to the server.',
  );
}

/** The first line of standard input, for `--token-stdin`. */
export async function readTokenFromStdin(stdin: InputStream): Promise<string> {
  const line = (await readLine(stdin)).trim();
  if (!line) throw new UsageError('--token-stdin was given but standard input is empty.');
  return line;
}
