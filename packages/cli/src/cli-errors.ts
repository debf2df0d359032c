/**
 * The failures commands throw. `main.ts` alone turns them into messages and exit codes;
 * every piece of text in here that came from a server is escaped there, not here.
 *
 * `main.ts` tells them apart by `failureKind`, not `instanceof`: the bundled CLI loads the
 * commands from a second file, which carries its own copy of these classes.
 */
import type { ErrorCode, ProblemDetails } from '@latchkey/contract';

export type FailureKind = 'usage' | 'cli' | 'api' | 'network';

export function failureKindOf(error: unknown): FailureKind | undefined {
  const kind = (error as { failureKind?: unknown } | null)?.failureKind;
  return kind === 'usage' || kind === 'cli' || kind === 'api' || kind === 'network' ? kind : undefined;
}

/** Wrong invocation: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  readonly failureKind = 'usage';
}

/** A failure the user can act on, with the message to show: exit code 1. */
export class CliError extends Error {
  override name = 'CliError';
  readonly failureKind = 'cli';
}

/** The server answered with an error (RFC 9457 problem+json, or something else). */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly failureKind = 'api';
  constructor(
    readonly url: string,
    readonly status: number,
    readonly code: ErrorCode | undefined,
    readonly problem: (Partial<ProblemDetails> & Record<string, unknown>) | undefined,
    /** Seconds, from `Retry-After`. */
    readonly retryAfter: number | undefined,
    /** What the CLI knows about the token's expiry (stored context), for TOKEN_EXPIRED. */
    readonly knownTokenExpiresAt: string | undefined,
    /** The server the request went to (base URL), for "create a new one at …". */
    readonly baseUrl: string,
  ) {
    super(`${status} from ${url}`);
  }
}

/** The server could not be reached at all. */
export class NetworkError extends Error {
  override name = 'NetworkError';
  readonly failureKind = 'network';
  constructor(
    readonly url: string,
    readonly reason: string,
  ) {
    super(`could not reach ${url}: ${reason}`);
  }
}
