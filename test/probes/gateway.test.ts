import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  containerBridgeOf,
  type DefaultRoute,
  hexToIpv4,
  parseProcNetRoute,
  type RouterHostResolution,
  resolveRouterHost,
  routerFromRouteTable,
  routerFromSupervisor,
} from '../../src/probes/gateway.js';
import type { SupervisorNetworkInfo } from '../../src/supervisor.js';

const HEADER = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT';
const row = (iface: string, dest: string, gw: string, flags: string, metric: number, mask: string) =>
  `${iface}\t${dest}\t${gw}\t${flags}\t0\t0\t${metric}\t${mask}\t0\t0\t0`;
const table = (...rows: string[]) => `${[HEADER, ...rows].join('\n')}\n`;

const HOME = table(
  row('eth0', '00000000', '0101A8C0', '0003', 100, '00000000'),
  row('eth0', '0001A8C0', '00000000', '0001', 100, '00FFFFFF'),
);

describe('hexToIpv4', () => {
  it.each([
    ['little-endian/router', '0101A8C0', true, '192.168.1.1'],
    ['little-endian/fritzbox', '01B2A8C0', true, '192.168.178.1'],
    ['big-endian host', 'C0A80101', false, '192.168.1.1'],
    ['lower case', '0101a8c0', true, '192.168.1.1'],
    ['too short', '0101A8C', true, null],
    ['not hex', '0101A8CZ', true, null],
  ])('%s', (_name, hex, le, expected) => {
    expect(hexToIpv4(hex, le)).toBe(expected);
  });
});

describe('parseProcNetRoute', () => {
  const cases: Array<[string, string, DefaultRoute | null]> = [
    ['home/one default route', HOME, { iface: 'eth0', gateway: '192.168.1.1', metric: 100 }],
    [
      'two defaults/lowest metric wins',
      table(
        row('wlan0', '00000000', '0100000A', '0003', 600, '00000000'),
        row('eth0', '00000000', '0101A8C0', '0003', 100, '00000000'),
      ),
      { iface: 'eth0', gateway: '192.168.1.1', metric: 100 },
    ],
    ['default route down/skipped', table(row('eth0', '00000000', '0101A8C0', '0002', 100, '00000000')), null],
    [
      'default without gateway flag/skipped (point-to-point)',
      table(row('ppp0', '00000000', '00000000', '0001', 0, '00000000')),
      null,
    ],
    ['no default route/null', table(row('eth0', '0001A8C0', '00000000', '0001', 0, '00FFFFFF')), null],
    ['empty table/null', table(), null],
    ['not the route table/null', 'hello\nworld\n', null],
    ['empty file/null', '', null],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(parseProcNetRoute(text)).toEqual(expected);
  });
});

describe('containerBridgeOf', () => {
  it.each([
    ['docker0/always', '172.17.0.1', false, "Docker's default bridge 172.17.0.0/16"],
    ['hassio/always', '172.30.32.1', false, "the Supervisor's hassio network 172.30.32.0/23"],
    ['hassio upper half', '172.30.33.254', false, "the Supervisor's hassio network 172.30.32.0/23"],
    ['just past hassio/a router outside a container', '172.30.34.1', false, null],
    ['compose network/outside a container: a router', '172.18.0.1', false, null],
    [
      'compose network/inside a container: a bridge',
      '172.18.0.1',
      true,
      expect.stringContaining('Docker network'),
    ],
    ['172.31/inside a container: a bridge', '172.31.0.1', true, expect.stringContaining('Docker network')],
    ['172.16/inside a container: a router', '172.16.0.1', true, null],
    ['home router', '192.168.1.1', true, null],
    ['10/8 router', '10.0.0.1', true, null],
    ['not an address', 'router.lan', true, null],
  ])('%s', (_name, ip, inContainer, expected) => {
    expect(containerBridgeOf(ip, inContainer)).toEqual(expected);
  });
});

describe('routerFromRouteTable', () => {
  it('home: the gateway', () => {
    expect(routerFromRouteTable(HOME, { inContainer: false })).toEqual({
      kind: 'gateway',
      host: '192.168.1.1',
      source: 'routing_table',
      iface: 'eth0',
    });
  });

  it('container behind docker0: none, naming the bridge and router_host', () => {
    const r = routerFromRouteTable(table(row('eth0', '00000000', '010011AC', '0003', 0, '00000000')), {
      inContainer: true,
    });
    expect(r.kind).toBe('none');
    const message = (r as Extract<RouterHostResolution, { kind: 'none' }>).message;
    expect(message).toContain('172.17.0.1');
    expect(message).toContain("Docker's default bridge");
    expect(message).toContain("Set router_host to the router's IP address");
  });

  it('no default route: none', () => {
    expect(routerFromRouteTable(table(), { inContainer: false })).toMatchObject({
      kind: 'none',
      reason: 'the routing table (/proc/net/route) has no IPv4 default route',
    });
  });
});

