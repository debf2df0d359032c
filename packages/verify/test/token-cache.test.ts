/**
 * The verifier's positive cache on its own: bounded, least recently used out first, entries
 * gone at their TTL and at the token's expiry, dropped by token and by account, and holding
 * nothing of a secret but its SHA-256.
 */
import { createHash } from 'node:crypto';
import { generateToken } from '@latchkey/contract/token';
import { describe, expect, it } from 'vitest';
import { secretDigest, TokenCache, type ActiveToken } from '../src/token-cache.js';

const active = (tokenId: string, accountId = 'account-1', expiresAtMs = 10_000_000): ActiveToken => ({
  accountId,
  email: null,
  tokenId,
  scopes: ['namespaces:read'],
  namespaces: null,
  allowedIps: null,
  expiresAtMs,
});

describe('TokenCache', () => {
  it('keeps at most its capacity, evicting the least recently used', () => {
    const cache = new TokenCache(3, 60_000);
    for (const id of ['a', 'b', 'c']) cache.set(id, active(id), 0);
    expect(cache.get('a', 1)?.tokenId).toBe('a'); // a is now the most recent
    cache.set('d', active('d'), 1);
    expect(cache.size).toBe(3);
    expect(cache.get('b', 2)).toBeUndefined();
    expect(cache.keys().sort()).toEqual(['a', 'c', 'd']);
    const none = new TokenCache(0, 60_000);
    none.set('a', active('a'), 0);
    expect(none.size).toBe(0);
  });

  it('forgets an entry at its TTL and never serves one past the token’s expiry', () => {
    const cache = new TokenCache(10, 1_000);
    cache.set('ttl', active('ttl'), 0);
    expect(cache.get('ttl', 999)).toBeDefined();
    expect(cache.get('ttl', 1_000)).toBeUndefined();
    cache.set('expiring', active('expiring', 'account-1', 500), 0);
    expect(cache.get('expiring', 499)).toBeDefined();
    expect(cache.get('expiring', 500)).toBeUndefined();
    cache.set('expired', active('expired', 'account-1', 500), 600);
    expect(cache.size).toBe(0);
  });

  it('drops a token by id and every token of an account', () => {
    const cache = new TokenCache(10, 60_000);
    cache.set('1', active('t1', 'alice'), 0);
    cache.set('2', active('t2', 'alice'), 0);
    cache.set('3', active('t3', 'bob'), 0);
    cache.dropToken('t3');
    expect(cache.get('3', 1)).toBeUndefined();
    cache.dropAccount('alice');
    expect(cache.size).toBe(0);
    cache.dropAccount('nobody');
    cache.dropToken('none');
  });

  it('is keyed by the SHA-256 of the secret and holds no secret', () => {
    const { token: secret } = generateToken();
    const digest = secretDigest(secret);
    expect(digest).toBe(createHash('sha256').update(secret).digest('base64url'));
    const cache = new TokenCache(10, 60_000);
    cache.set(digest, active('t1'), 0);
    const held = JSON.stringify({ keys: cache.keys(), entry: cache.get(digest, 1) });
    expect(held).not.toContain(secret);
    expect(held).not.toContain(secret.slice(8, 40));
    expect(held).toContain(digest);
  });
});
