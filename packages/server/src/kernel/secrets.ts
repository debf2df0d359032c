/**
 * Every random secret the server mints (sign-in links, CLI login codes, session ids, CSRF
 * tokens). Hashing and constant-time comparison are the contract's, shared with the CLI.
 */
import { randomBytes } from 'node:crypto';

export { pkceChallenge, secretsEqual, sha256 } from '@latchkey/contract/secrets';

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