const iface = (over: Partial<SupervisorNetworkInfo['interfaces'][number]>) => ({
  name: 'eth0',
  primary: false,
  connected: true,
  ipv4Gateway: null,
  ...over,
});
const info = (...interfaces: SupervisorNetworkInfo['interfaces']): SupervisorNetworkInfo => ({
  interfaces,
  docker: { address: '172.30.32.0/23', gateway: '172.30.32.1' },
});

describe('routerFromSupervisor', () => {
  it.each([
    [
      'primary/its gateway',
      info(
        iface({ name: 'wlan0', connected: true, ipv4Gateway: '10.0.0.1' }),
        iface({ name: 'eth0', primary: true, ipv4Gateway: '192.168.1.1' }),
      ),
      { kind: 'gateway', host: '192.168.1.1', source: 'supervisor', iface: 'eth0' },
    ],
    [
      'no primary/first connected with a gateway',
      info(
        iface({ name: 'eth0', connected: false, ipv4Gateway: '192.168.9.1' }),
        iface({ name: 'wlan0', connected: true, ipv4Gateway: '192.168.1.1' }),
      ),
      { kind: 'gateway', host: '192.168.1.1', source: 'supervisor', iface: 'wlan0' },
    ],
    [
      'primary without gateway/another interface',
      info(iface({ name: 'eth0', primary: true }), iface({ name: 'wlan0', ipv4Gateway: '192.168.1.1' })),
      { kind: 'gateway', host: '192.168.1.1', source: 'supervisor', iface: 'wlan0' },
    ],
    [
      'no gateway anywhere/none',
      info(iface({ primary: true })),
      {
        kind: 'none',
        reason: "the Supervisor's /network/info shows no IPv4 gateway on the host's interfaces",
      },
    ],
    [
      'IPv6 text in the IPv4 field/ignored',
      info(iface({ primary: true, ipv4Gateway: 'fe80::1' })),
      { kind: 'none' },
    ],
    [
      'host gateway in the hassio network/refused',
      info(iface({ primary: true, ipv4Gateway: '172.30.32.1' })),
      { kind: 'none' },
    ],
  ])('%s', (_name, given, expected) => {
    expect(routerFromSupervisor(given)).toMatchObject(expected);
  });
});

describe('resolveRouterHost outside the add-on', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'route-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('router_host set: taken as is, nothing read', async () => {
    expect(
      await resolveRouterHost({ configured: '10.1.1.1', env: {}, routeTablePath: '/nonexistent' }),
    ).toEqual({
      kind: 'configured',
      host: '10.1.1.1',
    });
    expect(await resolveRouterHost({ configured: '', env: {} })).toEqual({ kind: 'configured', host: '' });
  });

  it('unset: the routing table’s gateway', async () => {
    const path = join(dir, 'route-home');
    await writeFile(path, HOME);
    expect(
      await resolveRouterHost({ configured: undefined, env: {}, routeTablePath: path, inContainer: false }),
    ).toMatchObject({ kind: 'gateway', host: '192.168.1.1', source: 'routing_table' });
  });

  it('unset, in a compose network: none, saying to set router_host', async () => {
    const path = join(dir, 'route-compose');
    await writeFile(path, table(row('eth0', '00000000', '010012AC', '0003', 0, '00000000')));
    const r = await resolveRouterHost({
      configured: undefined,
      env: {},
      routeTablePath: path,
      inContainer: true,
    });
    expect(r).toMatchObject({ kind: 'none' });
    expect((r as { message: string }).message).toMatch(/172\.18\.0\.1 .*Set router_host/);
  });

  it('unset, no routing table (not Linux): none with the reason', async () => {
    const r = await resolveRouterHost({
      configured: undefined,
      env: {},
      routeTablePath: join(dir, 'missing'),
    });
    expect(r).toMatchObject({ kind: 'none', reason: expect.stringContaining('could not be read (ENOENT') });
  });
});
