/**
 * The router/WAN watchdog inside the running agent, end to end on loopback: an in-process broker, a
 * router (a TCP server), three WAN targets (TLS with a test CA, switched up/down), a fake Tasmota
 * plug on the broker, the fake Cloudflare, and a Home Assistant stand-in subscribed to everything.
 * Time is the manual clock: each probe round is one step of 15 s.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_REBOOT } from '../src/commands.js';
import { HEALTH_STATES } from '../src/domain/health.js';
import { EVENT_TYPES } from '../src/events.js';
import { DNS_STATUS_VALUES } from '../src/status.js';
import { ManualClock } from './fakes/clock.js';
import { FakeHttpPlug } from './fakes/http-plug.js';
import { startFakeSupervisor } from './fakes/supervisor.js';
import { makeTestPki, type TestPki } from './fakes/tls-server.js';
import { checkDiscovery, checkStateDocument } from './ha/discovery-rules.js';
import { makeWatchdogWorld, PLUG_TOPIC, until, type WatchdogWorld } from './helpers/world.js';

const DISCOVERY = 'homeassistant/device/ddns_watchdog/config';
const RULES = {
  discoveryPrefix: 'homeassistant',
  nodeId: 'ddns_watchdog',
  baseTopic: 'ddns-watchdog',
  publishedValues: { health: HEALTH_STATES, dnsStatus: DNS_STATUS_VALUES },
  eventTypes: EVENT_TYPES,
};

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function world(o: Parameters<typeof makeWatchdogWorld>[1] = {}): Promise<WatchdogWorld> {
  const w = await makeWatchdogWorld(pki, o);
  cleanups.push(() => w.close());
  return w;
}

const types = (w: WatchdogWorld) => w.obs.events().map((e) => e.type);
const backlogs = (w: WatchdogWorld) =>
  w.tasmota.commands.filter((c) => c.command.toLowerCase() === 'backlog');

/** Up to health ready: two good rounds. */
async function ready(w: WatchdogWorld): Promise<void> {
  await w.roundsUntil(() => w.agent.watchdog?.health === 'ready', 'health ready', 4);
  await w.obs.waitFor(
    () => w.obs.on('ddns-watchdog/state').length > 0 && w.obs.state().health === 'ready',
    'the ready state on MQTT',
  );
}

