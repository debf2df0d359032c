/**
 * The RFC 6750 `WWW-Authenticate` challenge of each refusal (docs/security.md, error contract),
 * zod-free (`@latchkey/contract/challenges`): the server sends them, and `@latchkey/verify`'s
 * helpers send the same ones, so a client sees one answer whoever refused it.
 */
import type { ErrorCode } from './errors.js';

export const REALM = 'api';

const bearerChallenge = (error: string, description: string) =>
  `Bearer realm="${REALM}", error="${error}", error_description="${description}"`;

/** The exact challenge per code; codes absent here carry no WWW-Authenticate. */
const CHALLENGES: Partial<Record<ErrorCode, string>> = {
  UNAUTHENTICATED: `Bearer realm="${REALM}"`,
  INVALID_REQUEST: bearerChallenge('invalid_request', 'Malformed Authorization header'),
  INVALID_TOKEN: bearerChallenge('invalid_token', 'The access token is invalid'),
  TOKEN_EXPIRED: bearerChallenge('invalid_token', 'The access token expired'),
  INSUFFICIENT_SCOPE: bearerChallenge('insufficient_scope', 'Not allowed with a personal access token'),
};

/**
 * The challenge for a refusal with `code`, or undefined when the code carries none. R-SCOPE names
 * the missing scope (RFC 6750 §3.1); a namespace refused without a scope gets only the error; a
 * console-only route, the description saying so.
 */
export function challengeFor(code: ErrorCode, options: { requiredScope?: string; namespace?: string } = {}): string | undefined {
  if (code === 'INSUFFICIENT_SCOPE') {
    if (options.requiredScope) return `Bearer realm="${REALM}", error="insufficient_scope", scope="${options.requiredScope}"`;
    if (options.namespace) return `Bearer realm="${REALM}", error="insufficient_scope"`;
  }
  return CHALLENGES[code];
}
