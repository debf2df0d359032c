/**
 * The key a client address is counted under by every per-address budget — the failed-
 * authentication throttle (docs/security.md, item 39) and the budget of the public routes that
 * write (item 57): an IPv4 address itself (/32); an IPv6 address's /64 prefix, since one host or
 * network usually holds a whole /64 and could otherwise step to a fresh address for every
 * request; an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, how a dual-stack socket reports IPv4
 * peers) as its IPv4 address.
 */
import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { LruMap } from './lru-map.js';

const IPV6_PREFIX_HEXTETS = 4; // 4 × 16 bits = /64
/** Parsing an IPv6 address costs microseconds; the keys of recently seen ones are kept. */
const recentIPv6Keys = new LruMap<string, string>(10_000);

export function clientKeyOf(ip: string): string {
  if (isIPv4(ip)) return ip; // the usual case, as sockets write it: no parsing
  const known = recentIPv6Keys.peek(ip);
  if (known !== undefined) return known;
  const key = parsedKeyOf(ip);
  recentIPv6Keys.touch(ip, key);
  return key;
}

function parsedKeyOf(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip; // not an address (never from a socket): counted as given
  const address = ipaddr.process(ip);
  if (address.kind() === 'ipv4') return address.toString();
  const { parts } = address as ipaddr.IPv6;
  return `${parts.slice(0, IPV6_PREFIX_HEXTETS).map((part) => part.toString(16)).join(':')}::/64`;
}
