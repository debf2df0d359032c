/**
 * The secret-handling primitives the server and the CLI share, in one place: the SHA-256 stored
 * instead of a secret, the PKCE S256 challenge (RFC 7636), and comparison of presented secrets
 * in constant time (docs/security.md, item 31). Node-only (`node:crypto`); no zod.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of the text's bytes (UTF-8, or Latin-1 for ASCII-only secrets such as tokens). */
export function sha256(value: string, encoding: 'utf8' | 'latin1' = 'utf8'): Buffer {
  return createHash('sha256').update(value, encoding).digest();
}

/** The PKCE S256 challenge of a verifier: base64url(SHA-256(verifier)). */
export function pkceChallenge(verifier: string): string {
  return sha256(verifier).toString('base64url');
}

/**
 * Whether two secrets or digests are equal, in time that does not depend on where they differ:
 * `===` and `Buffer.equals` stop at the first differing byte. Different lengths (and a missing
 * value) are simply unequal.
 */
export function secretsEqual(a: Buffer | string | null | undefined, b: Buffer | string | null | undefined): boolean {
  if (a === undefined || a === null || b === undefined || b === null) return false;
  const left = typeof a === 'string' ? Buffer.from(a) : a;
  const right = typeof b === 'string' ? Buffer.from(b) : b;
  return left.length === right.length && timingSafeEqual(left, right);
}
