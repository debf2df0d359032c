/**
 * The open-redirect guard for "where to go after signing in" (`return_to`): only a path on
 * this origin passes, in a form that is always a valid `Location` header. One copy for the
 * server and the console (`@latchkey/contract/return-path`), so both treat the same values the
 * same way; no zod, no Node or DOM APIs.
 */

/**
 * The longest return path kept, in characters once percent-encoded. Longer values are treated
 * as absent (the user lands on `/`), like an unusable `return_to` on GitHub's sign-in: a crafted
 * link must never make a sign-in fail, and the value is stored with a sign-in in progress.
 */
export const MAX_RETURN_PATH_LENGTH = 512;

/** Control characters (C0 and DEL): browsers drop tab and newline, turning `/\t/host` into `//host`. */
const CONTROL = /[\u0000-\u001f\u007f]/;
/** A surrogate that is not half of a pair: it has no UTF-8 form, so it cannot be percent-encoded. */
const LONE_SURROGATE = /[\ud800-\udfff]/u;
/**
 * What RFC 3986 does not allow as-is in a path, query or fragment (anything outside unreserved,
 * sub-delims, `:@/?` and a `%` that starts an escape), one code point at a time. `#` is not
 * listed: the first one is kept by `safeReturnPath`, any later one is escaped.
 */
const NEEDS_ESCAPE = /%(?![0-9A-Fa-f]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:@/?%]/gu;

/**
 * The value as a local path (`/tokens?x=1#new`) that is safe to redirect to, or undefined for
 * nothing, `//host` and `/\host` (which browsers treat as another origin), absolute URLs, any
 * control character, a lone surrogate, and anything longer than {@link MAX_RETURN_PATH_LENGTH}
 * once encoded. Characters a URL may not hold (non-ASCII, spaces, quotes, `\`, a stray `%` …)
 * are percent-encoded as UTF-8, so the result is pure printable ASCII and a valid URI
 * reference; a value that already is one comes back unchanged (encoding is idempotent).
 */
export function safeReturnPath(value: string | null | undefined): string | undefined {
  if (!value || value.length > MAX_RETURN_PATH_LENGTH) return undefined;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return undefined;
  if (CONTROL.test(value) || LONE_SURROGATE.test(value)) return undefined;
  const hash = value.indexOf('#');
  const encoded =
    hash < 0 ? escapeUnsafe(value) : `${escapeUnsafe(value.slice(0, hash))}#${escapeUnsafe(value.slice(hash + 1))}`;
  return encoded.length > MAX_RETURN_PATH_LENGTH ? undefined : encoded;
}

function escapeUnsafe(part: string): string {
  return part.replace(NEEDS_ESCAPE, (character) => encodeURIComponent(character));
}
