import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/**
 * Where a provider request may go. An address is classified by the IANA special-purpose
 * registries (RFC 6890 and its updates); the rules are documented in docs/security.md
 * ("The HTTP base and providers"):
 *
 * - `public`: anything not listed below; always allowed;
 * - `loopback` (127/8, ::1) and `private` (10/8, 172.16/12, 192.168/16, 100.64/10 shared
 *   address space, fc00::/7 unique-local, fec0::/10 site-local): refused unless the provider
 *   configuration sets `allow_private_network`;
 * - `link_local` (169.254/16, fe80::/10: where cloud metadata services answer), `unspecified`
 *   (0/8, ::, which reach the local host), and `reserved` (multicast, broadcast, documentation
 *   and benchmarking ranges, 240/4): always refused.
 *
 * IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
 * `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are classified by that IPv4 address.
 */
export type AddressClass = 'public' | 'loopback' | 'private' | 'link_local' | 'unspecified' | 'reserved';

type V4Range = readonly [first: number, prefix: number, kind: Exclude<AddressClass, 'public'>];

const V4_RANGES: readonly V4Range[] = [
  [v4(0, 0, 0, 0), 8, 'unspecified'],
  [v4(10, 0, 0, 0), 8, 'private'],
  [v4(100, 64, 0, 0), 10, 'private'],
  [v4(127, 0, 0, 0), 8, 'loopback'],
  [v4(169, 254, 0, 0), 16, 'link_local'],
  [v4(172, 16, 0, 0), 12, 'private'],
  [v4(192, 0, 0, 0), 24, 'reserved'],
  [v4(192, 0, 2, 0), 24, 'reserved'],
  [v4(192, 168, 0, 0), 16, 'private'],
  [v4(198, 18, 0, 0), 15, 'reserved'],
  [v4(198, 51, 100, 0), 24, 'reserved'],
  [v4(203, 0, 113, 0), 24, 'reserved'],
  [v4(224, 0, 0, 0), 4, 'reserved'],
  [v4(240, 0, 0, 0), 4, 'reserved'],
];

function v4(a: number, b: number, c: number, d: number): number {
  return ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
}

function classifyV4(value: number): AddressClass {
  for (const [first, prefix, kind] of V4_RANGES) {
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    if (((value & mask) >>> 0) === first) return kind;
  }
  return 'public';
}

function parseV4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  const [a, b, c, d] = parts.map(Number) as [number, number, number, number];
  return v4(a, b, c, d);
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or undefined. */
function parseV6(text: string): number[] | undefined {
  let address = text.replace(/%.*$/, '');
  // A trailing dotted quad (`::ffff:127.0.0.1`) is the last two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const value = parseV4(dotted[1]!);
    if (value === undefined) return undefined;
    address = `${address.slice(0, -dotted[1]!.length)}${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`;
  }
  const halves = address.split('::');
  if (halves.length > 2) return undefined;
  const read = (part: string) => (part === '' ? [] : part.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const head = read(halves[0] ?? '');
  const rest = halves.length === 2 ? read(halves[1] ?? '') : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 0 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(Math.max(0, missing)).fill(0), ...rest];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g)) ? groups : undefined;
}

function classifyV6(g: number[]): AddressClass {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const embedded = (hi: number, lo: number) => classifyV4(((hi << 16) >>> 0) + lo);
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(8)) return 'unspecified';
  if (zeroUpTo(7) && g7 === 1) return 'loopback';
  if (zeroUpTo(5) && g5 === 0xffff) return embedded(g6, g7); // IPv4-mapped
  if (zeroUpTo(6)) return embedded(g6, g7); // IPv4-compatible (deprecated, still routed by some stacks)
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return embedded(g6, g7); // NAT64
  if (g0 === 0x2002) return embedded(g1, g2); // 6to4
  if ((g0 & 0xffc0) === 0xfe80) return 'link_local';
  if ((g0 & 0xffc0) === 0xfec0) return 'private';
  if ((g0 & 0xfe00) === 0xfc00) return 'private';
  if ((g0 & 0xff00) === 0xff00) return 'reserved';
  if (g0 === 0x2001 && g1 === 0x0db8) return 'reserved';
  if (g0 === 0x0100 && g1 === 0 && g2 === 0 && g3 === 0) return 'reserved';
  return 'public';
}

/** The class of an IP address literal (IPv4 dotted quad or IPv6, brackets allowed); undefined for a host name. */
export function classifyAddress(address: string): AddressClass | undefined {
  const bare = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const family = isIP(bare.replace(/%.*$/, ''));
  if (family === 4) return classifyV4(parseV4(bare)!);
  if (family === 6) {
    const groups = parseV6(bare);
    return groups ? classifyV6(groups) : 'reserved';
  }
  return undefined;
}

/**
 * Why a connection to `address` is refused, or undefined when it is allowed.
 * `allowPrivate` admits loopback and private ranges, never link-local, unspecified or reserved ones.
 */
export function addressRefusal(address: string, allowPrivate: boolean): string | undefined {
  const kind = classifyAddress(address);
  if (kind === undefined || kind === 'public') return undefined;
  if ((kind === 'loopback' || kind === 'private') && allowPrivate) return undefined;
  const label = kind.replace('_', '-');
  return kind === 'loopback' || kind === 'private'
    ? `${address} is a ${label} address; set allow_private_network in the provider configuration to reach it`
    : `${address} is a ${label} address, which botc never connects to`;
}

/**
 * Whether `host` (a URL hostname, lower case) matches one of `patterns`: an exact host name or
 * IP literal, or `*.example.com` for any host below example.com (not example.com itself).
 */
export function hostAllowed(host: string, patterns: readonly string[]): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return patterns.some((raw) => {
    const pattern = raw.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
    if (pattern.startsWith('*.')) return bare.endsWith(pattern.slice(1)) && bare.length > pattern.length - 1;
    return pattern === bare;
  });
}

/** Thrown by the guarded lookup when a host name resolves to a refused address. */
export class AddressRefused extends Error {
  override name = 'AddressRefused';
}

/**
 * A `lookup` for `node:http` that resolves like `dns.lookup` and refuses the connection when
 * any resolved address is refused by `addressRefusal`. It runs for every new connection, so
 * the address checked is the address connected to (a DNS answer that changes between a check
 * and the connection cannot slip through).
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number | string; hints?: number }, callback: (...args: unknown[]) => void) => {
    const { all, ...rest } = options ?? {};
    dnsLookup(hostname, { ...rest, all: true } as { all: true }, (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => {
      if (error) {
        callback(error, all ? [] : '', 0);
        return;
      }
      for (const found of addresses) {
        const refusal = addressRefusal(found.address, allowPrivate);
        if (refusal) {
          callback(new AddressRefused(`${hostname} resolved to ${refusal}`), all ? [] : '', 0);
          return;
        }
      }
      const first = addresses[0];
      if (all) callback(null, addresses);
      else if (first) callback(null, first.address, first.family);
      else callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
    });
  }) as unknown as LookupFunction;
}
