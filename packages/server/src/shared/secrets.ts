/**
 * The server's few secret-handling primitives, in one place: every random secret it mints
 * (sign-in links, CLI login codes, session ids, CSRF tokens), the SHA-256 it stores instead of
 * the secret, and the constant-time comparison of presented values.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A one-time secret for sign-in links and CLI login codes: a recognisable prefix (so log
 * scrubbing and secret scanners catch it, like tokens) and 256 random bits in hex.
 */
export function newOneTimeSecret(prefix: 'lk_link_' | 'lk_code_'): string {
  return prefix + randomBytes(32).toString('hex');
}

/** 256 random bits, base64url (43 characters): session ids and CSRF tokens. */
export function newRandomSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** What is stored instead of a secret. */
export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** The PKCE S256 challenge of a verifier (RFC 7636 §4.2). */
export function pkceChallenge(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/**
 * Compares two secrets or digests in constant time (docs/security.md, item 31): `===` and
 * `Buffer.equals` stop at the first differing byte. Different lengths are simply unequal.
 */
export function secretsEqual(a: Buffer | string | undefined, b: Buffer | string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const left = typeof a === 'string' ? Buffer.from(a) : a;
  const right = typeof b === 'string' ? Buffer.from(b) : b;
  return left.length === right.length && timingSafeEqual(left, right);
}
