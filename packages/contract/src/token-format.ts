/**
 * The personal access token format: constants and string helpers only (no Node APIs, no zod),
 * so the console and the CLI's start-up path can import it (`@latchkey/contract/token-format`).
 * The codec that generates and checks tokens (CRC32, SHA-256) lives in `./token.ts`.
 *
 * A token is `lk_pat_1` + 43 base62 characters (32 random bytes, left-padded with `0`)
 * + 6 base62 characters of CRC32 over everything before them: 57 characters in all.
 *
 *   lk      the product tag, so secret scanners can attribute a leak
 *   pat     the kind: personal access token
 *   1       the format version
 */
export const TOKEN_PREFIX = 'lk_pat_1';
export const TOKEN_BODY_LENGTH = 43;
export const TOKEN_CHECKSUM_LENGTH = 6;
export const TOKEN_LENGTH = TOKEN_PREFIX.length + TOKEN_BODY_LENGTH + TOKEN_CHECKSUM_LENGTH;

/** The alphabet, in value order: digit `0` is 0, `z` is 61. */
export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The pattern published for secret scanners (GitHub push protection, gitleaks, trufflehog). */
export const TOKEN_SCANNER_PATTERN = '\\blk_pat_1[0-9A-Za-z]{49}\\b';

/** Anchored: the whole string is one token-shaped value (checksum not yet checked). */
export const TOKEN_SHAPE = /^lk_pat_1[0-9A-Za-z]{49}$/;

/** Finds every token-shaped substring; used to scrub logs and to assert nothing leaked. */
export function tokenScannerRegExp(): RegExp {
  return new RegExp(TOKEN_SCANNER_PATTERN, 'g');
}

/**
 * `text` with every token-shaped run of characters replaced by `lk_pat_1…`, also where it is
 * glued to other word characters (where the scanner pattern's `\b` would not match): for
 * messages that quote text from elsewhere (a server's error detail) before they are printed.
 */
export function redactTokens(text: string): string {
  return text.replace(/lk_pat_1[0-9A-Za-z]{49}/g, `${TOKEN_PREFIX}…`);
}

/** How a token is shown once it is no longer secret: `lk_pat_1…AbCd`. */
export function maskToken(last4: string): string {
  return `${TOKEN_PREFIX}…${last4}`;
}
