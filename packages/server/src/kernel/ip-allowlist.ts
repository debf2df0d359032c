/**
 * A token's IP allowlist (docs/scopes.md): addresses and CIDR ranges, IPv4 and IPv6, parsed with
 * ipaddr.js. An IPv4-mapped IPv6 address (`::ffff:10.0.0.5`, how a dual-stack socket reports an
 * IPv4 peer) counts as the IPv4 address, in an entry and in a request alike.
 */
import ipaddr from 'ipaddr.js';
import { LruMap } from './lru-map.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = [Address, number];

/**
 * The stored form of one entry, or why it is refused: a single address is kept without a prefix
 * (`10.0.0.5`, `2001:db8::1`), a range as its network and prefix (`10.0.0.0/8`); shorthand IPv4
 * (`10.1`, `0x0a.0.0.1`) and a range with host bits set (`10.0.0.1/8`) are refused.
 */
export function canonicalAllowlistEntry(entry: string): { canonical: string } | { problem: string } {
  const range = parseEntry(entry);
  if (!range) return { problem: 'must be an IPv4 or IPv6 address, or a CIDR range such as 10.0.0.0/8' };
  const [address, bits] = range;
  const network = networkOf(address, bits);
  if (network.toString() !== address.toString()) {
    return { problem: `has host bits set; did you mean ${network.toString()}/${bits}?` };
  }
  const full = address.kind() === 'ipv4' ? 32 : 128;
  return { canonical: bits === full ? address.toString() : `${address.toString()}/${bits}` };
}

function parseEntry(entry: string): Range | undefined {
  const slash = entry.indexOf('/');
  const addressText = slash === -1 ? entry : entry.slice(0, slash);
  const address = parseAddress(addressText);
  if (!address) return undefined;
  if (slash === -1) return mapped([address, address.kind() === 'ipv4' ? 32 : 128]);
  const bitsText = entry.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (bits > (address.kind() === 'ipv4' ? 32 : 128)) return undefined;
  return mapped([address, bits]);
}

/** Four-part dotted decimal or IPv6 only; no zone ids. */
function parseAddress(text: string): Address | undefined {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipaddr.IPv4.parse(text);
  if (!text.includes('%') && ipaddr.IPv6.isValid(text)) return ipaddr.IPv6.parse(text);
  return undefined;
}

/** `::ffff:a.b.c.d/n` with n ≥ 96 is the IPv4 range `a.b.c.d/(n-96)`. */
function mapped([address, bits]: Range): Range {
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) {
    return [(address as ipaddr.IPv6).toIPv4Address(), bits - 96];
  }
  return [address, bits];
}

function networkOf(address: Address, bits: number): Address {
  return address.kind() === 'ipv4'
    ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`);
}

/** The request's address as matched against ranges; undefined when it is not an address. */
function clientAddress(ip: string): Address | undefined {
  if (!ipaddr.isValid(ip)) return undefined;
  return ipaddr.process(ip);
}

/** Parsed allowlists by their stored form: a token's list is parsed once, not per request. */
const compiled = new LruMap<string, Range[]>(10_000);

function rangesOf(entries: readonly string[]): Range[] {
  const key = entries.join(' ');
  let ranges = compiled.peek(key);
  if (!ranges) {
    ranges = entries.map(parseEntry).filter((range): range is Range => range !== undefined);
    compiled.touch(key, ranges);
  }
  return ranges;
}

/** Whether a request from `ip` may use a token with this allowlist (null: from anywhere). */
export function allowlistAdmits(entries: readonly string[] | null, ip: string): boolean {
  if (entries === null) return true;
  const address = clientAddress(ip);
  if (!address) return false;
  return rangesOf(entries).some(([network, bits]) => network.kind() === address.kind() && address.match(network, bits));
}

/** Whether every address `entry` covers is covered by `held` (null: anywhere). */
export function allowlistCovers(held: readonly string[] | null, entry: string): boolean {
  if (held === null) return true;
  const range = parseEntry(entry);
  if (!range) return false;
  const [network, bits] = range;
  return rangesOf(held).some(
    ([heldNetwork, heldBits]) => heldNetwork.kind() === network.kind() && bits >= heldBits && network.match(heldNetwork, heldBits),
  );
}
