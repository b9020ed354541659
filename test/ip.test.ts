import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  type ConsensusAnswer,
  type Decision,
  decide,
  explainNoQuorum,
  sourceLabel,
} from '../src/domain/consensus.js';
import {
  CLOUDFLARE_RANGES,
  classifyIp,
  type IpClass,
  ipEquals,
  isCloudflareAddress,
  normalizeIp,
  parseIp,
  WARP_EGRESS_RANGES,
} from '../src/domain/ip.js';
import { CGNAT_WARNING, judgeAddress, parseBody } from '../src/ip/parse-body.js';
import { traceBody } from './fakes/ip-echo.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A list fixture of test/fixtures/cloudflare/: one entry a line, `#` comments and blanks skipped. */
function listFixture(name: string): string[] {
  return readFileSync(join(ROOT, 'test/fixtures/cloudflare', name), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

describe('parseIp', () => {
  it.each<[string, string, string | null]>([
    ['v4/plain', '81.2.69.1', '81.2.69.1'],
    ['v4/zeros', '0.0.0.0', '0.0.0.0'],
    ['v4/max', '255.255.255.255', '255.255.255.255'],
    ['v4/leading-zero-refused', '01.2.3.4', null],
    ['v4/octet-overflow', '256.1.1.1', null],
    ['v4/three-parts', '1.2.3', null],
    ['v4/five-parts', '1.2.3.4.5', null],
    ['v4/trailing-dot', '1.2.3.4.', null],
    ['v4/surrounding-space', ' 1.2.3.4', null],
    ['v4/hex-octet', '0x7f.0.0.1', null],
    ['v4/prefix-length', '10.0.0.0/8', null],
    ['v6/upper-case', '2A02:C7C::1', '2a02:c7c::1'],
    ['v6/full-form', '2a02:0c7c:0000:0000:0000:0000:0000:0001', '2a02:c7c::1'],
    ['v6/longest-run-compressed', '2a02:c7c:0:0:1:0:0:0', '2a02:c7c:0:0:1::'],
    ['v6/tie-first-run-compressed', '2a02:c7c:0:0:1:0:0:1', '2a02:c7c::1:0:0:1'],
    ['v6/single-zero-group-kept', '2a02:c7c:0:1:1:1:1:1', '2a02:c7c:0:1:1:1:1:1'],
    ['v6/unspecified', '::', '::'],
    ['v6/loopback-long', '0:0:0:0:0:0:0:1', '::1'],
    ['v6/trailing-double-colon', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
    ['v6/leading-zeros-dropped', 'fe80::000a:0b', 'fe80::a:b'],
    ['v6/mapped-dotted', '::FFFF:81.2.69.1', '::ffff:81.2.69.1'],
    ['v6/mapped-hex', '::ffff:5102:4501', '::ffff:81.2.69.1'],
    ['v6/mapped-long', '0:0:0:0:0:ffff:81.2.69.1', '::ffff:81.2.69.1'],
    ['v6/embedded-v4-not-mapped', '64:ff9b::81.2.69.1', '64:ff9b::5102:4501'],
    ['v6/two-double-colons', '1::2::3', null],
    ['v6/nine-groups', '1:2:3:4:5:6:7:8:9', null],
    ['v6/double-colon-with-eight-groups', '1:2:3:4::5:6:7:8', null],
    ['v6/seven-groups-no-double-colon', '1:2:3:4:5:6:7', null],
    ['v6/group-too-long', '12345::', null],
    ['v6/bad-hex', '2a02:c7c::g', null],
    ['v6/zone-id', 'fe80::1%eth0', null],
    ['v6/brackets', '[::1]', null],
    ['v6/single-leading-colon', ':1::', null],
    ['v6/v4-tail-bad', '::ffff:1.2.3', null],
    ['v6/v4-in-head', '1.2.3.4::', null],
    ['other/empty', '', null],
    ['other/host-name', 'example.com', null],
  ])('%s', (_name, input, expected) => {
    expect(parseIp(input)?.canonical ?? null).toBe(expected);
    expect(normalizeIp(input)).toBe(expected);
  });

  it('v6/mapped/exposes-the-ipv4', () => {
    expect(parseIp('::ffff:81.2.69.1')).toMatchObject({ family: 6, mappedV4: '81.2.69.1' });
    expect(parseIp('81.2.69.1')).toMatchObject({ family: 4, bytes: [81, 2, 69, 1] });
  });
});

describe('ipEquals', () => {
  it.each<[string, string, string, boolean]>([
    ['v4/same', '81.2.69.1', '81.2.69.1', true],
    ['v4/different', '81.2.69.1', '81.2.69.2', false],
    ['v6/different-spelling', '2A02:C7C:0::1', '2a02:c7c::0:1', true],
    ['v6/different', '2a02:c7c::1', '2a02:c7c::2', false],
    ['mixed/v4-vs-mapped-v6', '81.2.69.1', '::ffff:81.2.69.1', false],
    ['invalid/both-garbage', 'nope', 'nope', false],
    ['invalid/empty', '', '81.2.69.1', false],
  ])('%s', (_name, a, b, expected) => {
    expect(ipEquals(a, b)).toBe(expected);
    expect(ipEquals(b, a)).toBe(expected);
  });
});

describe('classifyIp', () => {
  it.each<[string, string, IpClass]>([
    ['v4/unspecified', '0.0.0.0', 'unspecified'],
    ['v4/this-network', '0.1.2.3', 'reserved'],
    ['v4/private-10', '10.1.2.3', 'private'],
    ['v4/cgnat-low', '100.64.0.1', 'cgnat'],
    ['v4/cgnat-high', '100.127.255.255', 'cgnat'],
    ['v4/after-cgnat', '100.128.0.1', 'global'],
    ['v4/loopback', '127.0.0.1', 'loopback'],
    ['v4/loopback-other', '127.5.5.5', 'loopback'],
    ['v4/link-local', '169.254.1.1', 'link_local'],
    ['v4/private-172-low', '172.16.0.1', 'private'],
    ['v4/private-172-high', '172.31.255.255', 'private'],
    ['v4/after-private-172', '172.32.0.1', 'global'],
    ['v4/ietf-protocol', '192.0.0.8', 'reserved'],
    ['v4/documentation-1', '192.0.2.1', 'documentation'],
    ['v4/documentation-2', '198.51.100.7', 'documentation'],
    ['v4/documentation-3', '203.0.113.9', 'documentation'],
    ['v4/after-documentation-3', '203.0.114.1', 'global'],
    ['v4/6to4-relay', '192.88.99.1', 'reserved'],
    ['v4/private-192-168', '192.168.1.1', 'private'],
    ['v4/benchmarking-low', '198.18.0.1', 'reserved'],
    ['v4/benchmarking-high', '198.19.255.255', 'reserved'],
    ['v4/after-benchmarking', '198.20.0.1', 'global'],
    ['v4/multicast-low', '224.0.0.251', 'multicast'],
    ['v4/multicast-high', '239.255.255.250', 'multicast'],
    ['v4/reserved-240', '240.0.0.1', 'reserved'],
    ['v4/broadcast', '255.255.255.255', 'reserved'],
    ['v4/global', '81.2.69.1', 'global'],
    ['v4/google-dns', '8.8.8.8', 'global'],
    ['v4/cloudflare/resolver', '1.1.1.1', 'cloudflare'],
    ['v4/cloudflare/resolver-2', '1.0.0.1', 'cloudflare'],
    ['v4/cloudflare/not-1.1.2.0', '1.1.2.1', 'global'],
    ['v4/cloudflare/104.16', '104.16.132.229', 'cloudflare'],
    ['v4/cloudflare/104.24-14-end', '104.27.255.255', 'cloudflare'],
    ['v4/cloudflare/172.64', '172.64.0.1', 'cloudflare'],
    ['v4/cloudflare/172.64-13-end', '172.71.255.255', 'cloudflare'],
    ['v4/cloudflare/after-172.64-13', '172.72.0.1', 'global'],
    ['v4/cloudflare/162.158-15', '162.159.200.1', 'cloudflare'],
    ['v4/cloudflare/173.245.48-20-end', '173.245.63.255', 'cloudflare'],
    ['v4/cloudflare/131.0.72-22-end', '131.0.75.255', 'cloudflare'],
    ['v4/cloudflare/after-131.0.72-22', '131.0.76.0', 'global'],
    ['v6/unspecified', '::', 'unspecified'],
    ['v6/loopback', '::1', 'loopback'],
    ['v6/link-local', 'fe80::1', 'link_local'],
    ['v6/link-local-end', 'febf::1', 'link_local'],
    ['v6/site-local-deprecated', 'fec0::1', 'reserved'],
    ['v6/ula-fc', 'fc00::1', 'private'],
    ['v6/ula-fd', 'fd12:3456::1', 'private'],
    ['v6/multicast', 'ff02::1', 'multicast'],
    ['v6/nat64', '64:ff9b::5102:4501', 'reserved'],
    ['v6/discard', '100::1', 'reserved'],
    ['v6/teredo', '2001::1', 'reserved'],
    ['v6/benchmarking', '2001:2::1', 'reserved'],
    ['v6/documentation', '2001:db8::1', 'documentation'],
    ['v6/documentation-end', '2001:db8:ffff::1', 'documentation'],
    ['v6/after-documentation', '2001:db9::1', 'global'],
    ['v6/documentation-3fff', '3fff::1', 'documentation'],
    ['v6/documentation-3fff-20-end', '3fff:fff:ffff::1', 'documentation'],
    ['v6/after-documentation-3fff-20', '3fff:1000::1', 'global'],
    ['v6/mapped/documentation', '::ffff:192.0.2.1', 'documentation'],
    ['v6/6to4-is-global', '2002:c000:201::1', 'global'],
    ['v6/global', '2a01:4f8::1', 'global'],
    ['v6/outside-2000-3', '4000::1', 'reserved'],
    ['v6/ipv4-compatible', '::1.2.3.4', 'reserved'],
    ['v6/cloudflare/resolver', '2606:4700:4700::1111', 'cloudflare'],
    ['v6/cloudflare/2400:cb00', '2400:cb00::1', 'cloudflare'],
    ['v6/cloudflare/2a06:98c0-29-end', '2a06:98c7:ffff::1', 'cloudflare'],
    ['v6/cloudflare/after-2a06:98c0-29', '2a06:98c8::1', 'global'],
    ['v4/warp-egress/104.28', '104.28.207.12', 'cloudflare'],
    ['v4/warp-egress/104.28-16-end', '104.28.255.255', 'cloudflare'],
    ['v4/warp-egress/after-104.28-16', '104.29.0.1', 'global'],
    ['v6/warp-egress/2a09:bac0', '2a09:bac0:1000::1', 'cloudflare'],
    ['v6/warp-egress/2a09:bac0-29-end', '2a09:bac7:ffff::1', 'cloudflare'],
    ['v6/warp-egress/after-2a09:bac0-29', '2a09:bac8::1', 'global'],
    ['v6/mapped/private', '::ffff:10.0.0.1', 'private'],
    ['v6/mapped/cgnat', '::ffff:100.64.0.1', 'cgnat'],
    ['v6/mapped/cloudflare', '::ffff:1.1.1.1', 'cloudflare'],
    ['v6/mapped/global', '::ffff:81.2.69.1', 'global'],
  ])('%s', (_name, ip, expected) => {
    expect(classifyIp(ip)).toBe(expected);
    expect(isCloudflareAddress(ip)).toBe(expected === 'cloudflare');
  });

  it('invalid/gives-null', () => {
    expect(classifyIp('not an ip')).toBeNull();
    expect(isCloudflareAddress('not an ip')).toBe(false);
  });

  it("cloudflare/ranges-equal-cloudflare's-published-lists-plus-the-resolver", () => {
    // The source of truth is Cloudflare's ips-v4 and ips-v6 lists, kept as fixtures with their
    // source and date (tests cannot download them); the resolver's 1.1.1.0/24 and 1.0.0.0/24 are
    // not on those lists but are Cloudflare's too.
    const published = [...listFixture('ips-v4.txt'), ...listFixture('ips-v6.txt')];
    expect(published).toHaveLength(22);
    expect([...CLOUDFLARE_RANGES].sort()).toEqual([...published, '1.1.1.0/24', '1.0.0.0/24'].sort());
    for (const cidr of CLOUDFLARE_RANGES) {
      const base = cidr.split('/')[0] ?? '';
      expect(isCloudflareAddress(base), cidr).toBe(true);
    }
  });

  it('cloudflare/warp-egress-ranges-are-the-ones-docs/ip-detection.md-documents', () => {
    // Cloudflare does not publish WARP's egress ranges; the documented list is the reference.
    const doc = readFileSync(join(ROOT, 'docs/ip-detection.md'), 'utf8');
    const sentence = /WARP's\s+egress ranges\*\*\s*\(([^)]*)\)/.exec(doc)?.[1] ?? '';
    const documented = [...sentence.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(0);
    expect([...WARP_EGRESS_RANGES].sort()).toEqual(documented.sort());
    for (const cidr of WARP_EGRESS_RANGES) {
      const base = cidr.split('/')[0] ?? '';
      expect(classifyIp(base), cidr).toBe('cloudflare');
    }
  });
});

const ok = (source: string, ip: string): ConsensusAnswer => ({ ok: true, source, ip });
const bad = (source: string, reason: string): ConsensusAnswer => ({ ok: false, source, reason });

const settledNo = { settled: false };
const settledYes = { settled: true };
const agreed = (ip: string, agreeing: string[]): Decision => ({ kind: 'agreed', ip, agreeing });
const waiting = (settle: boolean): Decision => ({ kind: 'waiting', settle });
const L = '81.2.69.66';
const H = '81.2.69.1';

describe('decide', () => {
  it.each<[string, ConsensusAnswer[], { sources: number; quorum: number; settled: boolean }, Decision]>([
    [
      'majority/3-of-5/decided-without-waiting-for-the-rest',
      [ok('a', H), ok('b', H), ok('c', H)],
      { sources: 5, quorum: 2, ...settledNo },
      agreed(H, ['a', 'b', 'c']),
    ],
    [
      'majority/two-fast-liars-then-three-honest/honest-win',
      [ok('a', L), ok('b', L), ok('c', H), ok('d', H), ok('e', H)],
      { sources: 5, quorum: 2, ...settledNo },
      agreed(H, ['c', 'd', 'e']),
    ],
    [
      'majority/two-fast-liars/wait-in-the-settle-window',
      [ok('a', L), ok('b', L)],
      { sources: 5, quorum: 2, ...settledNo },
      waiting(true),
    ],
    [
      'majority/two-fast-liars-one-honest/still-waiting',
      [ok('a', L), ok('b', L), ok('c', H)],
      { sources: 5, quorum: 2, ...settledNo },
      waiting(true),
    ],
    [
      'majority/2-of-3/decided',
      [ok('a', H), ok('b', L), ok('c', H)],
      { sources: 3, quorum: 2, ...settledNo },
      agreed(H, ['a', 'c']),
    ],
    [
      'settled/plurality-wins',
      [ok('a', H), ok('b', H), ok('c', L)],
      { sources: 5, quorum: 2, ...settledYes },
      agreed(H, ['a', 'b']),
    ],
    [
      'settled/tie/no-decision',
      [ok('a', H), ok('b', L), ok('c', L), ok('d', H)],
      { sources: 5, quorum: 2, ...settledYes },
      { kind: 'none', why: 'tie' },
    ],
    [
      'settled/plurality-below-quorum/no-decision',
      [ok('a', H), bad('b', 'timeout')],
      { sources: 5, quorum: 2, ...settledYes },
      { kind: 'none', why: 'no_quorum' },
    ],
    [
      'all-answered/tie/no-decision',
      [ok('a', H), ok('b', H), ok('c', L), ok('d', L), bad('e', 'HTML page')],
      { sources: 5, quorum: 2, ...settledNo },
      { kind: 'none', why: 'tie' },
    ],
    [
      'all-answered/plurality-counts',
      [ok('a', H), ok('b', H), ok('c', L), bad('d', 'x'), bad('e', 'y')],
      { sources: 5, quorum: 2, ...settledNo },
      agreed(H, ['a', 'b']),
    ],
    [
      'all-answered/plurality-below-quorum',
      [ok('a', H), ok('b', H), ok('c', L), bad('d', 'x'), bad('e', 'y')],
      { sources: 5, quorum: 3, ...settledNo },
      { kind: 'none', why: 'no_quorum' },
    ],
    [
      'no-quorum-yet/no-settle-window',
      [ok('a', H), ok('b', L)],
      { sources: 5, quorum: 2, ...settledNo },
      waiting(false),
    ],
    [
      'lead-the-unanswered-cannot-close/decided',
      [ok('a', H), bad('b', 'x'), ok('c', H), bad('d', 'y')],
      { sources: 5, quorum: 2, ...settledNo },
      agreed(H, ['a', 'c']),
    ],
    [
      'failures/ignored',
      [bad('a', 'timeout'), ok('b', H), bad('c', 'x'), ok('d', H)],
      { sources: 4, quorum: 2, ...settledNo },
      agreed(H, ['b', 'd']),
    ],
    [
      'spellings-normalised',
      [ok('a', '2a02:C7C::1'), ok('b', '2a02:c7c:0::1')],
      { sources: 2, quorum: 2, ...settledNo },
      agreed('2a02:c7c::1', ['a', 'b']),
    ],
    [
      'duplicate-source/counts-once',
      [ok('a', H), ok('a', H)],
      { sources: 2, quorum: 2, ...settledNo },
      waiting(false),
    ],
    [
      'quorum-above-majority/needs-the-quorum',
      [ok('a', H), ok('b', H)],
      { sources: 3, quorum: 3, ...settledNo },
      waiting(false),
    ],
    [
      'quorum-above-majority/reached',
      [ok('a', H), ok('b', H), ok('c', H)],
      { sources: 3, quorum: 3, ...settledNo },
      agreed(H, ['a', 'b', 'c']),
    ],
    ['quorum-1/single-source', [ok('a', H)], { sources: 1, quorum: 1, ...settledNo }, agreed(H, ['a'])],
    ['quorum-1/of-3/settles-first', [ok('a', H)], { sources: 3, quorum: 1, ...settledNo }, waiting(true)],
    [
      'quorum-1/of-3/settled/tie',
      [ok('a', H), ok('b', L)],
      { sources: 3, quorum: 1, ...settledYes },
      { kind: 'none', why: 'tie' },
    ],
    ['quorum-0/counts-as-1', [ok('a', H)], { sources: 1, quorum: 0, ...settledNo }, agreed(H, ['a'])],
    ['empty/no-sources', [], { sources: 0, quorum: 2, ...settledNo }, { kind: 'none', why: 'no_quorum' }],
  ])('%s', (_name, answers, options, expected) => {
    expect(decide(answers, options)).toEqual(expected);
  });
});

describe('sourceLabel', () => {
  it.each<[string, string, string]>([
    ['plain/kept-as-configured', 'https://api.ipify.org', 'https://api.ipify.org'],
    ['path/kept', 'https://cloudflare.com/cdn-cgi/trace', 'https://cloudflare.com/cdn-cgi/trace'],
    ['port/kept', 'http://127.0.0.1:8080/ip', 'http://127.0.0.1:8080/ip'],
    ['query/dropped', 'https://ip.example.net/ip?key=SECRET&format=text', 'https://ip.example.net/ip'],
    ['fragment/dropped', 'https://ip.example.net/ip#SECRET', 'https://ip.example.net/ip'],
    ['userinfo/dropped', 'https://user:SECRET@ip.example.net/ip', 'https://ip.example.net/ip'],
    ['user-only/dropped', 'https://SECRET@ip.example.net/', 'https://ip.example.net/'],
    ['all/dropped', 'http://u:SECRET@[::1]:81/a/b?token=SECRET#x', 'http://[::1]:81/a/b'],
    ['local/kept', 'local', 'local'],
    ['local-iface/kept', 'local:eth0', 'local:eth0'],
    ['odd-scheme/userinfo-dropped', 'htp://u:p@ss:SECRET@h/?k=SECRET', 'htp://h/'],
    ['not-a-url/credentials-masked', 'ftp//u:SECRET@host/x?key=SECRET', '***@host/x'],
    ['not-a-url/after-scheme-masked', 'https://u:SECRET@h:99999/x?key=SECRET', 'https://***@h:99999/x'],
    ['query-with-an-at/host-and-path-kept', 'http://h/ip?email=me@example.com&key=SECRET', 'http://h/ip'],
    ['not-a-url/hash-in-password/all-masked', 'https://u:SECRET#x@h:99999/ip', 'https://***'],
    ['not-a-url/question-mark-in-password/all-masked', 'https://u:SECRET?x@h:99999/ip', 'https://***'],
    ['not-a-url/at-in-query/all-masked', 'h/ip?email=me@x.org&key=SECRET', '***'],
  ])('%s', (_name, input, expected) => {
    expect(sourceLabel(input)).toBe(expected);
  });
});

describe('explainNoQuorum', () => {
  it.each<[string, ConsensusAnswer[], number, 4 | 6, string]>([
    [
      'v4/quorum-2/disagreement',
      [
        ok('https://a', '81.2.69.1'),
        ok('https://b', '81.2.69.9'),
        bad('https://c', 'not an address (HTML page)'),
      ],
      2,
      4,
      'no 2 sources agreed on a public IPv4: https://a → 81.2.69.1, https://b → 81.2.69.9, https://c → not an address (HTML page)',
    ],
    [
      'v6/quorum-1/all-failed',
      [bad('local', 'no global IPv6 address on any interface')],
      1,
      6,
      'no source found a public IPv6: local → no global IPv6 address on any interface',
    ],
    [
      'v4/quorum-above-source-count',
      [ok('https://a', '81.2.69.1')],
      2,
      4,
      'no 2 sources agreed on a public IPv4 (only 1 source for ip_quorum 2: add sources to ip_sources or lower ip_quorum): https://a → 81.2.69.1',
    ],
    ['v6/no-sources', [], 2, 6, 'no IPv6 sources are configured (set ip_sources_v6)'],
    [
      'v6/quorum-above-source-count/names-the-key-users-can-set',
      [ok('https://a6', '2a02:c7c:1::1')],
      2,
      6,
      'no 2 sources agreed on a public IPv6 (only 1 source for ip_quorum 2: add sources to ip_sources_v6 or lower ip_quorum): https://a6 → 2a02:c7c:1::1',
    ],
    [
      'v4/tie',
      [
        ok('https://a', '81.2.69.1'),
        ok('https://b', '81.2.69.9'),
        ok('https://c', '81.2.69.9'),
        ok('https://d', '81.2.69.1'),
      ],
      2,
      4,
      'the sources are split evenly between 81.2.69.1 and 81.2.69.9 (2 each), so no public IPv4 won: https://a → 81.2.69.1, https://b → 81.2.69.9, https://c → 81.2.69.9, https://d → 81.2.69.1',
    ],
  ])('%s', (_name, answers, quorum, family, expected) => {
    expect(explainNoQuorum(answers, quorum, family)).toBe(expected);
  });
});

describe('parseBody', () => {
  const host = 'cloudflare.com';
  it.each<[string, string, string]>([
    ['bare/v4', '81.2.69.1\n', '81.2.69.1'],
    ['bare/v6-crlf', '2A02:C7C::1\r\n', '2a02:c7c::1'],
    ['bare/bom', '\uFEFF81.2.69.1', '81.2.69.1'],
    ['bare/surrounding-blank-lines', '\n\n 81.2.69.1 \n\n', '81.2.69.1'],
    ['json/ip', '{"ip":"81.2.69.1"}', '81.2.69.1'],
    ['json/extra-fields', '{"ip":"2a02:c7c::7","country":"GB"}', '2a02:c7c::7'],
    ['trace/ok', traceBody('81.2.69.1', 'cloudflare.com'), '81.2.69.1'],
    ['trace/host-case-and-final-dot', traceBody('81.2.69.1', 'Cloudflare.COM.'), '81.2.69.1'],
    ['trace/warp-off', traceBody('81.2.69.1', 'cloudflare.com', { warp: 'off' }), '81.2.69.1'],
  ])('%s', (_name, body, expected) => {
    const result = parseBody(body, { host });
    expect(result.ok && result.ip.canonical).toBe(expected);
  });

  it.each<[string, string, string]>([
    ['empty/nothing', '', 'not an address (empty answer)'],
    ['empty/whitespace', ' \n\t ', 'not an address (empty answer)'],
    [
      'html/captive-portal',
      '<!DOCTYPE html><html><head><title>Hotel WiFi Login</title></head><body>…</body></html>',
      'not an address (HTML page "Hotel WiFi Login")',
    ],
    ['html/no-title', '<html><body>81.2.69.1</body></html>', 'not an address (HTML page)'],
    [
      'cloudflare-error/1034',
      'error code: 1034',
      'not an address (Cloudflare error page "error code: 1034")',
    ],
    ['json/no-ip-field', '{"address":"81.2.69.1"}', 'not an address (JSON without an "ip" field)'],
    ['json/ip-not-a-string', '{"ip":81}', 'not an address (JSON without an "ip" field)'],
    ['json/array', '["81.2.69.1"]', 'not an address (JSON without an "ip" field)'],
    ['json/malformed', '{"ip":', 'not an address (malformed JSON "{"ip":")'],
    ['json/ip-garbage', '{"ip":"localhost"}', 'not an address (JSON ip "localhost")'],
    [
      'trace/other-host',
      traceBody('81.2.69.1', 'example.net'),
      'trace answered for another host (h=example.net, asked cloudflare.com)',
    ],
    ['trace/no-h-line', 'ip=81.2.69.1\nts=1\n', 'trace without an h= line: cannot tell which host answered'],
    ['trace/ip-garbage', traceBody('unknown', host), 'not an address (trace ip= "unknown")'],
    ['text/word', 'forbidden', 'not an address (text "forbidden")'],
    ['text/multi-line', 'your ip is\n81.2.69.1', 'not an address (2 lines of text starting "your ip is")'],
    ['text/long-line-cut', 'x'.repeat(100), `not an address (text "${'x'.repeat(40)}…")`],
  ])('%s', (_name, body, reason) => {
    expect(parseBody(body, { host })).toEqual({ ok: false, reason });
  });

  it.each<[string, Record<string, string>, string]>([
    ['trace/warp-on', { warp: 'on' }, "this host's traffic goes through Cloudflare WARP (warp=on)"],
    ['trace/warp-plus', { warp: 'plus' }, "this host's traffic goes through Cloudflare WARP (warp=plus)"],
    [
      'trace/gateway-on',
      { gateway: 'on' },
      "this host's traffic goes through Cloudflare WARP with Gateway (gateway=on)",
    ],
    [
      'trace/warp-on-gateway-on',
      { warp: 'on', gateway: 'on' },
      "this host's traffic goes through Cloudflare WARP (warp=on)",
    ],
  ])('%s/kind-warp', (_name, extra, reason) => {
    expect(parseBody(traceBody('81.2.69.1', host, extra), { host })).toEqual({
      ok: false,
      kind: 'warp',
      reason,
    });
  });

  it('trace/ipv6-literal-host', () => {
    const result = parseBody(traceBody('2a02:c7c::1', '::1'), { host: '[::1]' });
    expect(result.ok && result.ip.canonical).toBe('2a02:c7c::1');
  });
});

describe('judgeAddress', () => {
  it.each<[string, string, 4 | 6, ReturnType<typeof judgeAddress>]>([
    ['v4/global', '81.2.69.1', 4, { ok: true, ip: '81.2.69.1' }],
    ['v6/global', '2a02:c7c::1', 6, { ok: true, ip: '2a02:c7c::1' }],
    ['v4-question/mapped-answer-read-as-v4', '::ffff:81.2.69.1', 4, { ok: true, ip: '81.2.69.1' }],
    [
      'v4-question/v6-answer',
      '2a02:c7c::1',
      4,
      {
        ok: false,
        kind: 'wrong_family',
        ip: '2a02:c7c::1',
        reason: 'an IPv6 address (2a02:c7c::1) for an IPv4 question',
      },
    ],
    [
      'v6-question/v4-answer',
      '81.2.69.1',
      6,
      {
        ok: false,
        kind: 'wrong_family',
        ip: '81.2.69.1',
        reason: 'an IPv4 address (81.2.69.1) for an IPv6 question',
      },
    ],
    [
      'v6-question/mapped-answer',
      '::ffff:81.2.69.1',
      6,
      {
        ok: false,
        kind: 'wrong_family',
        ip: '::ffff:81.2.69.1',
        reason: 'an IPv4 address (::ffff:81.2.69.1) for an IPv6 question',
      },
    ],
    [
      'v4/private',
      '192.168.1.5',
      4,
      {
        ok: false,
        kind: 'not_global',
        ip: '192.168.1.5',
        reason: '192.168.1.5 is a private address (10/8, 172.16/12, 192.168/16 or fc00::/7)',
      },
    ],
    [
      'v6/link-local',
      'fe80::1',
      6,
      {
        ok: false,
        kind: 'not_global',
        ip: 'fe80::1',
        reason: 'fe80::1 is a link-local address (169.254/16 or fe80::/10)',
      },
    ],
    [
      'v4/documentation',
      '203.0.113.7',
      4,
      {
        ok: false,
        kind: 'not_global',
        ip: '203.0.113.7',
        reason:
          '203.0.113.7 is a documentation address (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 or 3fff::/20), which no host can have',
      },
    ],
    [
      'v6/documentation',
      '2001:db8::1',
      6,
      {
        ok: false,
        kind: 'not_global',
        ip: '2001:db8::1',
        reason:
          '2001:db8::1 is a documentation address (192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 or 3fff::/20), which no host can have',
      },
    ],
    [
      'v6/warp-egress',
      '2a09:bac1::7',
      6,
      {
        ok: false,
        kind: 'cloudflare',
        ip: '2a09:bac1::7',
        reason:
          "2a09:bac1::7 is an address in Cloudflare's own range: the request went through WARP or a proxy",
      },
    ],
    [
      'v4/cgnat',
      '100.64.1.2',
      4,
      {
        ok: false,
        kind: 'cgnat',
        ip: '100.64.1.2',
        reason: `100.64.1.2 is a CGNAT address: ${CGNAT_WARNING}`,
      },
    ],
    [
      'v4/cloudflare',
      '104.16.0.1',
      4,
      {
        ok: false,
        kind: 'cloudflare',
        ip: '104.16.0.1',
        reason:
          "104.16.0.1 is an address in Cloudflare's own range: the request went through WARP or a proxy",
      },
    ],
    [
      'v6/cloudflare',
      '2606:4700:110::1',
      6,
      {
        ok: false,
        kind: 'cloudflare',
        ip: '2606:4700:110::1',
        reason:
          "2606:4700:110::1 is an address in Cloudflare's own range: the request went through WARP or a proxy",
      },
    ],
  ])('%s', (_name, ip, family, expected) => {
    const parsed = parseIp(ip);
    expect(parsed).not.toBeNull();
    expect(judgeAddress(parsed!, family)).toEqual(expected);
  });
});
