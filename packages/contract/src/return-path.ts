/**
 * The open-redirect guard for "where to go after signing in" (`return_to`): only a path on
 * this origin passes. One copy for the server and the console (`@latchkey/contract/return-path`),
 * so both refuse the same values; no zod, no Node or DOM APIs.
 */

/**
 * `value` when it is a local path (`/tokens?x=1`); undefined for nothing, `//host` and `/\host`
 * (which browsers treat as another origin), absolute URLs, any control character (browsers
 * drop tab and newline, turning `/\t/host` into `//host`), and anything over 2000 characters.
 */
export function safeReturnPath(value: string | null | undefined): string | undefined {
  if (!value || value.length > 2000 || !value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) {
    return undefined;
  }
  return /[\u0000-\u001f]/.test(value) ? undefined : value;
}
