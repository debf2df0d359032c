/**
 * The token codec: generate, format, parse, checksum and hash personal access tokens.
 *
 * Security-critical and kept in one small module, so it can be read whole and tested hard. Randomness comes only from
 * `crypto.randomBytes`; the database only ever sees `hashToken(token)`. The CRC32 checksum is
 * no security boundary: it lets scanners, the CLI and the server reject junk without a lookup.
 *
 * Node-only (crypto, zlib): the console imports `./token-format.ts` instead.
 */
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { sha256 } from './secrets.js';
import {
  BASE62_ALPHABET,
  TOKEN_BODY_LENGTH,
  TOKEN_CHECKSUM_LENGTH,
  TOKEN_LENGTH,
  TOKEN_PREFIX,
} from './token-format.js';

export const TOKEN_SECRET_BYTES = 32;
const CHECKED_LENGTH = TOKEN_LENGTH - TOKEN_CHECKSUM_LENGTH;
const MAX_SECRET = 1n << BigInt(TOKEN_SECRET_BYTES * 8);
const BASE = 62n;

const DIGIT_VALUE = new Map<string, bigint>(
  [...BASE62_ALPHABET].map((char, index) => [char, BigInt(index)]),
);

/** A freshly minted token: the secret goes to the user once, the rest to storage. */
export interface GeneratedToken {
  /** The full secret, shown once and never stored. */
  token: string;
  /** SHA-256 of the token: the only form stored. */
  digest: Buffer;
  /** The last four characters, for display (`lk_pat_1…AbCd`). */
  last4: string;
}

export function generateToken(): GeneratedToken {
  const token = formatToken(randomBytes(TOKEN_SECRET_BYTES));
  return { token, digest: hashToken(token), last4: tokenLast4(token) };
}

/** Encodes 32 secret bytes as a token. Throws on any other length. */
export function formatToken(secret: Uint8Array): string {
  if (secret.length !== TOKEN_SECRET_BYTES) {
    throw new RangeError(`a token secret is ${TOKEN_SECRET_BYTES} bytes, got ${secret.length}`);
  }
  let value = 0n;
  for (const byte of secret) value = (value << 8n) | BigInt(byte);
  const checked = TOKEN_PREFIX + encodeBase62(value, TOKEN_BODY_LENGTH);
  return checked + checksumOf(checked);
}

/**
 * Decodes a token back to its 32 secret bytes, or `null` when the shape, the checksum or the
 * value range is wrong. `parseToken(formatToken(x))` returns `x` for every 32-byte `x`.
 */
export function parseToken(token: string): Uint8Array | null {
  if (!hasValidChecksum(token)) return null;
  let value = 0n;
  for (const char of token.slice(TOKEN_PREFIX.length, CHECKED_LENGTH)) {
    value = value * BASE + (DIGIT_VALUE.get(char) as bigint);
  }
  if (value >= MAX_SECRET) return null;
  const secret = new Uint8Array(TOKEN_SECRET_BYTES);
  for (let index = TOKEN_SECRET_BYTES - 1; index >= 0; index--) {
    secret[index] = Number(value & 0xffn);
    value >>= 8n;
  }
  return secret;
}

/**
 * The cheap gate in front of every lookup: the exact shape and a matching CRC32.
 * Anything failing it is answered without touching the database.
 */
export function hasValidChecksum(token: string): boolean {
  if (!hasTokenShape(token)) return false;
  return token.endsWith(checksumOf(token.slice(0, CHECKED_LENGTH)));
}

/** 1 for each base62 character code, 0 for every other UTF-16 code unit. */
const IS_BASE62 = new Uint8Array(0x10000);
for (const char of BASE62_ALPHABET) IS_BASE62[char.charCodeAt(0)] = 1;

/**
 * `TOKEN_SHAPE.test(token)` without a data-dependent branch per character (docs/security.md, item 31).
 * The regular expression decides digit / upper / lower case one branch at a time; the CPU's
 * branch predictor, trained by the real tokens a server sees all day, then makes a near miss
 * sharing a longer prefix with one of them measurably faster (Spearman ρ ≈ −0.5 in-process).
 * A table lookup on every one of the 49 characters costs the same whatever they are.
 */
function hasTokenShape(token: string): boolean {
  if (token.length !== TOKEN_LENGTH || !token.startsWith(TOKEN_PREFIX)) return false;
  let valid = 1;
  for (let index = TOKEN_PREFIX.length; index < TOKEN_LENGTH; index++) valid &= IS_BASE62[token.charCodeAt(index)]!;
  return valid === 1;
}

/** SHA-256 of the token's ASCII bytes: the form stored and looked up. */
export function hashToken(token: string): Buffer {
  return sha256(token, 'latin1');
}

/** The first 12 hex characters of SHA-256(token): safe to log, enough to correlate. */
export function tokenFingerprint(token: string): string {
  return hashToken(token).toString('hex').slice(0, 12);
}

export function tokenLast4(token: string): string {
  return token.slice(-4);
}

/** CRC32 in base62; plain number arithmetic because this runs on every request. */
function checksumOf(checked: string): string {
  let value = crc32(checked);
  let out = '';
  for (let place = 0; place < TOKEN_CHECKSUM_LENGTH; place++) {
    out = BASE62_ALPHABET[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}

function encodeBase62(value: bigint, width: number): string {
  let out = '';
  while (value > 0n) {
    out = BASE62_ALPHABET[Number(value % BASE)] + out;
    value /= BASE;
  }
  return out.padStart(width, '0');
}
