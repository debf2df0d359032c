/**
 * Text from a server (names, error details) is shown escaped: a name seeded with ESC or OSC
 * sequences must not recolour, retitle or rewrite the user's terminal (CWE-150), and bidi or
 * zero-width characters must not hide or reorder what is shown.
 */

/** Control (Cc), format (Cf: bidi, zero-width), surrogates (Cs), line/paragraph separators. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

const UNSAFE_IN_JSON = /(?!\n)[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

/** ESC becomes the four characters `\x1b`; characters above U+00FF become `\u{…}`. */
export function escapeTerminalText(text: string): string {
  return text.replace(UNSAFE, (char) => {
    const code = char.codePointAt(0) as number;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** JSON for scripts: valid JSON whose text holds no raw control, bidi or zero-width characters. */
export function safeJson(value: unknown): string {
  // JSON.stringify already escapes C0 controls inside strings; the newlines left are layout.
  return JSON.stringify(value, null, 2).replace(
    UNSAFE_IN_JSON,
    (char) =>
      [...Array(char.length).keys()]
        .map((index) => `\\u${char.charCodeAt(index).toString(16).padStart(4, '0')}`)
        .join(''),
  );
}
