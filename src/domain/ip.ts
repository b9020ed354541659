/**
 * IP address values: parse and normalise IPv4/IPv6 literals, compare them, and classify them by
 * the special-purpose prefix they fall in. Pure: no I/O, no node:* modules.
 *
 * Canonical text forms: IPv4 is dotted decimal without leading zeros; IPv6 follows RFC 5952
 * (lower case, leading zeros dropped, the longest run of two or more zero groups — the first on a
 * tie — written `::`). An IPv4-mapped IPv6 address keeps the mixed form `::ffff:a.b.c.d`
 * (RFC 5952 §5); it stays an IPv6 value (family 6) and is never equal to its IPv4 twin.
 */

export type IpFamily = 4 | 6;

export type IpClass =
  | 'global'
  | 'private'
  | 'loopback'
  | 'link_local'
  | 'cgnat'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'unspecified'
  | 'cloudflare';

export interface ParsedIp {
  family: IpFamily;
  /** The canonical text form (see the module comment). */
  canonical: string;
  /** Network-order bytes: 4 for IPv4, 16 for IPv6. */
  bytes: readonly number[];
  /** For an IPv4-mapped IPv6 address (`::ffff:0:0/96`), the embedded IPv4 in dotted form. */
  mappedV4?: string;
}

const V4_OCTET = /^(?:0|[1-9][0-9]{0,2})$/;
const V6_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseV4Bytes(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes: number[] = [];
  for (const part of parts) {
    // Leading zeros are refused: inet_aton would read "010" as octal 8.
    if (!V4_OCTET.test(part)) return null;
    const n = Number(part);
    if (n > 255) return null;
    bytes.push(n);
  }
  return bytes;
}

