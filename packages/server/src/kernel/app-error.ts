import type { ErrorCode, FieldError } from '@latchkey/contract';

/** Extra members of a problem body: when a token expired, which scope or namespace was missing. */
export interface ProblemExtensions {
  expiresAt?: string;
  requiredScope?: string;
  namespace?: string;
  /** TOKEN_NOT_ROTATABLE: why (`rotated`, `revoked` or `expired`). */
  reason?: string;
}

/**
 * The one error the domain throws. The HTTP boundary turns it into problem+json using the
 * code's status and title (contract/src/errors.ts); `detail` is shown to the client, so it
 * must never carry a secret.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  /** Why authentication failed, for the log only: every INVALID_TOKEN looks the same outside. */
  readonly logReason: string | undefined;
  /** Extra members of the problem body (RFC 9457 §3.2 extensions), e.g. `expiresAt`. */
  readonly extensions: ProblemExtensions | undefined;
  /** For RATE_LIMITED: the `Retry-After` to send. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    options: {
      errors?: FieldError[];
      logReason?: string;
      extensions?: ProblemExtensions;
      retryAfterSeconds?: number;
      cause?: unknown;
    } = {},
  ) {
    // An AppError is an expected answer (a refused token, a bad field), never a bug, and its
    // stack is never shown or logged: skipping the capture keeps refusing a flood cheap.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      super(detail ? `${code}: ${detail}` : code, { cause: options.cause });
    } finally {
      Error.stackTraceLimit = stackTraceLimit;
    }
    this.name = 'AppError';
    this.code = code;
    this.detail = detail;
    this.errors = options.errors;
    this.logReason = options.logReason;
    this.extensions = options.extensions;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** A 422 for one field of the JSON body. */
export function fieldError(pointer: string, detail: string): AppError {
  return new AppError('VALIDATION_FAILED', 'The request has invalid fields.', {
    errors: [{ pointer, detail }],
  });
}

/**
 * R-SCOPE: a token without `scope` (or whose namespace restriction does not cover `namespace`).
 * The challenge names the scope (RFC 6750 §3.1); the body names both. A namespace refused where
 * no scope was asked for (forward auth) names no scope.
 */
export function insufficientScope(scope: string | undefined, namespace?: string): AppError {
  const detail = namespace
    ? `This token may not use namespace "${namespace}".`
    : `This token lacks the "${scope}" scope.`;
  const extensions: ProblemExtensions = {};
  if (scope !== undefined) extensions.requiredScope = scope;
  if (namespace !== undefined) extensions.namespace = namespace;
  return new AppError('INSUFFICIENT_SCOPE', detail, { extensions });
}
