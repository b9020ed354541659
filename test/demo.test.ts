/**
 * `ddns-watchdog demo` as a newcomer runs it: the built executable (dist/bin.js, built by `npm
 * test`) tells its story — records created, the IP changes and DNS follows, the WAN drops, the plug
 * cycles the router, the WAN comes back with a new IP and DNS follows — in order, exits 0, and takes
 * under a minute. `--forever` keeps the world up for Home Assistant / Node-RED until Ctrl+C. The
 * child runs under a network guard (--import) that reports any connection or name lookup beyond
 * loopback. The configuration the demo builds names only loopback endpoints, and the demo refuses
 * to start when its configuration names anything else.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock.js';
import type { Config } from '../src/config/schema.js';
import { DEMO_CA_CERT } from '../src/demo/certs.js';
import { buildDemoConfig, DEMO_RECORDS, nonLoopbackProblems } from '../src/demo/config.js';
import { startDemoWorld } from '../src/demo/world.js';
import { runDemo } from '../src/demo.js';
import { TcpProbe } from '../src/probes/tcp.js';
import { TlsProbe } from '../src/probes/tls.js';
import { runBin, waitForOutput } from './helpers/run-bin.js';

/**
 * Loaded into the demo's process before anything else: any TCP/TLS connection, UDP send or name
 * lookup that is not loopback is written to stderr as `NETWORK RULE:` and refused.
 */
const GUARD = `
import net from 'node:net';
import dgram from 'node:dgram';
import dns from 'node:dns';
const loopback = (h) => {
  const s = String(h).replace(/^\\[|\\]$/g, '');
  return s === 'localhost' || s === '::1' || s.startsWith('127.') || s.startsWith('::ffff:127.');
};
const refuse = (what) => {
  process.stderr.write('NETWORK RULE: ' + what + '\\n');
  throw new Error('network rule: ' + what);
};
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const list = Array.isArray(args[0]) ? args[0] : args;
  const first = list[0];
  let host = null;
  if (typeof first === 'object' && first !== null) host = typeof first.path === 'string' ? null : (first.host ?? 'localhost');
  else if (!(typeof first === 'string' && Number.isNaN(Number(first)))) host = typeof list[1] === 'string' ? list[1] : 'localhost';
  if (host !== null && !loopback(host)) refuse('connection to ' + host);
  return connect.apply(this, args);
};
const send = dgram.Socket.prototype.send;
dgram.Socket.prototype.send = function (...args) {
  const address = args.find((a, i) => i > 0 && typeof a === 'string');
  if (address !== undefined && !loopback(address)) refuse('UDP to ' + address);
  return send.apply(this, args);
};
const lookup = dns.lookup;
dns.lookup = function (name, ...rest) {
  if (!loopback(name)) refuse('name lookup of ' + name);
  return lookup.call(this, name, ...rest);
};
`;

let guardFile: string;
const temps: string[] = [];
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ddnsw-demo-guard-'));
  temps.push(dir);
  guardFile = join(dir, 'network-guard.mjs');
  await writeFile(guardFile, GUARD);
});
afterAll(async () => {
  await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })));
});

/** A loopback-only environment with its own temp folder (to see the demo leave nothing behind). */
async function demoEnv(): Promise<{ env: NodeJS.ProcessEnv; tmp: string }> {
  const tmp = await mkdtemp(join(tmpdir(), 'ddnsw-demo-tmp-'));
  temps.push(tmp);
  return { env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmp, NO_COLOR: '1' }, tmp };
}

const IP = String.raw`(\d+\.\d+\.\d+\.\d+)`;

/** Finds each step's line after the previous one; returns the matches, in order. */
function inOrder(lines: readonly string[], steps: ReadonlyArray<[string, RegExp]>): RegExpExecArray[] {
  const found: RegExpExecArray[] = [];
  let from = 0;
  for (const [name, pattern] of steps) {
    const at = lines.findIndex((l, i) => i >= from && pattern.test(l));
    expect(
      at,
      `step "${name}" (${pattern}) after line ${from} of:\n${lines.join('\n')}`,
    ).toBeGreaterThanOrEqual(0);
    found.push(pattern.exec(lines[at]!)!);
    from = at + 1;
  }
  return found;
}