describe('the watchdog in the running agent', () => {
  it('discovery announces the watchdog entities and a trigger per event type, and passes the rule checks; health goes ready and the state carries probes, uptime and recovery', async () => {
    const w = await world();
    await w.obs.waitFor(() => w.obs.on(DISCOVERY).length > 0, 'discovery');
    const payload = JSON.parse(w.obs.on(DISCOVERY).at(-1)!.payload);
    expect(checkDiscovery(DISCOVERY, payload, RULES)).toEqual([]);
    const keys = Object.keys(payload.components);
    for (const key of ['health', 'router', 'internet', 'probe', 'recovery', 'power_cycles', 'reboot']) {
      expect(keys).toContain(`ddns_watchdog_${key}`);
    }
    for (const type of EVENT_TYPES) expect(keys).toContain(`ddns_watchdog_event_${type}`);

    await ready(w);
    // Availability counts observed time in ready: one more round of it.
    await w.rounds(1);
    await w.obs.waitFor(
      () => (w.obs.state().uptime as { availability_24h: unknown }).availability_24h === 100,
      'availability on MQTT',
    );
    const state = w.obs.state();
    expect(checkStateDocument(state)).toEqual([]);
    expect(state).toMatchObject({
      health: 'ready',
      probes: { router: { ok: true, failure: null }, wan: { ok: true, failure: null } },
      recovery: { enabled: true, power_cycles_total: 0, budget_remaining: 3 },
      uptime: { ready_since: expect.stringMatching(/^2026-/), availability_24h: 100 },
    });
    expect((state.probes as { wan: { latency_ms: unknown } }).wan.latency_ms).toEqual(expect.any(Number));
    // Every health change is published at once, not only with DNS cycles (the DNS loop runs hourly).
    expect(w.agent.scheduler.cycles).toBe(1);
    expect(w.obs.events()).toContainEqual(
      expect.objectContaining({ type: 'health_changed', from: 'probing', to: 'ready' }),
    );
  });

  it('WAN down long enough → the Tasmota gets one Backlog (not retained), power_cycle_started/finished on MQTT; WAN back → a DNS cycle at once writes the new IP', async () => {
    const w = await world();
    await ready(w);
    w.setWan('down');
    w.setIp('81.2.69.201'); // the ISP hands out a new address while the line is down
    await w.roundsUntil(() => backlogs(w).length > 0, 'the Backlog to the plug');
    expect(backlogs(w).map((c) => c.payload)).toEqual(['Power Off; Delay 300; Power On']);
    const sent = w.broker.on((t) => t.startsWith(`cmnd/${PLUG_TOPIC}/`));
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((p) => !p.retain)).toBe(true);
    await w.obs.waitFor(() => types(w).includes('power_cycle_started'), 'power_cycle_started on MQTT');
    expect(types(w)).toContain('wan_down');
    expect(w.obs.state().health).toBe('recovering');

    await w.roundsUntil(() => types(w).includes('power_cycle_finished'), 'power_cycle_finished', 6);
    expect(w.tasmota.relay.on).toBe(true);
    expect(w.tasmota.relay.offSpansMs()).toEqual([30_000]);
    expect(w.obs.events().find((e) => e.type === 'power_cycle_finished')).toMatchObject({ ok: true });

    w.setWan('up');
    await w.roundsUntil(() => types(w).includes('wan_restored'), 'wan_restored');
    // The DNS loop only runs hourly: this cycle is the one the WAN's return triggered.
    await until(
      () => w.agent.state.state.dns.records['home.example.com/A']?.content === '81.2.69.201',
      'the new IP written to Cloudflare',
    );
    expect(w.cf.requests.some((r) => r.method === 'PATCH' || r.path.endsWith('/batch'))).toBe(true);
    await until(
      () =>
        w.sink
          .lines()
          .some((l) => l.msg === 'DNS cycle finished' && String(l.reason).includes('wan restored')),
      'the DNS cycle for "wan restored"',
    );
    await w.obs.waitFor(() => w.obs.state().health === 'ready', 'ready again on MQTT');
    expect(w.obs.state()).toMatchObject({ recovery: { power_cycles_total: 1, budget_remaining: 2 } });
    expect(backlogs(w)).toHaveLength(1);
  });

  it('reboot: an empty payload is refused with the reason and switches nothing; PRESS cycles; PRESS again within 5 min is refused', async () => {
    const w = await world({ overrides: { recovery_enabled: false } });
    await ready(w);
    const empty = await w.obs.command('reboot', '');
    expect(empty).toEqual({ command: 'reboot', ok: false, message: EMPTY_REBOOT });
    expect(w.tasmota.commands).toEqual([]);

    const press = await w.obs.command('reboot', 'PRESS');
    expect(press).toMatchObject({
      command: 'reboot',
      ok: true,
      message: expect.stringMatching(/^power-cycling the router now/),
    });
    await until(() => backlogs(w).length === 1, 'the Backlog');
    expect(await w.obs.command('reboot', 'PRESS')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/a power cycle is already running/),
    });
    await w.roundsUntil(() => types(w).includes('power_cycle_finished'), 'the end of the cycle', 6);
    expect(await w.obs.command('reboot', '{"off_seconds":10}')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/router gets at least 5 min to boot — try again in/),
    });
    expect(backlogs(w)).toHaveLength(1);
  });

  it('probe: a round runs now and its findings are the answer', async () => {
    const w = await world();
    await ready(w);
    const before = w.agent.watchdog!.rounds;
    const r = await w.obs.command('probe', 'PRESS');
    expect(r).toMatchObject({
      ok: true,
      message: expect.stringMatching(
        /^probe round done: health ready; router answered in .* ms; WAN: 3 of 3 targets answered/,
      ),
    });
    expect(w.agent.watchdog!.rounds).toBe(before + 1);
  });

  it('recovery OFF persists across a restart (it overrides recovery_enabled: true)', async () => {
    const w = await world();
    await ready(w);
    expect(await w.obs.command('recovery', 'OFF')).toMatchObject({
      ok: true,
      message: expect.stringMatching(/^Auto recovery is off/),
    });
    await w.obs.waitFor(
      () => (w.obs.state().recovery as { enabled: boolean }).enabled === false,
      'recovery off on MQTT',
    );

    const agent = await w.restart();
    expect(w.config.recovery_enabled).toBe(true);
    await agent.start();
    await until(() => (agent.watchdog?.rounds ?? 0) >= 1, 'the first round after the restart');
    expect(agent.status().recovery.enabled).toBe(false);
    // And it acts on it: a long outage brings no power cycle.
    w.setWan('down');
    await w.rounds(12);
    expect(backlogs(w)).toEqual([]);
    expect(agent.status().health).toBe('wan_down');
  });

  it('no Cloudflare token: DNS runs in dry-run, but the watchdog still power-cycles', async () => {
    const w = await world({ token: null });
    expect(w.config.mode).toBe('dry-run');
    await ready(w);
    w.setWan('down');
    await w.roundsUntil(() => backlogs(w).length > 0, 'the Backlog to the plug');
    expect(w.obs.state().dns).toMatchObject({ status: 'dry_run' });
  });

  it('mode: dry-run set by the user: recovery only says what it would do', async () => {
    const w = await world({ overrides: { mode: 'dry-run', mode_explicit: true } });
    await ready(w);
    w.setWan('down');
    await w.roundsUntil(() => types(w).includes('power_cycle_skipped'), 'power_cycle_skipped');
    expect(w.obs.events().find((e) => e.type === 'power_cycle_skipped')).toMatchObject({
      reason: expect.stringMatching(/would power-cycle/),
    });
    expect(w.tasmota.commands).toEqual([]);
  });

  it('a stop during an agent-timed cycle switches the plug on before offline is published', async () => {
    const plug = await FakeHttpPlug.start(new ManualClock());
    cleanups.push(() => plug.close());
    const w = await world({
      overrides: {
        plug_type: 'http',
        plug_off_url: `${plug.url}/relay?turn=off`,
        plug_on_url: `${plug.url}/relay?turn=on`,
        power_off_seconds: 600,
      },
    });
    await ready(w);
    expect((await w.obs.command('reboot', 'PRESS')).ok).toBe(true);
    expect(plug.commands()).toEqual(['off']);
    await w.agent.stop({ graceMs: 0 });
    expect(plug.commands()).toEqual(['off', 'on']);
    expect(plug.ison).toBe(true);
    await w.obs.waitFor(
      () => w.obs.on('ddns-watchdog/availability').at(-1)?.payload === 'offline',
      'offline',
    );
    expect(w.agent.state.state.recovery?.current ?? null).toBeNull();
  });
});

