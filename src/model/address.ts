/**
 * IP addresses as the gateway compares them: one canonical form per address, and a numeric
 * order (IPv4 before IPv6, each by value; anything else, such as an FQDN endpoint, after both
 * in code-unit order).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { compareStrings } from './text.ts';

export interface CanonicalIP {
  /** IPv4 dotted decimal; IPv6 lowercase and compressed (RFC 5952), the form Kubernetes writes. */
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
}

/**
 * The canonical form of an IP address, or null when `address` is not one (a CIDR, a hostname,
 * a zone-scoped IPv6 address). An IPv4-mapped IPv6 address (`::ffff:10.64.3.2`, in any
 * spelling) is the IPv4 address it maps: that is how a dual-stack socket reports an IPv4 peer.
 */
export function canonicalIP(address: string): CanonicalIP | null {
  if (isIPv4(address)) return { address, family: 'IPv4' };
  if (!isIPv6(address) || address.includes('%')) return null;
  const words = ipv6Words(address)!;
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) {
    return { address: [words[6]! >> 8, words[6]! & 0xff, words[7]! >> 8, words[7]! & 0xff].join('.'), family: 'IPv4' };
  }
  // The WHATWG URL parser serializes IPv6 hosts canonically (RFC 5952).
  return { address: new URL(`http://[${address}]/`).hostname.slice(1, -1), family: 'IPv6' };
}

/**
 * A string whose code-unit order is the numeric order of addresses: `4` and 8 hex digits for
 * IPv4, `6` and 32 for IPv6, `~` and the string as it is for anything else. So 10.64.1.2 sorts
 * before 10.64.1.10, every IPv4 address before every IPv6 address, and FQDNs last.
 */
export function addressOrderKey(address: string): string {
  const v4 = ipv4Value(address);
  if (v4 >= 0) return `4${v4.toString(16).padStart(8, '0')}`;
  if (isIPv6(address) && !address.includes('%')) {
    let key = '6';
    for (const w of ipv6Words(address)!) key += w.toString(16).padStart(4, '0');
    return key;
  }
  return `~${address}`;
}

/** Numeric address order (see addressOrderKey); two IPv4 addresses are compared without building keys. */
export function compareAddresses(a: string, b: string): number {
  if (a === b) return 0;
  const x = ipv4Value(a);
  const y = ipv4Value(b);
  if (x >= 0 && y >= 0) return x - y;
  return compareStrings(addressOrderKey(a), addressOrderKey(b));
}

/**
 * `items` sorted in place by the numeric order of `addressOf(item)`, each address parsed once
 * (IPv4 as a number, anything else by its order key).
 */
export function sortByAddress<T>(items: T[], addressOf: (item: T) => string): void {
  const decorated = items.map((item) => {
    const address = addressOf(item);
    const v4 = ipv4Value(address);
    return { item, v4, key: v4 >= 0 ? '' : addressOrderKey(address) };
  });
  decorated.sort((a, b) => (a.v4 >= 0 ? (b.v4 >= 0 ? a.v4 - b.v4 : -1) : b.v4 >= 0 ? 1 : compareStrings(a.key, b.key)));
  for (let i = 0; i < items.length; i++) items[i] = decorated[i]!.item;
}

/** An IPv4 address in dotted decimal (no leading zeros) as a number, or -1 for anything else. */
export function ipv4Value(address: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // a leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return -1;
    } else if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else {
      return -1;
    }
  }
  return dots === 3 && digits > 0 ? value * 256 + part : -1;
}

// Private:

/** The eight 16-bit words of a valid IPv6 address (`::` expanded, a trailing dotted quad converted). */
function ipv6Words(address: string): number[] | null {
  let text = address.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const parse = (s: string | undefined) => (s ? s.split(':').map((h) => parseInt(h, 16)) : []);
  const left = parse(head);
  const right = parse(tail ?? undefined);
  const words = tail === null ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return words.length === 8 && words.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffff) ? words : null;
}
