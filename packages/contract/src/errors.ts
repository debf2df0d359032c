/**
 * The closed set of error codes the API answers with (docs/security.md, error contract), each
 * with its HTTP status, RFC 9457 problem `type` and `title`. The server turns every failure into
 * one of these; the CLI and the console branch on `code`, never on text.
 *
 * Every code has an anchor in docs/errors.md; a test fails when the two drift apart.
 */

/** The problem-type base: a relative URI to the instance's own error documentation. */
export const PROBLEM_TYPE_BASE = '/docs/errors';

export interface ErrorDefinition {
  status: number;
  /** The RFC 9457 `type`: `about:blank` or `${PROBLEM_TYPE_BASE}/<slug>`. */
  type: string;
  title: string;
}

const problem = (status: number, slug: string, title: string): ErrorDefinition => ({
  status,
  type: `${PROBLEM_TYPE_BASE}/${slug}`,
  title,
});

export const ERRORS = {
  /** R-NOAUTH: no credentials, an unsupported scheme, or a token only in the query/body. */
  UNAUTHENTICATED: { status: 401, type: 'about:blank', title: 'Unauthorized' },
  /** R-BADREQ: a malformed Authorization header or credentials sent two ways at once. */
  INVALID_REQUEST: problem(400, 'invalid-request', 'Invalid request'),
  /** R-INVALID: malformed, unknown, revoked, or its owner disabled/deleted — indistinguishable. */
  INVALID_TOKEN: problem(401, 'invalid-token', 'Invalid token'),
  /** R-EXPIRED: the token exists and is not revoked, but `expires_at ≤ now()`. */
  TOKEN_EXPIRED: problem(401, 'token-expired', 'Token expired'),
  /** R-SCOPE: a personal access token without the scope (or namespace) the route needs, or on a console-only route. */
  INSUFFICIENT_SCOPE: problem(403, 'insufficient-scope', 'Insufficient scope'),
  /** R-CSRF: a cookie-authenticated mutation without a valid CSRF token or from another site. */
  CSRF_REJECTED: problem(403, 'csrf', 'Cross-site request refused'),
  /** Signed in, but not allowed: an administrator-only action. */
  FORBIDDEN: problem(403, 'forbidden', 'Forbidden'),
  /** not found, owned by someone else, or not even a well-formed id. */
  NOT_FOUND: problem(404, 'not-found', 'Not found'),
  /** a duplicate name, or a per-account limit reached. */
  CONFLICT: problem(409, 'conflict', 'Conflict'),
  /** rotating a token already replaced by rotation, revoked or expired (`reason` says which). */
  TOKEN_NOT_ROTATABLE: problem(409, 'token-not-rotatable', 'Token cannot be rotated'),
  /** An invite for an email that already has an account: that account signs in through its own identity. */
  ACCOUNT_EXISTS: problem(409, 'account-exists', 'Account exists'),
  /** An OpenID Connect sign-in whose email belongs to an account it may not be linked to. */
  ACCOUNT_LINK_REFUSED: problem(409, 'account-link-refused', 'Account link refused'),
  /** A sign-in or CLI-login exchange whose code, state or PKCE verifier is wrong, used or expired. */
  INVALID_GRANT: problem(400, 'invalid-grant', 'Invalid grant'),
  /** The request could not be parsed at all (bad bytes in a header, a broken request line). */
  BAD_REQUEST: problem(400, 'bad-request', 'Bad request'),
  /** The request did not arrive in time. */
  REQUEST_TIMEOUT: problem(408, 'request-timeout', 'Request timeout'),
  /** The request's headers are larger than the server accepts (16 KiB). */
  HEADERS_TOO_LARGE: problem(431, 'headers-too-large', 'Request header fields too large'),
  /** R-400B: the body is not parsable JSON. */
  MALFORMED_BODY: problem(400, 'malformed-body', 'Malformed body'),
  /** the body is larger than the 16 KiB limit. */
  PAYLOAD_TOO_LARGE: problem(413, 'payload-too-large', 'Payload too large'),
  /** a body in a media type other than application/json. */
  UNSUPPORTED_MEDIA_TYPE: problem(415, 'unsupported-media-type', 'Unsupported media type'),
  /** well-formed JSON with an invalid field; `errors[]` carries a pointer per field. */
  VALIDATION_FAILED: problem(422, 'validation-error', 'Validation failed'),
  /** R-LIMIT: this client's failed-authentication or leaked-token-report budget is spent; see `Retry-After`. */
  RATE_LIMITED: problem(429, 'rate-limited', 'Too many requests'),
  /** An unexpected failure; details are in the server log under the request id. */
  INTERNAL: problem(500, 'internal', 'Internal server error'),
  /** R-UNAVAIL: the database is unreachable or busy past its timeout; see `Retry-After`. */
  UNAVAILABLE: problem(503, 'unavailable', 'Service unavailable'),
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as ErrorCode[];

/** One field-level problem inside a 422 (RFC 9457 §3 example shape). */
export interface FieldError {
  /** JSON pointer into the request body, e.g. `/name`. */
  pointer?: string;
  /** The name of a query-string parameter. */
  parameter?: string;
  detail: string;
}

/** The body of every error response (`application/problem+json`). */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail?: string;
  errors?: FieldError[];
  /** TOKEN_EXPIRED: when the presented token expired (RFC 3339), so clients can say so. */
  expiresAt?: string;
  /** INSUFFICIENT_SCOPE: the scope the route needs (absent on a console-only route). */
  requiredScope?: string;
  /** INSUFFICIENT_SCOPE: the namespace the token's restriction does not cover. */
  namespace?: string;
  /** TOKEN_NOT_ROTATABLE: why — `rotated`, `revoked` or `expired`. */
  reason?: string;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}
