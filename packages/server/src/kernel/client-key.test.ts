/** The key per-address budgets count a client under (docs/security.md, items 39 and 57): IPv4 /32, IPv6 /64, IPv4-mapped as IPv4. */
import { describe, expect, it } from 'vitest';
import { clientKeyOf } from './client-key.js';

describe('clientKeyOf', () => {
  it('keys an IPv4 address by itself', () => {
    expect(clientKeyOf('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKeyOf('203.0.113.8')).not.toBe(clientKeyOf('203.0.113.7'));
  });

  it('keys IPv6 addresses by their /64, however they are written', () => {
    const key = clientKeyOf('2001:db8:a:b::1');
    expect(clientKeyOf('2001:0db8:000a:000b:ffff:ffff:ffff:ffff')).toBe(key);
    expect(clientKeyOf('2001:DB8:A:B:1:2:3:4')).toBe(key);
    expect(clientKeyOf('2001:db8:a:c::1')).not.toBe(key);
  });

  it('keys an IPv4-mapped IPv6 address as its IPv4 address', () => {
    expect(clientKeyOf('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKeyOf('::ffff:cb00:7107')).toBe('203.0.113.7');
  });
});
