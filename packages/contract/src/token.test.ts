import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatToken,
  generateToken,
  hasValidChecksum,
  hashToken,
  parseToken,
  tokenFingerprint,
} from './token.js';
import { BASE62_ALPHABET, TOKEN_LENGTH, TOKEN_SCANNER_PATTERN, TOKEN_SHAPE, maskToken } from './token-format.js';

const secretBytes = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('token format', () => {
  it('is lk_pat_1 + 43 base62 + 6 base62 CRC32, 57 characters', () => {
    const { token } = generateToken();
    expect(token).toHaveLength(57);
    expect(TOKEN_LENGTH).toBe(57);
    expect(token.startsWith('lk_pat_1')).toBe(true);
    expect(token).toMatch(new RegExp(TOKEN_SCANNER_PATTERN));
    // The checksum is CRC32 over everything before it, in base62, left-padded to 6.
    let crc = crc32(token.slice(0, 51));
    let expected = '';
    for (let i = 0; i < 6; i++) {
      expected = BASE62_ALPHABET[crc % 62] + expected;
      crc = Math.floor(crc / 62);
    }
    expect(token.slice(51)).toBe(expected);
  });

  it('encodes the secret bytes as a left-padded base62 number', () => {
    expect(formatToken(new Uint8Array(32)).slice(8, 51)).toBe('0'.repeat(43));
    const one = new Uint8Array(32);
    one[31] = 61;
    expect(formatToken(one).slice(8, 51)).toBe(`${'0'.repeat(42)}z`);
    expect(formatToken(new Uint8Array(32).fill(255)).slice(8, 51)).toMatch(/^[0-9A-Za-z]{43}$/);
  });

  it('refuses secrets of another length', () => {
    expect(() => formatToken(new Uint8Array(31))).toThrow(RangeError);
    expect(() => formatToken(new Uint8Array(33))).toThrow(RangeError);
  });

  it('round-trips: parse(format(x)) == x for random 32-byte inputs', () => {
    fc.assert(
      fc.property(secretBytes, (secret) => {
        expect(parseToken(formatToken(secret))).toEqual(secret);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects every single-character substitution, deletion and insertion', () => {
    const alphabet = `${BASE62_ALPHABET}_-. `;
    fc.assert(
      fc.property(
        secretBytes,
        fc.nat(),
        fc.constantFrom(...alphabet),
        fc.constantFrom('substitute', 'delete', 'insert'),
        (secret, rawPosition, char, mutation) => {
          const token = formatToken(secret);
          const position = rawPosition % token.length;
          let mutated: string;
          if (mutation === 'substitute') {
            fc.pre(token[position] !== char);
            mutated = token.slice(0, position) + char + token.slice(position + 1);
          } else if (mutation === 'delete') {
            mutated = token.slice(0, position) + token.slice(position + 1);
          } else {
            mutated = token.slice(0, position) + char + token.slice(position);
          }
          expect(hasValidChecksum(mutated)).toBe(false);
          expect(parseToken(mutated)).toBeNull();
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('rejects the wrong tag, kind, version, length and a flipped checksum', () => {
    const { token } = generateToken();
    const body = token.slice(8);
    for (const bad of [
      `lx_pat_1${body}`,
      `lk_sat_1${body}`,
      `lk_pat_2${body}`,
      `${token}0`,
      `${token}000`,
      token.slice(0, -1),
      `${token.slice(0, 20)}!${token.slice(21)}`,
      token.slice(0, -1) + (token.endsWith('a') ? 'b' : 'a'),
      '',
      'x'.repeat(4096),
    ]) {
      expect(hasValidChecksum(bad), bad).toBe(false);
    }
    expect(hasValidChecksum(token)).toBe(true);
  });

  it('rejects a base62 body whose value exceeds 256 bits even with a correct checksum', () => {
    const checked = `lk_pat_1${'z'.repeat(43)}`;
    let crc = crc32(checked);
    let checksum = '';
    for (let i = 0; i < 6; i++) {
      checksum = BASE62_ALPHABET[crc % 62] + checksum;
      crc = Math.floor(crc / 62);
    }
    expect(hasValidChecksum(checked + checksum)).toBe(true);
    expect(parseToken(checked + checksum)).toBeNull();
  });

  // docs/security.md, item 30
  it('generates 100,000 unique tokens that all match the regex and checksum, with uniform base62 symbols', () => {
    const seen = new Set<string>();
    // Symbol counts for the body's leading character, and pooled over the 42 after it.
    const leading = new Array<number>(62).fill(0);
    const pooled = new Array<number>(62).fill(0);
    const value = new Map([...BASE62_ALPHABET].map((char, index) => [char, index]));
    for (let i = 0; i < 100_000; i++) {
      const { token } = generateToken();
      if (!TOKEN_SHAPE.test(token) || !hasValidChecksum(token)) throw new Error(`bad token #${i}`);
      seen.add(token);
      leading[value.get(token[8]!)!]!++;
      for (let position = 9; position < 51; position++) pooled[value.get(token[position]!)!]!++;
    }
    expect(seen.size).toBe(100_000);

    // docs/security.md, item 30: of the 43 body characters one carries fewer bits. The body is
    // a big-endian, left-padded number, so the character with fewer bits is the FIRST one:
    // 2^256 / 62^42 ≈ 60.9, it never shows 'z'. The 42 characters after it carry the full log2(62).
    expect(leading[61]).toBe(0);
    const uniform = chiSquarePValue(pooled);
    expect(uniform.p, `chi-square ${uniform.statistic.toFixed(1)} on 61 degrees of freedom`).toBeGreaterThan(0.001);
    // The control: the test has the power to see a bias as small as the leading character's.
    expect(chiSquarePValue(leading).p).toBeLessThan(1e-6);
  });

  it('stores only SHA-256 and shows only the last four characters', () => {
    const generated = generateToken();
    expect(generated.digest).toHaveLength(32);
    expect(generated.digest.equals(hashToken(generated.token))).toBe(true);
    expect(generated.last4).toBe(generated.token.slice(-4));
    expect(maskToken(generated.last4)).toBe(`lk_pat_1…${generated.last4}`);
    expect(tokenFingerprint(generated.token)).toMatch(/^[0-9a-f]{12}$/);
    expect(tokenFingerprint(generated.token)).toBe(generated.digest.toString('hex').slice(0, 12));
  });

  it('draws randomness from crypto only: the module never references Math.random', () => {
    for (const file of ['token.ts', 'token-format.ts']) {
      const source = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8');
      expect(source).not.toMatch(/Math\s*\.\s*random/);
      expect(source).not.toMatch(/Math\s*\[\s*['"]random/);
    }
  });
});

/**
 * Pearson's chi-square against a uniform distribution, and its upper-tail p-value by the
 * Wilson–Hilferty approximation (the cube root of chi²/k is close to normal; for k = 61 the
 * error near p = 0.001 is far below what matters here).
 */
function chiSquarePValue(counts: number[]): { statistic: number; p: number } {
  const total = counts.reduce((sum, count) => sum + count, 0);
  const expected = total / counts.length;
  const statistic = counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
  const k = counts.length - 1;
  const z = (Math.cbrt(statistic / k) - (1 - 2 / (9 * k))) / Math.sqrt(2 / (9 * k));
  return { statistic, p: 1 - standardNormalCdf(z) };
}

/** Φ(z) through erf, Abramowitz & Stegun 7.1.26 (absolute error < 1.5e-7). */
function standardNormalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}
