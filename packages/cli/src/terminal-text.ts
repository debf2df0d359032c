/**
 * Text from a server (names, error details) is shown escaped: a name seeded with ESC or OSC
 * sequences must not recolour, retitle or rewrite the user's terminal (CWE-150), and bidi or
 * zero-width characters must not hide or reorder what is shown.
 */

/** Control (Cc), format (Cf: bidi, zero-width), surrogates (Cs), line/paragraph separators. */
const UNSAFE_CLASS = '[\\p{Cc}\\p{Cf}\\p{Cs}\\p{Zl}\\p{Zp}]';
// Built on first use, not as literals: V8 checks a `\p{…}` literal while parsing the file,
// ~0.4 ms each, which `latchkey --help` would pay for nothing (docs/performance.md, P6).
let unsafe: RegExp | undefined;
let unsafeInJson: RegExp | undefined;

/** ESC becomes the four characters `\x1b`; characters above U+00FF become `\u{…}`. */
export function escapeTerminalText(text: string): string {
  return text.replace((unsafe ??= new RegExp(UNSAFE_CLASS, 'gu')), (char) => {
    const code = char.codePointAt(0) as number;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** JSON for scripts: valid JSON whose text holds no raw control, bidi or zero-width characters. */
export function safeJson(value: unknown): string {
  // JSON.stringify already escapes C0 controls inside strings; the newlines left are layout.
  return JSON.stringify(value, null, 2).replace(
    (unsafeInJson ??= new RegExp(`(?!\\n)${UNSAFE_CLASS}`, 'gu')),
    (char) =>
      [...Array(char.length).keys()]
        .map((index) => `\\u${char.charCodeAt(index).toString(16).padStart(4, '0')}`)
        .join(''),
  );
}

/**
 * JSON text from a server passed on as it is (an NDJSON export): its line breaks kept, every
 * raw control, bidi or zero-width character elsewhere written as a `\uXXXX` escape, which is
 * what it means inside a JSON string (and JSON allows it nowhere else).
 */
export function safeJsonText(text: string): string {
  return text.replace(
    (unsafeInJson ??= new RegExp(`(?!\\n)${UNSAFE_CLASS}`, 'gu')),
    (char) =>
      [...Array(char.length).keys()]
        .map((index) => `\\u${char.charCodeAt(index).toString(16).padStart(4, '0')}`)
        .join(''),
  );
}