function parseV6Groups(text: string): number[] | null {
  if (text.length === 0 || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const readGroups = (part: string, allowV4Tail: boolean): number[] | null => {
    if (part === '') return [];
    const items = part.split(':');
    const groups: number[] = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i] ?? '';
      if (allowV4Tail && i === items.length - 1 && item.includes('.')) {
        const v4 = parseV4Bytes(item);
        if (!v4) return null;
        groups.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        continue;
      }
      if (!V6_GROUP.test(item)) return null;
      groups.push(Number.parseInt(item, 16));
    }
    return groups;
  };
  if (halves.length === 1) {
    const groups = readGroups(text, true);
    return groups && groups.length === 8 ? groups : null;
  }
  const head = readGroups(halves[0] ?? '', false);
  const tail = readGroups(halves[1] ?? '', true);
  if (!head || !tail) return null;
  // `::` stands for at least one zero group.
  if (head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function formatV6(groups: readonly number[]): string {
  // Longest run of >= 2 zero groups, first one on a tie (RFC 5952 §4.2).
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    groups
      .slice(from, to)
      .map((g) => g.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

function isMappedV4(bytes: readonly number[]): boolean {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

/**
 * Parses an IPv4 or IPv6 literal (no brackets, no zone ID, no prefix length, no surrounding
 * whitespace). Returns null for anything else.
 */
export function parseIp(text: string): ParsedIp | null {
  if (typeof text !== 'string') return null;
  if (!text.includes(':')) {
    const bytes = parseV4Bytes(text);
    return bytes ? { family: 4, canonical: bytes.join('.'), bytes } : null;
  }
  const groups = parseV6Groups(text);
  if (!groups) return null;
  const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
  if (isMappedV4(bytes)) {
    const v4 = bytes.slice(12).join('.');
    return { family: 6, canonical: `::ffff:${v4}`, bytes, mappedV4: v4 };
  }
  return { family: 6, canonical: formatV6(groups), bytes };
}

/** The canonical text of an address, or null when `text` is not one. */
export function normalizeIp(text: string): string | null {
  return parseIp(text)?.canonical ?? null;
}

/** True when both are addresses of the same family with the same value ("2A02:C7C::1" = "2a02:c7c:0::1"). */
export function ipEquals(a: string, b: string): boolean {
  const pa = parseIp(a);
  const pb = parseIp(b);
  return pa !== null && pb !== null && pa.family === pb.family && pa.canonical === pb.canonical;
}

interface Prefix {
  bytes: readonly number[];
  length: number;
  cls: IpClass;
}

function prefix(cidr: string, cls: IpClass): Prefix {
  const [addr = '', len = ''] = cidr.split('/');
  const parsed = parseIp(addr);
  if (!parsed) throw new Error(`bad prefix in table: ${cidr}`);
  return { bytes: parsed.bytes, length: Number(len), cls };
}

function inPrefix(bytes: readonly number[], p: Prefix): boolean {
  if (bytes.length !== p.bytes.length) return false;
  let bits = p.length;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((p.bytes[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** The most specific prefix of `table` holding the address, if any. */
function longestMatch(bytes: readonly number[], table: readonly Prefix[]): Prefix | undefined {
  let best: Prefix | undefined;
  for (const p of table) if (inPrefix(bytes, p) && (!best || p.length > best.length)) best = p;
  return best;
}

/*
 * Special-purpose prefixes (after the IANA special-purpose address registries). Anything not
 * listed is 'global'.
 *
 * The documentation ranges (RFC 5737: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24; RFC 3849:
 * 2001:db8::/32; RFC 9637: 3fff::/20) are 'documentation': no host can have such an address, so
 * an IP source that answers one is lying or broken. Tests use ordinary public addresses instead.
 * 2002::/16 (6to4) is global: such an address is reachable from the internet.
 */
const SPECIAL_V4: readonly Prefix[] = [
  prefix('0.0.0.0/8', 'reserved'), // "this network"
  prefix('0.0.0.0/32', 'unspecified'),
  prefix('10.0.0.0/8', 'private'),
  prefix('100.64.0.0/10', 'cgnat'),
  prefix('127.0.0.0/8', 'loopback'),
  prefix('169.254.0.0/16', 'link_local'),
  prefix('172.16.0.0/12', 'private'),
  prefix('192.0.0.0/24', 'reserved'), // IETF protocol assignments
  prefix('192.0.2.0/24', 'documentation'), // TEST-NET-1
  prefix('192.88.99.0/24', 'reserved'), // deprecated 6to4 relay anycast
  prefix('192.168.0.0/16', 'private'),
  prefix('198.18.0.0/15', 'reserved'), // benchmarking
  prefix('198.51.100.0/24', 'documentation'), // TEST-NET-2
  prefix('203.0.113.0/24', 'documentation'), // TEST-NET-3
  prefix('224.0.0.0/4', 'multicast'),
  prefix('240.0.0.0/4', 'reserved'), // includes 255.255.255.255 (limited broadcast)
];

const SPECIAL_V6: readonly Prefix[] = [
  // Only 2000::/3 is allocated for global unicast; the rest is special or unassigned.
  prefix('::/0', 'reserved'),
  prefix('2000::/3', 'global'),
  prefix('::/128', 'unspecified'),
  prefix('::1/128', 'loopback'),
  prefix('64:ff9b::/96', 'reserved'), // NAT64 well-known prefix: not this network's own address
  prefix('64:ff9b:1::/48', 'reserved'), // local-use NAT64
  prefix('100::/64', 'reserved'), // discard-only
  prefix('2001::/32', 'reserved'), // Teredo
  prefix('2001:2::/48', 'reserved'), // benchmarking
  prefix('2001:10::/28', 'reserved'), // deprecated ORCHID
  prefix('2001:db8::/32', 'documentation'),
  prefix('3fff::/20', 'documentation'),
  prefix('fc00::/7', 'private'), // unique local addresses
  prefix('fe80::/10', 'link_local'),
  prefix('fec0::/10', 'reserved'), // deprecated site-local
  prefix('ff00::/8', 'multicast'),
];

/**
 * Cloudflare's anycast ranges as published at https://www.cloudflare.com/ips-v4 and /ips-v6
 * (checked against the list the API's /ips endpoint returns), plus its public resolver
 * 1.1.1.0/24 and 1.0.0.0/24. A detection answer in here means the request left through WARP or a
 * proxy; a proxied record's DNS answer is in here too. WARP's egress ranges (below) are classified
 * as Cloudflare's as well.
 */
export const CLOUDFLARE_RANGES: readonly string[] = [
  '173.245.48.0/20',
  '103.21.244.0/22',
  '103.22.200.0/22',
  '103.31.4.0/22',
  '141.101.64.0/18',
  '108.162.192.0/18',
  '190.93.240.0/20',
  '188.114.96.0/20',
  '197.234.240.0/22',
  '198.41.128.0/17',
  '162.158.0.0/15',
  '104.16.0.0/13',
  '104.24.0.0/14',
  '172.64.0.0/13',
  '131.0.72.0/22',
  '1.1.1.0/24',
  '1.0.0.0/24',
  '2400:cb00::/32',
  '2606:4700::/32',
  '2803:f800::/32',
  '2405:b500::/32',
  '2405:8100::/32',
  '2a06:98c0::/29',
  '2c0f:f248::/32',
];

/**
 * Where Cloudflare WARP (and Zero Trust Gateway) traffic leaves Cloudflare's network. Cloudflare
 * does not publish these ranges ("Cloudflare does not publish WARP egress IP ranges",
 * https://developers.cloudflare.com/cloudflare-one/traffic-policies/egress-policies/), so this
 * list is what is known to be both Cloudflare's (AS13335) and seen as WARP's public address:
 * 104.28.0.0/16 (reported by WARP users, e.g. github.com/X4BNet/lists_vpn issue 173 and
 * github.com/fscarmen/warp issue 124) and 2a09:bac0::/29 (named in this project's issue 6; not
 * confirmed by a primary source). It may be incomplete (older reports show WARP egress in
 * 8.x.x.x blocks that Cloudflare announces): a trace answer's `warp=on` is the stronger signal.
 */
export const WARP_EGRESS_RANGES: readonly string[] = ['104.28.0.0/16', '2a09:bac0::/29'];

const CLOUDFLARE: readonly Prefix[] = [...CLOUDFLARE_RANGES, ...WARP_EGRESS_RANGES].map((c) =>
  prefix(c, 'cloudflare'),
);

function classifyParsed(ip: ParsedIp): IpClass {
  if (ip.family === 4 || ip.mappedV4 !== undefined) {
    const v4 = ip.family === 4 ? ip.bytes : ip.bytes.slice(12);
    const special = longestMatch(v4, SPECIAL_V4);
    if (special) return special.cls;
    return longestMatch(v4, CLOUDFLARE) ? 'cloudflare' : 'global';
  }
  const cls = longestMatch(ip.bytes, SPECIAL_V6)?.cls ?? 'global';
  if (cls !== 'global') return cls;
  return longestMatch(ip.bytes, CLOUDFLARE) ? 'cloudflare' : 'global';
}

/**
 * What kind of address this is. An IPv4-mapped IPv6 address is classified by its IPv4 part.
 * A string that is not an address gives null.
 */
export function classifyIp(ip: ParsedIp): IpClass;
export function classifyIp(ip: string): IpClass | null;
export function classifyIp(ip: string | ParsedIp): IpClass | null {
  const parsed = typeof ip === 'string' ? parseIp(ip) : ip;
  return parsed ? classifyParsed(parsed) : null;
}

/** True for an address in Cloudflare's own ranges (false for anything that is not an address). */
export function isCloudflareAddress(ip: string | ParsedIp): boolean {
  const parsed = typeof ip === 'string' ? parseIp(ip) : ip;
  return parsed !== null && classifyParsed(parsed) === 'cloudflare';
}

/** The prefix a user would recognise for each non-global class, for messages. */
export const IP_CLASS_LABEL: Readonly<Record<IpClass, string>> = {
  global: 'a public address',
  private: 'a private address (10/8, 172.16/12, 192.168/16 or fc00::/7)',
  loopback: 'a loopback address',
  link_local: 'a link-local address (169.254/16 or fe80::/10)',
  cgnat: 'a carrier-grade NAT address (100.64.0.0/10)',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  documentation:
    'a documentation address (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 or 3fff::/20), which no host can have',
  unspecified: 'the unspecified address',
  cloudflare: "an address in Cloudflare's own range",
};
