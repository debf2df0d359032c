import { describe, expect, it } from 'vitest';
import { escapeTerminalText, safeJson, safeJsonText } from './terminal-text.js';

describe('escapeTerminalText', () => {
  it('shows ESC, BEL, DEL, C1 and newlines as \\xHH, bidi and zero-width as \\u{…}', () => {
    expect(escapeTerminalText('a\u001b[31mb\u0007\u007f\u009b\n')).toBe('a\\x1b[31mb\\x07\\x7f\\x9b\\x0a');
    expect(escapeTerminalText('abc\u202edef\u200b')).toBe('abc\\u{202e}def\\u{200b}');
  });
  it('leaves ordinary text, accents and emoji alone', () => {
    expect(escapeTerminalText('test-cindylopez Zoë 🚀 lk_pat_1…AbCd')).toBe('test-cindylopez Zoë 🚀 lk_pat_1…AbCd');
  });
});

describe('safeJson', () => {
  it('is valid JSON that round-trips and holds no raw control, bidi or tag characters', () => {
    const value = { name: 'x\u001b\u009b\u202e\u{e0041}y', list: [1, 'ok'] };
    const text = safeJson(value);
    expect(text).not.toMatch(/[\u001b\u009b\u202e]|\u{e0041}/u);
    expect(JSON.parse(text)).toEqual(value);
    expect(text).toContain('\n  "list"');
  });
});

describe('safeJsonText', () => {
  it('keeps NDJSON lines parseable and equal, with no raw C1, bidi or tag characters', () => {
    const events = [{ detail: { name: 'x\u009b\u202e\u{e0041}y' } }, { action: 'token.revoked' }];
    const text = safeJsonText(events.map((event) => JSON.stringify(event)).join('\n') + '\n');
    expect(text).not.toMatch(/[\u009b\u202e]|\u{e0041}/u);
    expect(text.trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual(events);
  });
});
