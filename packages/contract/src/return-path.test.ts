import { describe, expect, it } from 'vitest';
import { MAX_RETURN_PATH_LENGTH, safeReturnPath } from './return-path.js';

describe('safeReturnPath', () => {
  it('keeps a local path with its query and fragment', () => {
    for (const path of ['/', '/tokens', '/tokens?page=2&sort=name', '/namespaces#new', '/a/b/../c', '/%2F%2Fhost', '/%E4%B8%AD', '/a?b=c%20d#e?f/g']) {
      expect(safeReturnPath(path)).toBe(path);
    }
  });

  it('refuses nothing at all', () => {
    expect(safeReturnPath(undefined)).toBeUndefined();
    expect(safeReturnPath(null)).toBeUndefined();
    expect(safeReturnPath('')).toBeUndefined();
  });

  it('refuses every way of naming another origin', () => {
    for (const value of [
      '//evil.example',
      '//evil.example/tokens',
      '/\\evil.example',
      '/\\/evil.example',
      'https://evil.example/',
      'http:/evil.example',
      'javascript:alert(1)',
      'data:text/html,hi',
      'evil.example/tokens',
      'tokens',
      '\\\\evil.example',
      ' /tokens',
    ]) {
      expect(safeReturnPath(value), value).toBeUndefined();
    }
  });

  it('refuses control characters anywhere (browsers drop tab and newline: `/\\t/host` is `//host`)', () => {
    for (const value of ['/\t/evil.example', '/\n/evil.example', '/tokens\r\nSet-Cookie: x=1', '/tokens\u0000', '/\u001f']) {
      expect(safeReturnPath(value), JSON.stringify(value)).toBeUndefined();
    }
  });

  it('refuses DEL and lone surrogates, which have no place in a header or no UTF-8 form', () => {
    for (const value of ['/\u007f', '/tokens\u007f', '/\ud800', '/a\udc00b']) {
      expect(safeReturnPath(value), JSON.stringify(value)).toBeUndefined();
    }
  });

  it('percent-encodes what a URL may not hold, as UTF-8, so every result is a valid Location', () => {
    expect(safeReturnPath('/中')).toBe('/%E4%B8%AD');
    expect(safeReturnPath('/café?q=é#à')).toBe('/caf%C3%A9?q=%C3%A9#%C3%A0');
    expect(safeReturnPath('/😀')).toBe('/%F0%9F%98%80');
    expect(safeReturnPath('/a b"<>`{|}^[]')).toBe('/a%20b%22%3C%3E%60%7B%7C%7D%5E%5B%5D');
    expect(safeReturnPath('/path\\with-backslash-later')).toBe('/path%5Cwith-backslash-later');
    expect(safeReturnPath('/100%')).toBe('/100%25');
    expect(safeReturnPath('/%ZZ')).toBe('/%25ZZ');
    expect(safeReturnPath('/a#b#c')).toBe('/a#b%23c');
    // U+202E (right-to-left override) and U+0085 (next line) are encoded, never passed through.
    expect(safeReturnPath('/\u202e\u0085')).toBe('/%E2%80%AE%C2%85');
  });

  it('gives every value it accepts back unchanged the second time (stored, then redirected to)', () => {
    for (const value of ['/中?x=é#frag#more', '/a b', '/100%', '/%2F%2Fhost', '/a\\b', '/~user/!$&\'()*+,;=:@']) {
      const once = safeReturnPath(value)!;
      expect(once, value).toMatch(/^\/[\x21-\x7e]*$/);
      expect(safeReturnPath(once), value).toBe(once);
    }
  });

  it(`refuses more than ${MAX_RETURN_PATH_LENGTH} characters once encoded, keeps exactly ${MAX_RETURN_PATH_LENGTH}`, () => {
    const longest = `/${'a'.repeat(MAX_RETURN_PATH_LENGTH - 1)}`;
    expect(safeReturnPath(longest)).toBe(longest);
    expect(safeReturnPath(`${longest}a`)).toBeUndefined();
    // 200 characters, but 1,800 once encoded.
    expect(safeReturnPath(`/${'中'.repeat(199)}`)).toBeUndefined();
    expect(safeReturnPath(`/${'a'.repeat(100_000)}`)).toBeUndefined();
  });
});
