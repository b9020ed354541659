/**
 * Property (SPEC §3.1): an IP source's answer, whatever its text — trace, JSON, a bare address,
 * an HTML captive portal, binary junk — becomes either an address of the asked family that is
 * public (not private, loopback, link-local, CGNAT, multicast, reserved, documentation,
 * unspecified, nor Cloudflare's own), or a rejection with a reason. Never a throw.
 *
 * "Public" is judged here by an independent oracle: node's BlockList filled from the IANA
 * special-purpose registries, not by the code under test.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CLOUDFLARE_RANGES } from '../../src/domain/ip.js';
import { judgeAddress, parseBody } from '../../src/ip/parse-body.js';
import { anyText, bytes, jsonValue, params } from './arbitraries.js';

const NOT_PUBLIC_V4 = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
];
const NOT_PUBLIC_V6 = [
  '::/128',
  '::1/128',
  '::ffff:0:0/96',
  '64:ff9b::/96',
  '100::/64',
  '2001::/32',
  '2001:db8::/32',
  '3fff::/20',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
];

// One list per family: a BlockList matches IPv4 addresses against IPv4-mapped IPv6 rules too.
const blockedV4 = new BlockList();
const blockedV6 = new BlockList();
for (const cidr of [
  ...NOT_PUBLIC_V4,
  ...NOT_PUBLIC_V6,
  ...CLOUDFLARE_RANGES,
  '104.28.0.0/16',
  '2a09:bac0::/29',
]) {
  const [net, bits] = cidr.split('/');
  if (net!.includes(':')) blockedV6.addSubnet(net!, Number(bits), 'ipv6');
  else blockedV4.addSubnet(net!, Number(bits), 'ipv4');
}

/** Public by the oracle: of its family, outside every special range, and (IPv6) in 2000::/3. */
function isPublic(ip: string, family: 4 | 6): boolean {
  if (family === 4) return isIPv4(ip) && !blockedV4.check(ip, 'ipv4');
  if (!isIPv6(ip) || blockedV6.check(ip, 'ipv6')) return false;
  const first = Number.parseInt(canonicalV6(ip).split(':')[0] || '0', 16);
  return first >= 0x2000 && first <= 0x3fff;
}

/** RFC 5952 form, by the WHATWG URL parser (same compression rules for global unicast addresses). */
function canonicalV6(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

const HOST = 'cloudflare.com';

const address = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.constantFrom(
    '10.1.2.3',
    '100.64.0.1',
    '127.0.0.1',
    '169.254.1.1',
    '192.0.2.1',
    '0.0.0.0',
    '255.255.255.255',
    '104.28.1.1',
    '1.1.1.1',
    '::',
    '::1',
    'fe80::1',
    'fe80::1%eth0',
    'fd00::1',
    '::ffff:8.8.8.8',
    '::ffff:10.0.0.1',
    '2001:db8::1',
    '2606:4700::1',
    '64:ff9b::808:808',
    '[2a00:1450::1]',
    '8.8.8.8/32',
    '008.008.008.008',
    '8.8.8',
    '0x8.8.8.8',
    '2a00:1450:4001:82a::200e',
    '8.8.8.8:443',
  ),
);

const traceBody = fc
  .record({
    lines: fc.array(fc.tuple(fc.stringMatching(/^[a-z_]{1,8}$/), anyText(16)), { maxLength: 4 }),
    ip: fc.option(address, { nil: undefined }),
    h: fc.option(
      fc.oneof(fc.constantFrom(HOST, 'CLOUDFLARE.COM.', '[cloudflare.com]', 'evil.example'), anyText(10)),
      { nil: undefined },
    ),
    warp: fc.option(fc.constantFrom('on', 'off', 'plus', 'ON'), { nil: undefined }),
    gateway: fc.option(fc.constantFrom('on', 'off'), { nil: undefined }),
    crlf: fc.boolean(),
  })
  .map(({ lines, ip, h, warp, gateway, crlf }) => {
    const all = lines.map(([k, v]) => `${k}=${v}`);
    if (h !== undefined) all.push(`h=${h}`);
    if (ip !== undefined) all.push(`ip=${ip}`);
    if (warp !== undefined) all.push(`warp=${warp}`);
    if (gateway !== undefined) all.push(`gateway=${gateway}`);
    return all.join(crlf ? '\r\n' : '\n');
  });