describe.concurrent('ddns-watchdog demo', () => {
  it('tells the story in order (records created, IP changed → DNS updated, WAN down, power cycle started and finished, DNS updated to the new IP, WAN restored), exits 0 in under a minute, nothing beyond loopback, no state left behind', async () => {
    const { env, tmp } = await demoEnv();
    const r = await runBin(['demo'], env, { nodeArgs: ['--import', guardFile] });
    expect(r.stderr).not.toContain('NETWORK RULE');
    expect(r.code, `stderr:\n${r.stderr}\nstdout:\n${r.stdout}`).toBe(0);
    expect(r.ms).toBeLessThan(60_000);

    const lines = r.stdout.split('\n');
    const [created, , changed, updated, , , , , resynced, restored] = inOrder(lines, [
      ['records created', new RegExp(`agent +DNS updated: created home\\.example\\.com A → ${IP}`)],
      ['second record created', new RegExp(`agent +DNS updated: created vpn\\.example\\.com A → ${IP}`)],
      ['IP changed', new RegExp(`agent +IP changed: public IPv4 ${IP} → ${IP}`)],
      ['DNS updated', new RegExp(`agent +DNS updated: home\\.example\\.com A ${IP} → ${IP}`)],
      ['WAN down', /agent +WAN down/],
      ['power cycle started', /agent +power cycle started: tasmota/],
      ['power cycle finished', /agent +power cycle finished: the plug is back on/],
      ['new address after the reboot', new RegExp(`world +the line is up: .* new address, ${IP}`)],
      // The first probe round that reaches the internet after the cycle syncs DNS; `WAN restored`
      // comes when the router's boot grace ends.
      ['DNS updated to the new IP', new RegExp(`agent +DNS updated: home\\.example\\.com A ${IP} → ${IP}`)],
      ['WAN restored', /agent +WAN restored after \d+ s/],
    ]);
    const first = created![1]!;
    expect(changed![1]).toBe(first);
    const second = changed![2]!;
    expect(second).not.toBe(first);
    expect([updated![1], updated![2]]).toEqual([first, second]);
    expect(restored).toBeDefined();
    const third = lines.join('\n').match(new RegExp(`new address, ${IP}`))![1]!;
    expect(third).not.toBe(second);
    expect([resynced![1], resynced![2]]).toEqual([second, third]);
    expect(r.stdout).toMatch(
      new RegExp(`vpn\\.example\\.com A ${second.replace(/\./g, '\\.')} → ${third.replace(/\./g, '\\.')}`),
    );

    // The story's last word: both records in sync with the new address, one power cycle.
    const done = /── Done in ([\d.]+) s/.exec(r.stdout);
    expect(Number(done?.[1])).toBeLessThan(60);
    for (const name of DEMO_RECORDS) expect(r.stdout).toContain(`${name} A ${third} (in_sync)`);
    expect(r.stdout).toMatch(/power cycles: 1;/);
    expect(await readdir(tmp)).toEqual([]);
  }, 90_000);

  it('--forever: prints the broker, the status page and the topics, keeps running for Home Assistant (retained state and discovery, commands answered, /state served), and Ctrl+C stops it cleanly with exit 0', async () => {
    const { env, tmp } = await demoEnv();
    let child: ChildProcess | undefined;
    const done = runBin(['demo', '--forever'], env, {
      nodeArgs: ['--import', guardFile],
      onSpawn: (c) => {
        child = c;
      },
    });
    let stdout = '';
    child!.stdout!.on('data', (d) => {
      stdout += d;
    });
    await Promise.race([
      waitForOutput(child!.stdout!, /next WAN outage in about \d+ min/),
      done.then((r) => {
        throw new Error(`the demo ended before --forever began (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
      }),
    ]);
    const broker = /MQTT broker +(mqtt:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    const page = /status page +(http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)?.[1];
    expect(broker, stdout).toBeDefined();
    expect(page, stdout).toBeDefined();
    for (const topic of [
      'ddns-watchdog/state',
      'ddns-watchdog/event',
      'ddns-watchdog/command/',
      'homeassistant/device/ddns_watchdog_demo/config',
    ]) {
      expect(stdout).toContain(topic);
    }

    const client = await mqtt.connectAsync(broker!, { protocolVersion: 4, reconnectPeriod: 0 });
    try {
      const retained = new Map<string, string>();
      client.on('message', (topic, payload) => retained.set(topic, payload.toString()));
      await client.subscribeAsync(
        [
          'ddns-watchdog/state',
          'homeassistant/device/ddns_watchdog_demo/config',
          'ddns-watchdog/command/result',
        ],
        { qos: 1 },
      );
      await until(
        () =>
          retained.has('ddns-watchdog/state') &&
          retained.has('homeassistant/device/ddns_watchdog_demo/config'),
        'retained state and discovery',
      );
      const state = JSON.parse(retained.get('ddns-watchdog/state')!);
      expect(state).toMatchObject({ health: 'ready', recovery: { power_cycles_total: 1 } });
      const discovery = JSON.parse(retained.get('homeassistant/device/ddns_watchdog_demo/config')!);
      expect(discovery.device).toMatchObject({ name: 'DDNS Watchdog demo' });

      await client.publishAsync('ddns-watchdog/command/sync', 'PRESS', { qos: 1 });
      await until(() => retained.has('ddns-watchdog/command/result'), 'the sync command result');
      expect(JSON.parse(retained.get('ddns-watchdog/command/result')!)).toMatchObject({
        command: 'sync',
        ok: true,
      });

      const res = await fetch(`${page}state`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ health: 'ready', dns: { status: 'in_sync' } });
    } finally {
      await client.endAsync(true);
    }

    const t0 = Date.now();
    child!.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(stdout + r.stdout).toContain('Received SIGINT: stopping the demo');
    expect(r.stderr).not.toContain('NETWORK RULE');
    expect(await readdir(tmp)).toEqual([]);
  }, 90_000);
});

/** Resolves once `cond` holds (polled); fails naming `what` after `ms`. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the demo world and its configuration', () => {
  let config: Config;
  let world: Awaited<ReturnType<typeof startDemoWorld>>;
  beforeAll(async () => {
    world = await startDemoWorld({
      clock: systemClock,
      token: 'demo-test-token-0f1e2d3c4b5a',
      say: () => {},
    });
    config = await buildDemoConfig({
      cloudflareApiUrl: world.cloudflare.apiUrl,
      dohUrl: world.cloudflare.dohUrl,
      ipSources: world.ipEcho.urls,
      routerHost: world.router.host,
      routerPort: world.router.port,
      wanTargets: world.wan.targets,
      brokerPort: 41883,
      httpPort: 48080,
      stateDir: join(tmpdir(), 'ddnsw-demo-config'),
      token: 'demo-test-token-0f1e2d3c4b5a',
    });
  });
  afterAll(async () => {
    await world?.close();
  });

  it('names only loopback endpoints: Cloudflare, DoH, IP sources, router, WAN targets, the embedded broker, HTTP; no heartbeat, webhook or Home Assistant', () => {
    expect(nonLoopbackProblems(config)).toEqual([]);
    const loopbackUrl = /^http:\/\/127\.0\.0\.1:\d+\//;
    expect(config.cloudflare_api_url).toMatch(loopbackUrl);
    expect(config.doh_url).toMatch(loopbackUrl);
    expect(config.ip_sources).toHaveLength(3);
    for (const s of [...config.ip_sources, ...config.ip_sources_v6]) expect(s).toMatch(loopbackUrl);
    expect(config.router_host).toBe('127.0.0.1');
    expect(config.router_probe).toBe(`tcp:${world.router.port}`);
    expect(config.wan_targets).toHaveLength(3);
    for (const t of config.wan_targets) expect(t).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(config).toMatchObject({
      mqtt_url: '',
      embedded_broker_host: '127.0.0.1',
      embedded_broker_port: 41883,
      http_host: '127.0.0.1',
      http_port: 48080,
      plug_type: 'tasmota',
      mode: 'enforce',
    });
    for (const key of [
      'heartbeat_url',
      'webhook_url',
      'ha_url',
      'plug_url',
      'plug_on_url',
      'plug_off_url',
    ] as const) {
      expect(config[key], key).toBeUndefined();
    }
  });

  it("the world's router and WAN targets as the agent's own probes see them: powered, the router answers and each target completes TLS with the demo CA; unpowered, both time out (never refused)", async () => {
    const router = new TcpProbe({ host: world.router.host, port: world.router.port, refusedIsAlive: true });
    const targets = world.wan.targets.map((t) => {
      const [host, port] = t.split(':');
      return new TlsProbe({ host: host!, port: Number(port), ca: DEMO_CA_CERT });
    });
    const round = () => Promise.all([router, ...targets].map((p) => p.run(AbortSignal.timeout(400))));
    expect((await round()).map((r) => [r.ok, r.failure])).toEqual(Array(4).fill([true, null]));

    await world.router.powerOff();
    world.wan.up = false;
    try {
      expect((await round()).map((r) => [r.ok, r.failure])).toEqual(Array(4).fill([false, 'timeout']));
    } finally {
      await world.router.powerOn();
      world.wan.up = true;
    }
    expect((await round()).map((r) => [r.ok, r.failure])).toEqual(Array(4).fill([true, null]));
  });

  it('uses the compressed timings within the allowed ranges (the real loader accepted them)', () => {
    expect(config).toMatchObject({
      probe_interval_seconds: 1,
      wan_down_after_seconds: 10,
      power_off_seconds: 3,
      boot_grace_seconds: 5,
      interval_seconds: 5,
      jitter_seconds: 0,
      min_update_interval_seconds: 0,
      recovery_enabled: true,
    });
  });

  it.each<[string, Partial<Config>, RegExp]>([
    [
      'cloudflare_api_url/the real API',
      { cloudflare_api_url: 'https://api.cloudflare.com/client/v4' },
      /^cloudflare_api_url: https:\/\/api\.cloudflare\.com is not on loopback/,
    ],
    [
      'cloudflare_api_url/a host name, even localhost',
      { cloudflare_api_url: 'http://localhost:1/client/v4' },
      /^cloudflare_api_url: /,
    ],
    ['doh_url/a public resolver', { doh_url: 'https://cloudflare-dns.com/dns-query' }, /^doh_url: /],
    [
      'ip_sources/a public echo service',
      { ip_sources: ['http://127.0.0.1:1/', 'https://api.ipify.org'] },
      /^ip_sources: https:\/\/api\.ipify\.org/,
    ],
    [
      "ip_sources/this host's own addresses",
      { ip_sources: ['local'] },
      /^ip_sources: local reads this host's own addresses/,
    ],
    [
      'ip_sources_v6/a public echo service',
      { ip_sources_v6: ['https://api6.ipify.org'] },
      /^ip_sources_v6: /,
    ],
    ['router_host/auto (the real gateway)', { router_host: undefined }, /^router_host: auto /],
    ['router_host/a LAN address', { router_host: '192.168.1.1' }, /^router_host: 192\.168\.1\.1/],
    ['wan_targets/a public IPv4 target', { wan_targets: ['1.1.1.1:443'] }, /^wan_targets: 1\.1\.1\.1:443/],
    ['wan_targets/a public IPv6 target', { wan_targets: ['[2606:4700:4700::1111]:443'] }, /^wan_targets: /],
    ['mqtt_url/an external broker', { mqtt_url: 'mqtt://192.168.1.10:1883' }, /^mqtt_url: /],
    ['embedded_broker_host/every interface', { embedded_broker_host: '0.0.0.0' }, /^embedded_broker_host: /],
    ['http_host/every interface', { http_host: '0.0.0.0' }, /^http_host: /],
    [
      'plug_type/a Shelly on the LAN',
      { plug_type: 'shelly', plug_url: 'http://192.168.1.50' },
      /^plug_type: shelly/,
    ],
    [
      'heartbeat_url/set',
      { heartbeat_url: 'https://hc-ping.com/0000-secret' },
      /^heartbeat_url: is set \(https:\/\/hc-ping\.com\)/,
    ],
    ['webhook_url/set', { webhook_url: 'https://example.com/hook' }, /^webhook_url: /],
    ['ha_url/set', { ha_url: 'http://homeassistant.local:8123' }, /^ha_url: /],
  ])('refused/%s', (_name, change, problem) => {
    const problems = nonLoopbackProblems({ ...config, ...change });
    expect(
      problems.some((p) => problem.test(p)),
      problems.join('\n'),
    ).toBe(true);
    expect(problems.join('\n')).not.toContain('0000-secret');
  });

  it('the demo refuses to start when its configuration names anything beyond loopback: exit 2, the key named, nothing started', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runDemo({
      env: {},
      write: (t) => out.push(t),
      writeError: (t) => err.push(t),
      overrides: { webhook_url: 'https://example.com/hook/0000-secret', wan_targets: ['8.8.8.8:443'] },
    });
    expect(code).toBe(2);
    expect(err.join('')).toMatch(/The demo refused to start/);
    expect(err.join('')).toMatch(/webhook_url: is set \(https:\/\/example\.com\)/);
    expect(err.join('')).toMatch(/wan_targets: 8\.8\.8\.8:443 is not on loopback/);
    expect(err.join('')).not.toContain('0000-secret');
    expect(out.join('')).toBe(''); // no banner, no timeline: the agent was never built
  });
});
