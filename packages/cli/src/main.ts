/**
 * Runs one CLI invocation and is the one place that turns failures into messages and exit
 * codes: 0 ok, 1 error, 2 usage. Server text is escaped and anything token-shaped masked
 * before it is printed.
 */
import { redactTokens } from '@latchkey/contract/token-format';
import { failureKindOf, type ApiError, type NetworkError } from './cli-errors.js';
import { runCommandLine } from './command-runner.js';
import { latchkey } from './commands/latchkey.js';
import type { CliIo } from './io.js';
import { formatDate } from './output.js';
import { escapeTerminalText } from './terminal-text.js';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

const CONSOLE_TOKENS_PAGE = 'Settings › Personal Access Tokens';

export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    // 2: a noun without a verb (its help went to stderr).
    return (await runCommandLine(latchkey, argv, io)) === 0 ? EXIT_OK : EXIT_USAGE;
  } catch (error) {
    const { message, exitCode } = describeFailure(error, argv.includes('--verbose') || argv.includes('-v'));
    io.stderr.write(`error: ${redactTokens(escapeTerminalText(message))}\n`);
    if (exitCode === EXIT_USAGE) io.stderr.write('(run with --help for usage)\n');
    return exitCode;
  }
}

export function describeFailure(error: unknown, verbose = false): { message: string; exitCode: number } {
  const kind = failureKindOf(error);
  if (kind === 'usage') return { message: (error as Error).message, exitCode: EXIT_USAGE };
  if (kind === 'cli') return { message: (error as Error).message, exitCode: EXIT_ERROR };
  if (kind === 'network') {
    const failure = error as NetworkError;
    return {
      message: `could not reach ${failure.url} (${failure.reason}). Check the URL and your network connection.`,
      exitCode: EXIT_ERROR,
    };
  }
  if (kind === 'api') return { message: describeApiError(error as ApiError), exitCode: EXIT_ERROR };
  const text = error instanceof Error ? (verbose && error.stack ? error.stack : error.message) : String(error);
  return { message: `unexpected failure: ${text}`, exitCode: EXIT_ERROR };
}

function describeApiError(error: ApiError): string {
  const base = error.baseUrl;
  const detail = typeof error.problem?.detail === 'string' ? error.problem.detail : undefined;
  const renew = `create a new one in the console at ${base} (${CONSOLE_TOKENS_PAGE}), then run \`latchkey context use ${base} --token-stdin\` (or update LATCHKEY_TOKEN).`;
  const retry = error.retryAfter === undefined ? '' : ` Try again in ${error.retryAfter} s.`;
  switch (error.code) {
    case 'TOKEN_EXPIRED': {
      const expiresAt =
        typeof error.problem?.expiresAt === 'string' ? error.problem.expiresAt : error.knownTokenExpiresAt;
      const when = expiresAt ? ` on ${formatDate(expiresAt)}` : '';
      return `the token expired${when}. Expired tokens cannot be renewed: ${renew}`;
    }
    case 'INVALID_TOKEN':
      // A token used from outside its allowlist is refused exactly like an unknown one.
      return `the token is not valid any more (revoked, deleted, or unknown to ${base}): ${renew} A token limited to some addresses is refused like this from any other.`;
    case 'UNAUTHENTICATED':
      return `${base} wants a personal access token: set LATCHKEY_TOKEN, pass --token-stdin, or run \`latchkey context use ${base}\`.`;
    case 'INSUFFICIENT_SCOPE':
      return insufficientScope(error, detail);
    case 'INVALID_GRANT':
      return `the browser sign-in could not be completed (the code expired or was already used); run \`latchkey context use ${base}\` again.`;
    case 'RATE_LIMITED':
      return `${base} is throttling this address (too many unknown or revoked tokens were presented from it).${retry}`;
    case 'UNAVAILABLE':
      return `${base} is temporarily unavailable.${retry}`;
    case 'VALIDATION_FAILED': {
      const fields = Array.isArray(error.problem?.errors)
        ? (error.problem.errors as Array<{ pointer?: string; parameter?: string; detail?: string }>)
            .map((field) => `${field.pointer ?? field.parameter ?? ''} ${field.detail ?? ''}`.trim())
            .join('; ')
        : '';
      return `the server refused the request: ${fields || detail || 'validation failed'}`;
    }
    case undefined:
      return `${error.url} answered ${error.status}; is ${base} a Latchkey server?`;
    default: {
      const requestId = typeof error.problem?.requestId === 'string' ? ` (request id ${error.problem.requestId})` : '';
      return `${detail ?? (typeof error.problem?.title === 'string' ? error.problem.title : `status ${error.status}`)}${requestId}`;
    }
  }
}

/**
 * A token refused for what it may do: the scope it lacks (`requiredScope`), or the namespace
 * its restriction does not cover (`namespace`); `session` (or nothing) means no token may.
 */
function insufficientScope(error: ApiError, detail: string | undefined): string {
  const scope = typeof error.problem?.requiredScope === 'string' ? error.problem.requiredScope : undefined;
  const namespace = typeof error.problem?.namespace === 'string' ? error.problem.namespace : undefined;
  if (namespace !== undefined) {
    return `this token may not use namespace "${namespace}": it is limited to other namespaces (\`latchkey token show\` lists them).`;
  }
  if (scope === undefined || scope === 'session') return 'a personal access token cannot do this; use the console.';
  const why = detail && !detail.includes(`"${scope}"`) ? ` (${detail.replace(/\.$/, '')})` : '';
  return `this token lacks the "${scope}" scope${why}.`;
}
