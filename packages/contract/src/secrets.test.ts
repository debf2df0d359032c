import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pkceChallenge, secretsEqual, sha256 } from './secrets.js';

describe('shared secret primitives', () => {
  it('sha256 is the SHA-256 of the text, UTF-8 unless told Latin-1', () => {
    expect(sha256('é').equals(createHash('sha256').update('é', 'utf8').digest())).toBe(true);
    expect(sha256('é', 'latin1').equals(createHash('sha256').update('é', 'latin1').digest())).toBe(true);
    expect(sha256('é').equals(sha256('é', 'latin1'))).toBe(false);
  });

  it('pkceChallenge is RFC 7636 S256: base64url, unpadded, of the SHA-256 of the verifier', () => {
    const verifier = 'a'.repeat(43);
    const challenge = pkceChallenge(verifier);
    expect(challenge).toBe(createHash('sha256').update(verifier, 'ascii').digest('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('secretsEqual compares exactly; other lengths and missing values are unequal', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual(Buffer.from('abc'), 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abd')).toBe(false);
    expect(secretsEqual('abc', 'ab')).toBe(false);
    expect(secretsEqual('abc', undefined)).toBe(false);
    expect(secretsEqual(null, 'abc')).toBe(false);
  });
});