describe('router_host: the default gateway', () => {
  it('auto from the routing table: the gateway is probed and said once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'route-'));
    const table = join(dir, 'route');
    await writeFile(
      table,
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n' +
        'eth0\t00000000\t0100007F\t0003\t0\t0\t100\t00000000\t0\t0\t0\n',
    );
    const w = await world({
      overrides: { router_host: undefined },
      agent: { probes: { ca: pki.ca, routeTablePath: table, inContainer: false } },
    });
    await ready(w);
    expect(w.obs.state()).toMatchObject({ probes: { router: { ok: true } } });
    const said = w.sink.lines().filter((l) => String(l.msg).startsWith('Probing the router at 127.0.0.1'));
    expect(said).toHaveLength(1);
    expect(said[0]!.msg).toMatch(/the default gateway from the routing table \(eth0\)/);
  });

  it('auto in the add-on, the Supervisor cannot tell: no router probe, said once with what to set; the WAN is still probed', async () => {
    const sup = await startFakeSupervisor();
    cleanups.push(() => sup.close());
    const w = await world({
      overrides: { router_host: undefined },
      agent: { env: { SUPERVISOR_TOKEN: 'supervisor-token-123', SUPERVISOR_URL: sup.url } },
    });
    await w.rounds(2);
    expect(sup.requests.map((r) => r.path)).toContain('/network/info');
    const said = w.sink.lines().filter((l) => String(l.msg).startsWith('The router probe is off'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatchObject({
      level: 'warn',
      msg: expect.stringMatching(/Set router_host to the router's IP address/),
    });
    expect(w.agent.status().probes).toMatchObject({ router: { ok: null }, wan: { ok: true } });
  });
});
