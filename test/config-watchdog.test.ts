/**
 * Watchdog keys that validate one by one but together cannot do what the docs say: a WAN target
 * that is the router itself answers whenever the router does, so health could never be wan_down
 * and recovery would never act.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/schema.js';

const CTX = { addon: false, isTTY: false } as const;

function problems(raw: Record<string, unknown>, origins?: Record<string, string>): string[] {
  const result = parseConfig(raw, { ...CTX, origins });
  return result.ok ? [] : result.problems;
}

describe('router_host among the wan_targets', () => {
  it.each([
    ['ipv4/same text', '192.168.1.1', '1.1.1.1:443, 192.168.1.1:443', 1, "'192.168.1.1:443'"],
    ['ipv4/router_host in brackets', '[192.168.1.1]', '192.168.1.1:80', 0, "'192.168.1.1:80'"],
    ['ipv6/other spelling', '[FE80:0:0::1]', '[fe80::1]:443', 0, "'[fe80::1]:443'"],
    [
      'ipv6/unbracketed router_host',
      '2001:db8::1',
      '[2001:DB8:0:0:0:0:0:1]:443',
      0,
      "'[2001:DB8:0:0:0:0:0:1]:443'",
    ],
    ['ipv4-mapped/target', '192.168.1.1', '[::ffff:192.168.1.1]:443', 0, "'[::ffff:192.168.1.1]:443'"],
  ])('%s/refused naming the target and what to probe instead', (_name, router, targets, index, shown) => {
    expect(problems({ router_host: router, wan_targets: targets })).toEqual([
      `wan_targets[${index}]: ${shown} is the router itself (router_host), so the WAN could never be seen down while the router answers — probe addresses beyond the router, e.g. 1.1.1.1:443`,
    ]);
  });

  it('env/names the variables', () => {
    const found = problems(
      { router_host: '10.0.0.1', wan_targets: '10.0.0.1:443' },
      { router_host: 'ROUTER_HOST', wan_targets: 'WAN_TARGETS' },
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^wan_targets\[0\] \(WAN_TARGETS\): '10\.0\.0\.1:443' is the router itself/);
  });

  it('each such target/one line each', () => {
    expect(problems({ router_host: '10.0.0.1', wan_targets: '10.0.0.1:443, 10.0.0.1:80' })).toHaveLength(2);
  });

  it.each([
    ['different address', { router_host: '192.168.1.1', wan_targets: '192.168.1.10:443' }],
    ['router probes off', { router_host: 'none', wan_targets: '192.168.1.1:443' }],
    ['router_host auto', { router_host: 'auto', wan_targets: '192.168.1.1:443' }],
    ['router_host unset', { wan_targets: '192.168.1.1:443' }],
    ['same digits, other family', { router_host: '::1', wan_targets: '0.0.0.1:443' }],
  ])('%s/accepted', (_name, raw) => {
    expect(problems(raw)).toEqual([]);
  });
});

describe('loopback: the demo and the test worlds, a port per simulated host', () => {
  it.each([
    ['ipv4', { router_host: '127.0.0.1', router_probe: 'tcp:8081', wan_targets: '127.0.0.1:8443' }],
    ['ipv4/icmp', { router_host: '127.0.0.1', wan_targets: '127.0.0.1:8443' }],
    ['ipv6', { router_host: '::1', wan_targets: '[::1]:8443' }],
  ])('%s/accepted', (_name, raw) => {
    expect(problems(raw)).toEqual([]);
  });
});
