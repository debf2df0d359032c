/**
 * Reads credentials from a request's Authorization header (RFC 6750 §2.1, RFC 9110 §11).
 * Pure, so the fuzz tests can hammer it directly.
 */

export type AuthorizationHeader =
  /** No header, an empty one, or a scheme other than Bearer (Basic, Token …). */
  | { kind: 'none' }
  /** Bearer, but not `Bearer 1*SP token`: empty, extra parts, a tab … */
  | { kind: 'malformed' }
  | { kind: 'bearer'; token: string };

/**
 * The scheme is case-insensitive and separated from the token by one or more spaces.
 * Leading and trailing SP/HTAB are not part of a field value (RFC 9110 §5.5), so they are
 * dropped here as Node's parser drops them on the wire.
 */
export function parseAuthorizationHeader(value: string | undefined): AuthorizationHeader {
  if (value === undefined) return { kind: 'none' };
  const field = value.replace(/^[ \t]+|[ \t]+$/g, '');
  if (field === '') return { kind: 'none' };
  const scheme = /^[^ \t]*/.exec(field)![0];
  if (scheme.toLowerCase() !== 'bearer') return { kind: 'none' };
  const rest = field.slice(scheme.length);
  const match = /^ +([^ \t]+)$/.exec(rest);
  if (!match) return { kind: 'malformed' };
  return { kind: 'bearer', token: match[1]! };
}

/** How many Authorization headers arrived; Node keeps only the first, so count the raw list. */
export function countAuthorizationHeaders(rawHeaders: string[]): number {
  let count = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if (rawHeaders[index]!.length === 13 && rawHeaders[index]!.toLowerCase() === 'authorization') count++;
  }
  return count;
}
