import { describe, expect, it } from 'vitest';
import { safeReturnPath } from './return-path.js';

describe('safeReturnPath', () => {
  it('keeps a local path with its query and fragment', () => {
    for (const path of ['/', '/tokens', '/tokens?page=2&sort=name', '/namespaces#new', '/a/b/../c', '/%2F%2Fhost', '/path\\with-backslash-later']) {
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

  it('refuses more than 2000 characters, keeps exactly 2000', () => {
    const longest = `/${'a'.repeat(1999)}`;
    expect(safeReturnPath(longest)).toBe(longest);
    expect(safeReturnPath(`${longest}a`)).toBeUndefined();
  });
});
