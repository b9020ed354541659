/** SPEC §2 "DNS" (its IP detection keys) and §3.1: where the public address is learnt, and how many sources must agree. */
import { int, list } from '../builders.js';
import { ipSource } from '../fields.js';
import type { Section } from '../key-spec.js';

export const DEFAULT_IP_SOURCES: readonly string[] = [
  'https://cloudflare.com/cdn-cgi/trace',
  'https://api.cloudflare.com/cdn-cgi/trace',
  'https://api.ipify.org',
  'https://icanhazip.com',
  'https://ifconfig.me/ip',
];
export const DEFAULT_IP_SOURCES_V6: readonly string[] = [
  'https://cloudflare.com/cdn-cgi/trace',
  'https://api6.ipify.org',
  'https://ipv6.icanhazip.com',
];

const DUPLICATE = 'each source counts once toward ip_quorum; remove the copy';

export const IP = {
  id: 'ip',
  title: 'Public IP detection',
  keys: {
    ip_sources: {
      schema: list(ipSource('IPv4'), 'the sources', DUPLICATE),
      default: DEFAULT_IP_SOURCES,
      label: 'IPv4 sources',
      allowed: 'http(s) URLs, `local`, `local:IFACE`',
      doc: 'IPv4 detection sources. A body is the trace format (`ip=` line; its `h=` must be the URL’s host), JSON with an `ip` field, or the bare address. `local` / `local:IFACE` read this host’s own global addresses, e.g. `local:eth0`. `https://1.1.1.1/cdn-cgi/trace` (and the other resolver addresses) is rejected: it answers error 1034. Duplicates are an error (each source counts once toward the quorum).',
    },
    ip_sources_v6: {
      schema: list(ipSource('IPv6'), 'the sources', DUPLICATE),
      default: DEFAULT_IP_SOURCES_V6,
      label: 'IPv6 sources',
      allowed: 'as above',
      doc: 'IPv6 detection sources, used when `ip_version` is `ipv6` or `both`. Each request is pinned to its family, so a dual-stack host cannot answer v6 for a v4 question.',
    },
    ip_quorum: {
      schema: int(1, 10),
      computed: { by: 'parse', text: '`2`, or `1` when one source is configured' },
      label: 'Sources that must agree',
      allowed: '1..10, at most the number of sources',
      doc: 'Sources that must agree on an address before it is used. It is the only quorum key: it governs `ip_sources`, or `ip_sources_v6` when `ip_version` is `ipv6`, and is capped at the length of the other list (see "Choices").',
    },
  },
} satisfies Section;
