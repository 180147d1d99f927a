// Client addresses as the login throttle counts them: one canonical spelling per address, and the IPv6 networks an
// address belongs to (a /64 is what one subscriber gets, a /48 what one site gets: both are cheap to hold many of).
import { isIP } from 'node:net';

/** An IPv6 address as its eight 16-bit groups, or undefined when the text is not one. */
function ipv6Groups(text: string): number[] | undefined {
  const address = text.replace(/%.*$/, ''); // a zone (fe80::1%eth0) names the interface, not the host
  if (isIP(address) !== 6) return undefined;
  // A dotted IPv4 tail (::ffff:192.0.2.1) is the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const hex = dotted
    ? address.slice(0, dotted.index) + [(+dotted[1] << 8) | +dotted[2], (+dotted[3] << 8) | +dotted[4]].map((g) => g.toString(16)).join(':')
    : address;
  const [head, tail] = hex.includes('::') ? hex.split('::') : [hex, undefined];
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(tail);
  return tail === undefined ? left : [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

const IPV4_MAPPED = [0, 0, 0, 0, 0, 0xffff];

/**
 * The canonical spelling of an IP address (IPv6 in full lower-case hex groups; an IPv4-mapped IPv6 address is the
 * IPv4 address it carries), or undefined when `text` is not exactly one IP address.
 */
export function canonicalAddress(text: string): string | undefined {
  const trimmed = text.trim();
  if (isIP(trimmed) === 4) return trimmed.split('.').map(Number).join('.');
  const groups = ipv6Groups(trimmed);
  if (!groups) return undefined;
  if (IPV4_MAPPED.every((g, i) => groups[i] === g)) return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  return groups.map((g) => g.toString(16)).join(':');
}

/** What an address is counted as: itself (IPv4) or its /64 (IPv6), and for IPv6 also its /48. */
export interface AddressKeys {
  /** `192.0.2.1` or `2001:db8:1:2::/64` */
  address: string;
  /** `2001:db8:1::/48`; undefined for IPv4 */
  network?: string;
}

/** The keys of a canonical address (from canonicalAddress). */
export function addressKeys(canonical: string): AddressKeys {
  if (!canonical.includes(':')) return { address: canonical };
  const groups = canonical.split(':');
  return { address: `${groups.slice(0, 4).join(':')}::/64`, network: `${groups.slice(0, 3).join(':')}::/48` };
}
