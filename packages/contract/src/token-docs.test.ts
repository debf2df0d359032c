/**
 * The token pattern published for secret scanners (README, docs/security.md) is the one the
 * code uses, and the checksum recipe the README gives scanner authors reproduces real tokens.
 */
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { generateToken } from './token.js';
import { BASE62_ALPHABET, TOKEN_SCANNER_PATTERN } from './token-format.js';

const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), 'utf8');

describe('the published token format', () => {
  it.each(['README.md', 'docs/security.md'])('%s shows the exact scanner pattern', (path) => {
    expect(read(path)).toContain(TOKEN_SCANNER_PATTERN);
  });

  it("the README's checksum recipe (CRC-32 of the first 51 characters, 6 base62 digits) matches generated tokens", () => {
    for (let run = 0; run < 200; run++) {
      const { token } = generateToken();
      let value = crc32(token.slice(0, 51));
      let digits = '';
      for (let place = 0; place < 6; place++) {
        digits = BASE62_ALPHABET[value % 62] + digits;
        value = Math.floor(value / 62);
      }
      expect(token.slice(51)).toBe(digits);
      expect(token).toMatch(new RegExp(TOKEN_SCANNER_PATTERN));
    }
  });
});