const body = fc.oneof(
  address.map((a) => `${a}\n`),
  fc
    .tuple(fc.constantFrom('', ' ', '\uFEFF', '\n\n'), address, fc.constantFrom('', '\n', ' \r\n'))
    .map((p) => p.join('')),
  traceBody,
  fc.oneof(address, jsonValue(1)).map((ip) => JSON.stringify({ ip, country: 'NL' })),
  jsonValue(3).map((v) => JSON.stringify(v) ?? ''),
  anyText(200),
  bytes(512).map((b) => b.toString('utf8')),
  fc.constantFrom(
    '<!DOCTYPE html><title>Captive portal</title>',
    '<html><body>Login</body></html>',
    'error code: 1034',
    '',
  ),
);

describe('IP source answers (property)', () => {
  it('any/body text, either family/a public address of that family, or a rejection with a reason', () => {
    const seen = { accepted: 0, refused: 0 };
    fc.assert(
      fc.property(body, fc.constantFrom<4 | 6>(4, 6), (text, family) => {
        const parsed = parseBody(text, { host: HOST }); // a throw fails the property
        if (!parsed.ok) {
          expect(parsed.reason.trim().length).toBeGreaterThan(0);
          expect([undefined, 'warp']).toContain(parsed.kind);
          seen.refused++;
          return;
        }
        expect([4, 6]).toContain(parsed.ip.family);
        const judged = judgeAddress(parsed.ip, family);
        if (!judged.ok) {
          expect(['wrong_family', 'cgnat', 'cloudflare', 'not_global']).toContain(judged.kind);
          expect(judged.reason.trim().length).toBeGreaterThan(0);
          return;
        }
        expect(isPublic(judged.ip, family)).toBe(true);
        seen.accepted++;
      }),
      params(5000),
    );
    expect(seen.accepted).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });

  it('public address/bare, JSON or trace/is read back exactly', () => {
    const v4 = fc.array(fc.nat(255), { minLength: 4, maxLength: 4 }).map((b) => b.join('.'));
    const v6 = fc
      .tuple(
        fc.integer({ min: 0x2000, max: 0x3fff }),
        fc.array(fc.nat(0xffff), { minLength: 7, maxLength: 7 }),
      )
      .map(([first, rest]) => canonicalV6([first, ...rest].map((g) => g.toString(16)).join(':')));
    const publicAddress = fc
      .oneof(fc.tuple(fc.constant<4 | 6>(4), v4), fc.tuple(fc.constant<4 | 6>(6), v6))
      .filter(([f, a]) => isPublic(a, f));
    fc.assert(
      fc.property(publicAddress, fc.constantFrom('bare', 'json', 'trace'), ([family, ip], format) => {
        const text =
          format === 'bare'
            ? `${ip}\n`
            : format === 'json'
              ? JSON.stringify({ ip })
              : `fl=1f1\nh=${HOST}\nip=${ip}\nts=1.0\nwarp=off\n`;
        const parsed = parseBody(text, { host: HOST });
        expect(parsed.ok).toBe(true);
        if (!parsed.ok) return;
        const judged = judgeAddress(parsed.ip, family);
        expect(judged).toEqual({ ok: true, ip: family === 4 ? ip : canonicalV6(ip) });
      }),
      params(1000),
    );
  });

  it('trace/warp=on or gateway=on/vetoes the answer whatever its address', () => {
    fc.assert(
      fc.property(address, fc.constantFrom('warp=on', 'warp=plus', 'gateway=on', 'WARP=ON'), (ip, flag) => {
        const parsed = parseBody(`h=${HOST}\nip=${ip}\n${flag}\n`, { host: HOST });
        expect(parsed).toMatchObject({ ok: false, kind: 'warp' });
      }),
      params(300),
    );
  });
});
