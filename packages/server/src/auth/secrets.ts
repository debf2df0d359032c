import { createHash, randomBytes } from 'node:crypto';

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
