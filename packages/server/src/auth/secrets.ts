import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A one-time secret for sign-in links and CLI login codes: a recognisable prefix (so log
 * scrubbing and secret scanners catch it, like tokens) and 256 random bits in hex.
 */
export function newOneTimeSecret(prefix: 'lk_link_' | 'lk_code_'): string {
  return prefix + randomBytes(32).toString('hex');
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Compares two secrets or digests in constant time (SECURITY.md item 31): `===` and
 * `Buffer.equals` stop at the first differing byte. Different lengths are simply unequal.
 */
export function secretsEqual(a: Buffer | string, b: Buffer | string): boolean {
  const left = typeof a === 'string' ? Buffer.from(a) : a;
  const right = typeof b === 'string' ? Buffer.from(b) : b;
  return left.length === right.length && timingSafeEqual(left, right);
}
