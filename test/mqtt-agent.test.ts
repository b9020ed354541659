/**
 * The agent on MQTT, end to end: an in-process aedes broker on 127.0.0.1 (port 0), the agent
 * wired to the loopback fake Cloudflare and IP services, and a real mqtt.js client standing in
 * for Home Assistant / Node-RED. Real Mosquitto is used for MQTT 5 request/response.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { HEALTH_STATES } from '../src/domain/health.js';
import { EVENT_TYPES } from '../src/events.js';
import { startEmbeddedBroker } from '../src/mqtt/broker.js';
import { DNS_STATUS_VALUES } from '../src/status.js';
import { mosquittoAvailable, startMosquitto } from './fakes/mosquitto.js';
import { checkDiscovery, checkStateDocument } from './ha/discovery-rules.js';
import { BIN, loopbackEnv } from './helpers/env.js';
import { logSink } from './helpers/log-sink.js';
import { freePort } from './helpers/net.js';
import { rawPublish } from './helpers/raw-mqtt.js';
import { makeWorld } from './helpers/world.js';

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
  correlationData?: Buffer;
}

class Observer {
  readonly seen: Seen[] = [];
  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.seen.push({
        topic,
        payload: payload.toString(),
        retain: packet.retain,
        at: Date.now(),
        ...(packet.properties?.correlationData ? { correlationData: packet.properties.correlationData } : {}),
      });
    });
  }

  static async connect(url: string, opts: mqtt.IClientOptions = {}): Promise<Observer> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, ...opts });
    const o = new Observer(client);
    await client.subscribeAsync('#', { qos: 1 });
    return o;
  }

  on(topic: string): Seen[] {
    return this.seen.filter((s) => s.topic === topic);
  }

  last(topic: string): Seen | undefined {
    const all = this.on(topic);
    return all[all.length - 1];
  }

  async waitFor(pred: (s: Seen) => boolean, ms = 8000, what = 'message'): Promise<Seen> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.seen.find(pred);
      if (hit) return hit;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out waiting for ${what}; saw topics: ${[...new Set(this.seen.map((s) => s.topic))].join(', ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async publish(topic: string, payload: string, opts: mqtt.IClientPublishOptions = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 1, ...opts });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

type BrokerKind = 'aedes' | 'mosquitto';
/** The core scenarios run against aedes always, and real Mosquitto when it is installed. */
const BROKERS: BrokerKind[] = mosquittoAvailable() ? ['aedes', 'mosquitto'] : ['aedes'];

async function broker(kind: BrokerKind = 'aedes'): Promise<{ url: string }> {
  if (kind === 'mosquitto') {
    const m = await startMosquitto();
    cleanups.push(() => m.stop());
    return { url: m.url };
  }
  const b = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: logSink().logger });
  cleanups.push(() => b.close());
  return b;
}

async function setup(kind: BrokerKind, options: Parameters<typeof makeWorld>[0] = {}) {
  const b = await broker(kind);
  const obs = await Observer.connect(b.url);
  cleanups.push(() => obs.close());
  const world = await makeWorld({
    records: ['home.example.com'],
    ...options,
    mqtt: { kind: 'url', url: b.url, source: 'config' },
  });
  cleanups.push(() => world.close());
  await world.agent.start();
  return { b, obs, world };
}

/** Waits until the agent's first DNS cycle has finished (so cycle counts start from a quiet agent). */
async function firstCycleDone(world: Awaited<ReturnType<typeof makeWorld>>): Promise<void> {
  const deadline = Date.now() + 8000;
  while (world.agent.lastCycle === null || world.agent.scheduler.running) {
    if (Date.now() > deadline) throw new Error("timed out waiting for the agent's first DNS cycle");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const DISCOVERY = 'homeassistant/device/ddns_watchdog/config';
const RULES = {
  discoveryPrefix: 'homeassistant',
  nodeId: 'ddns_watchdog',
  baseTopic: 'ddns-watchdog',
  publishedValues: { health: HEALTH_STATES, dnsStatus: DNS_STATUS_VALUES },
  // One device trigger per event type, the watchdog's included.
  eventTypes: EVENT_TYPES,
};

async function command(obs: Observer, name: string, payload: string, transaction?: string) {
  const before = obs.on('ddns-watchdog/command/result').length;
  await obs.publish(`ddns-watchdog/command/${name}`, payload);
  await obs.waitFor(
    () => obs.on('ddns-watchdog/command/result').length > before,
    10_000,
    `result of ${name}`,
  );
  const result = JSON.parse(obs.on('ddns-watchdog/command/result')[before]!.payload);
  if (transaction !== undefined) expect(result.transaction).toBe(transaction);
  return result;
}

describe.each(BROKERS)('agent on MQTT (%s)', (kind) => {
  it('publishes availability, a discovery config that passes every §6 rule, and a valid retained state', async () => {
    const { obs } = await setup(kind);
    await obs.waitFor((s) => s.topic === DISCOVERY, 5000, 'discovery');
    await obs.waitFor((s) => s.topic === 'ddns-watchdog/state', 5000, 'state');
    expect(obs.last('ddns-watchdog/availability')?.payload).toBe('online');
    const discovery = obs.last(DISCOVERY)!;
    const payload = JSON.parse(discovery.payload);
    expect(checkDiscovery(DISCOVERY, payload, RULES)).toEqual([]);
    expect(payload.device.name).toBe('DDNS Watchdog');
    expect(Object.keys(payload.components)).toContain('ddns_watchdog_public_ipv4');
    expect(Object.keys(payload.components)).not.toContain('ddns_watchdog_public_ipv6');
    // The router/WAN watchdog runs: its entities and triggers are announced; without a plug there
    // is no Reboot router button.
    expect(Object.keys(payload.components)).toEqual(
      expect.arrayContaining(
        ['health', 'router', 'internet', 'probe', 'recovery', 'power_cycles', 'event_wan_down'].map(
          (key) => `ddns_watchdog_${key}`,
        ),
      ),
    );
    expect(Object.keys(payload.components)).not.toContain('ddns_watchdog_reboot');
    expect(Object.keys(payload.components)).toEqual(
      expect.arrayContaining([
        'ddns_watchdog_dns_status',
        'ddns_watchdog_sync',
        'ddns_watchdog_event_ip_changed',
      ]),
    );
    const state = JSON.parse(obs.last('ddns-watchdog/state')!.payload);
    expect(checkStateDocument(state)).toEqual([]);

    // A late subscriber (Home Assistant restarting) gets all three as retained messages.
    const late = await Observer.connect(`mqtt://127.0.0.1:${obs.client.options.port}`);
    cleanups.push(() => late.close());
    await late.waitFor((s) => s.topic === DISCOVERY && s.retain, 3000, 'retained discovery');
    await late.waitFor((s) => s.topic === 'ddns-watchdog/state' && s.retain, 3000, 'retained state');
    await late.waitFor((s) => s.topic === 'ddns-watchdog/availability' && s.retain && s.payload === 'online');
  });

  it('sync command: result with the transaction echoed, events not retained, state updated', async () => {
    const { obs, world } = await setup(kind);
    await obs.waitFor((s) => s.topic === 'ddns-watchdog/state', 5000, 'state');
    world.setIp('81.2.69.177');
    const result = await command(obs, 'sync', '{"transaction":"tx-42"}', 'tx-42');
    expect(result).toEqual({
      command: 'sync',
      ok: true,
      message: 'DNS sync done: 1 change(s) made',
      transaction: 'tx-42',
    });
    const events = obs.on('ddns-watchdog/event').map((e) => ({ ...JSON.parse(e.payload), retain: e.retain }));
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['ip_changed', 'dns_updated']));
    expect(events.every((e) => e.retain === false)).toBe(true);
    const changed = events.find((e) => e.type === 'ip_changed' && e.new === '81.2.69.177');
    expect(changed).toMatchObject({ family: 'ipv4', new: '81.2.69.177' });
    expect(changed.at).toMatch(/T.*(Z|[+-]\d\d:\d\d)$/);
    await obs.waitFor(
      (s) => s.topic === 'ddns-watchdog/state' && JSON.parse(s.payload).public_ip.ipv4 === '81.2.69.177',
    );
    const state = JSON.parse(obs.last('ddns-watchdog/state')!.payload);
    expect(state.dns.records['home.example.com']).toMatchObject({
      type: 'A',
      content: '81.2.69.177',
      status: 'in_sync',
    });
    expect(checkStateDocument(state)).toEqual([]);
  });

  it('a flood of sync commands (100 over 10 s): every one gets its result, and only a few DNS cycles run', async () => {
    const { obs, world } = await setup(kind, { triggerGapMs: 5_000 });
    (obs.client.stream as { setNoDelay?: (v: boolean) => void }).setNoDelay?.(true);
    await obs.waitFor((s) => s.topic === 'ddns-watchdog/state', 5000, 'state');
    await firstCycleDone(world);
    const cyclesBefore = world.agent.scheduler.cycles;
    world.cf.clearLog();
    const results = () =>
      obs.on('ddns-watchdog/command/result').map((r) => JSON.parse(r.payload) as Record<string, unknown>);
    // One command every 100 ms of the agent's clock, for 10 s.
    for (let i = 0; i < 100; i++) {
      await obs.publish('ddns-watchdog/command/sync', JSON.stringify({ transaction: `flood-${i}` }));
      await world.clock.advance(100);
    }
    // The last ones wait out the gap after the last cycle.
    const deadline = Date.now() + 15_000;
    while (results().length < 100 && Date.now() < deadline) {
      await world.clock.advance(1_000);
      await new Promise((r) => setTimeout(r, 20));
    }
    const got = results();
    expect(got).toHaveLength(100);
    expect(new Set(got.map((r) => r.transaction)).size).toBe(100);
    expect(got.every((r) => r.command === 'sync' && r.ok === true)).toBe(true);
    // 10 s of commands with a 5 s gap: one cycle at once, then about one per gap.
    const cycles = world.agent.scheduler.cycles - cyclesBefore;
    expect(cycles).toBeGreaterThanOrEqual(2);
    expect(cycles).toBeLessThanOrEqual(10_000 / 5_000 + 2);
    expect(world.cf.dohRequests.length).toBeLessThanOrEqual(cycles * 2);
  });

  it.each([
    ['PRESS', 'sync', 'PRESS', true, /DNS sync done/],
    ['records-subset', 'sync', '{"records":["home.example.com"]}', true, /DNS sync done/],
    [
      'unknown-record',
      'sync',
      '{"records":["nope.example.com"]}',
      false,
      /not a configured record: nope\.example\.com/,
    ],
    ['bad-json', 'sync', '{"records": [', false, /not valid JSON/],
    ['unknown-field', 'sync', '{"recordz":[]}', false, /unknown field "recordz"/],
    [
      'oversize',
      'sync',
      JSON.stringify({ records: Array(500).fill('home.example.com') }),
      false,
      /limited to 4096 bytes/,
    ],
    ['reboot/no plug/refused', 'reboot', 'PRESS', false, /reboot refused: no plug is configured/],
    ['reboot/empty payload/refused', 'reboot', '', false, /reboot needs PRESS or a JSON object/],
    [
      'probe/empty payload/a round runs',
      'probe',
      '',
      true,
      /^probe round done: health \w+; router not probed/,
    ],
    ['recovery/ON without a plug/refused', 'recovery', 'ON', false, /no plug is configured/],
    ['recovery-bad-payload', 'recovery', 'MAYBE', false, /ON or OFF/],
  ])(
    'command %s → ok=%s with a reason, and the agent keeps running',
    async (_n, name, payload, ok, message) => {
      const { obs } = await setup(kind);
      await obs.waitFor((s) => s.topic === 'ddns-watchdog/state', 5000, 'state');
      const result = await command(obs, name, payload);
      expect(result.ok).toBe(ok);
      expect(result.message).toMatch(message);
      // still alive: another command answers
      expect((await command(obs, 'sync', '')).ok).toBe(true);
    },
  );

  it('a retained command is never acted on: dropped, logged with a hint, answered ok=false', async () => {
    const b = await broker(kind);
    const obs = await Observer.connect(b.url);
    cleanups.push(() => obs.close());
    // Someone published a retained reboot and a retained sync before the agent started.
    await obs.publish('ddns-watchdog/command/sync', 'PRESS', { retain: true });
    const world = await makeWorld({
      records: ['home.example.com'],
      mqtt: { kind: 'url', url: b.url, source: 'config' },
    });
    cleanups.push(() => world.close());
    await world.agent.start();
    const r = await obs.waitFor((s) => s.topic === 'ddns-watchdog/command/result', 5000, 'result');
    expect(JSON.parse(r.payload)).toMatchObject({
      command: 'sync',
      ok: false,
      message: expect.stringMatching(/retained/),
    });
    expect(world.sink.text()).toMatch(/Ignored a retained sync command .* and cleared it/);
    // The agent cleared the retained command; the echo of that clear (a plain empty message on
    // MQTT 3.1.1) did not run a sync either.
    await new Promise((res) => setTimeout(res, 500));
    expect(world.agent.scheduler.cycles).toBeLessThanOrEqual(1);
    const late = await Observer.connect(b.url);
    cleanups.push(() => late.close());
    await new Promise((res) => setTimeout(res, 300));
    expect(late.on('ddns-watchdog/command/sync')).toEqual([]);
    // A live command afterwards works as usual.
    expect((await command(obs, 'sync', '')).ok).toBe(true);
  });

  it("Home Assistant's birth message → discovery then state again, after a short random delay", async () => {
    const { obs, world } = await setup(kind);
    await obs.waitFor((s) => s.topic === 'ddns-watchdog/state', 5000, 'state');
    const discoveries = obs.on(DISCOVERY).length;
    await obs.publish('homeassistant/status', 'offline');
    await obs.publish('homeassistant/status', 'online');
    await new Promise((r) => setTimeout(r, 200));
    expect(obs.on(DISCOVERY).length).toBe(discoveries); // not before the delay
    await world.clock.advance(3_000);
    await obs.waitFor(() => obs.on(DISCOVERY).length === discoveries + 1, 3000, 'republished discovery');
    const afterDiscovery = obs.seen.findIndex(
      (s, i) => s.topic === DISCOVERY && i >= obs.seen.indexOf(obs.on(DISCOVERY)[discoveries]!),
    );
    await obs.waitFor(
      (s) => s.topic === 'ddns-watchdog/state' && obs.seen.indexOf(s) > afterDiscovery,
      3000,
      'state after discovery',
    );
  });

  it('IPv6 turned off: its component is removed (stub once, then gone); discovery:false removes the device', async () => {
    const b = await broker(kind);
    const obs = await Observer.connect(b.url);
    cleanups.push(() => obs.close());
    const stateDir = (await import('node:fs/promises')).mkdtemp(
      join((await import('node:os')).tmpdir(), 'ddnsw-ha-'),
    );
    const dir = await stateDir;
    const target = { kind: 'url' as const, url: b.url, source: 'config' as const };

    const w1 = await makeWorld({
      records: ['home.example.com'],
      overrides: { ip_version: 'both', state_dir: dir },
      mqtt: target,
    });
    await w1.agent.start();
    await obs.waitFor((s) => s.topic === DISCOVERY, 5000, 'discovery');
    expect(Object.keys(JSON.parse(obs.last(DISCOVERY)!.payload).components)).toContain(
      'ddns_watchdog_public_ipv6',
    );
    await w1.close();

    const n = obs.on(DISCOVERY).length;
    const w2 = await makeWorld({
      records: ['home.example.com'],
      overrides: { ip_version: 'ipv4', state_dir: dir },
      mqtt: target,
    });
    await w2.agent.start();
    await obs.waitFor(() => obs.on(DISCOVERY).length >= n + 2, 5000, 'stub and final discovery');
    const [stub, final] = obs
      .on(DISCOVERY)
      .slice(n)
      .map((s) => JSON.parse(s.payload));
    expect(stub.components.ddns_watchdog_public_ipv6).toEqual({ platform: 'sensor' });
    expect(final.components.ddns_watchdog_public_ipv6).toBeUndefined();
    expect(checkDiscovery(DISCOVERY, final, RULES)).toEqual([]);
    await w2.close();

    const w3 = await makeWorld({
      records: ['home.example.com'],
      overrides: { discovery: false, state_dir: dir },
      mqtt: target,
    });
    await w3.agent.start();
    await obs.waitFor((s) => s.topic === DISCOVERY && s.payload === '', 5000, 'device removal');
    await w3.close();
    const late = await Observer.connect(b.url);
    cleanups.push(() => late.close());
    await new Promise((r) => setTimeout(r, 300));
    expect(late.on(DISCOVERY)).toEqual([]); // nothing retained any more
  });

  it.skipIf(kind !== 'aedes')(
    'broker stopped and started again: online, discovery and state come back',
    async () => {
      const port = await freePort();
      let b = await startEmbeddedBroker({ host: '127.0.0.1', port, logger: logSink().logger });
      const world = await makeWorld({
        records: ['home.example.com'],
        mqtt: { kind: 'url', url: b.url, source: 'config' },
      });
      cleanups.push(() => world.close());
      await world.agent.start();
      await b.close();
      await new Promise((r) => setTimeout(r, 300));
      world.setIp('81.2.69.188');
      await world.agent.sync('while offline');
      b = await startEmbeddedBroker({ host: '127.0.0.1', port, logger: logSink().logger });
      cleanups.push(() => b.close());
      const obs = await Observer.connect(b.url);
      cleanups.push(() => obs.close());
      await obs.waitFor(
        (s) => s.topic === 'ddns-watchdog/availability' && s.payload === 'online',
        15_000,
        'online',
      );
      await obs.waitFor((s) => s.topic === DISCOVERY, 5000, 'discovery');
      const state = await obs.waitFor(
        (s) => s.topic === 'ddns-watchdog/state' && JSON.parse(s.payload).public_ip.ipv4 === '81.2.69.188',
        5000,
        'the state from while offline',
      );
      expect(JSON.parse(state.payload).dns.records['home.example.com'].content).toBe('81.2.69.188');
      // The command topics work again after the reconnect.
      expect((await command(obs, 'sync', '')).ok).toBe(true);
    },
  );

  it('a clean stop publishes offline (retained)', async () => {
    const { obs, world } = await setup(kind);
    await obs.waitFor((s) => s.topic === 'ddns-watchdog/availability' && s.payload === 'online');
    await world.agent.stop();
    await obs.waitFor(
      (s) => s.topic === 'ddns-watchdog/availability' && s.payload === 'offline',
      3000,
      'offline',
    );
  });
});

describe('agent process on MQTT', () => {
  it('kill -9 of the agent: the broker publishes the will (retained offline)', async () => {
    const b = await broker();
    const obs = await Observer.connect(b.url);
    cleanups.push(() => obs.close());
    const child: ChildProcess = spawn(process.execPath, [BIN, 'run'], {
      env: loopbackEnv({ MQTT_URL: b.url }),
      stdio: 'ignore',
    });
    cleanups.push(async () => {
      child.kill('SIGKILL');
    });
    await obs.waitFor(
      (s) => s.topic === 'ddns-watchdog/availability' && s.payload === 'online',
      10_000,
      'online',
    );
    child.kill('SIGKILL');
    const will = await obs.waitFor(
      (s) => s.topic === 'ddns-watchdog/availability' && s.payload === 'offline',
      10_000,
      'will',
    );
    expect(will.payload).toBe('offline');
    const late = await Observer.connect(b.url);
    cleanups.push(() => late.close());
    await late.waitFor(
      (s) => s.topic === 'ddns-watchdog/availability' && s.retain && s.payload === 'offline',
      3000,
      'retained will',
    );
  });

  it('no MQTT configuration: the embedded broker is started on embedded_broker_port and used', async () => {
    const port = await freePort();
    const world = await makeWorld({
      records: ['home.example.com'],
      overrides: { embedded_broker_port: port },
      mqtt: { kind: 'embedded', host: '127.0.0.1', port },
    });
    cleanups.push(() => world.close());
    await world.agent.start();
    const obs = await Observer.connect(`mqtt://127.0.0.1:${port}`);
    cleanups.push(() => obs.close());
    await obs.waitFor((s) => s.topic === DISCOVERY && s.retain, 5000, 'discovery from the embedded broker');
  });
});

describe.skipIf(!mosquittoAvailable())('agent on real Mosquitto (MQTT 5)', () => {
  it('a command with an MQTT 5 response topic is answered there with its correlation data', async () => {
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const obs = await Observer.connect(mosq.url, { protocolVersion: 5 });
    cleanups.push(() => obs.close());
    const world = await makeWorld({
      records: ['home.example.com'],
      mqtt: { kind: 'url', url: mosq.url, source: 'config' },
    });
    cleanups.push(() => world.close());
    await world.agent.start();
    await obs.waitFor((s) => s.topic === DISCOVERY, 5000, 'discovery');
    expect(checkDiscovery(DISCOVERY, JSON.parse(obs.last(DISCOVERY)!.payload), RULES)).toEqual([]);
    await obs.publish('ddns-watchdog/command/sync', '{"transaction":"m5"}', {
      properties: { responseTopic: 'my-flow/replies', correlationData: Buffer.from('corr-123') },
    });
    const reply = await obs.waitFor((s) => s.topic === 'my-flow/replies', 10_000, 'MQTT 5 reply');
    expect(JSON.parse(reply.payload)).toMatchObject({ command: 'sync', ok: true, transaction: 'm5' });
    expect(reply.correlationData?.toString()).toBe('corr-123');
  });

  it('response topics under our own topics or the discovery prefix are refused: no reply there, the command is not run, the result says why', async () => {
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const obs = await Observer.connect(mosq.url, { protocolVersion: 5 });
    cleanups.push(() => obs.close());
    const world = await makeWorld({
      records: ['home.example.com'],
      mqtt: { kind: 'url', url: mosq.url, source: 'config' },
    });
    cleanups.push(() => world.close());
    await world.agent.start();
    await obs.waitFor((s) => s.topic === DISCOVERY, 5000, 'discovery');
    await obs.waitFor((s) => s.topic === 'ddns-watchdog/state', 5000, 'state');
    await firstCycleDone(world);
    const cycles = world.agent.scheduler.cycles;
    const cases = [
      ['own/state', 'ddns-watchdog/state'],
      ['own/availability', 'ddns-watchdog/availability'],
      ['own/event', 'ddns-watchdog/event'],
      ['own/command-loop', 'ddns-watchdog/command/sync'],
      ['own/base-itself', 'ddns-watchdog'],
      ['discovery/device-config', DISCOVERY],
      ['discovery/status', 'homeassistant/status'],
      ['reserved/$SYS', '$SYS/broker/x'],
    ] as const;
    for (const [name, responseTopic] of cases) {
      const before = obs.on('ddns-watchdog/command/result').length;
      await obs.publish('ddns-watchdog/command/sync', JSON.stringify({ transaction: name }), {
        properties: { responseTopic, correlationData: Buffer.from(name) },
      });
      await obs.waitFor(
        () => obs.on('ddns-watchdog/command/result').length > before,
        5000,
        `result of ${name}`,
      );
      const result = JSON.parse(obs.on('ddns-watchdog/command/result')[before]!.payload);
      expect(result, name).toMatchObject({
        command: 'sync',
        ok: false,
        transaction: name,
        message: expect.stringMatching(/response topic/),
      });
    }
    // A good command afterwards is answered, so every refused reply had time to show up.
    expect((await command(obs, 'sync', '')).ok).toBe(true);
    for (const [name, responseTopic] of cases) {
      const replies = obs.on(responseTopic).filter((s) => s.payload.includes('"command"'));
      expect(replies, name).toEqual([]);
    }
    expect(world.agent.scheduler.cycles).toBe(cycles + 1); // only the good sync ran
    expect(world.sink.lines().map((l) => String(l.msg))).toContainEqual(
      expect.stringMatching(/^Refused the sync command: response topic "ddns-watchdog\/state" is under/),
    );
    // What Home Assistant reads after a restart is still ours.
    const late = await Observer.connect(mosq.url, { protocolVersion: 5 });
    cleanups.push(() => late.close());
    const state = await late.waitFor((s) => s.topic === 'ddns-watchdog/state' && s.retain, 3000, 'state');
    expect(JSON.parse(state.payload)).toHaveProperty('public_ip');
    const avail = await late.waitFor((s) => s.topic === 'ddns-watchdog/availability' && s.retain);
    expect(avail.payload).toBe('online');
    const discovery = await late.waitFor((s) => s.topic === DISCOVERY && s.retain, 3000, 'discovery');
    expect(JSON.parse(discovery.payload)).toHaveProperty('components');
  });

  it('replies go to an allowed response topic once, never retained; command/result as the response topic gets one message', async () => {
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const obs = await Observer.connect(mosq.url, { protocolVersion: 5 });
    cleanups.push(() => obs.close());
    const world = await makeWorld({
      records: ['home.example.com'],
      mqtt: { kind: 'url', url: mosq.url, source: 'config' },
    });
    cleanups.push(() => world.close());
    await world.agent.start();
    await obs.waitFor((s) => s.topic === DISCOVERY, 5000, 'discovery');
    await obs.publish('ddns-watchdog/command/sync', '{"transaction":"own-result"}', {
      properties: { responseTopic: 'ddns-watchdog/command/result', correlationData: Buffer.from('c1') },
    });
    await obs.publish('ddns-watchdog/command/sync', '{"transaction":"mine"}', {
      properties: { responseTopic: 'my-flow/replies', correlationData: Buffer.from('c2') },
    });
    await obs.waitFor((s) => s.topic === 'my-flow/replies', 8000, 'reply');
    await obs.waitFor(
      (s) => s.topic === 'ddns-watchdog/command/result' && s.payload.includes('"own-result"'),
      8000,
      'result',
    );
    const own = obs.on('ddns-watchdog/command/result').filter((s) => s.payload.includes('"own-result"'));
    expect(own).toHaveLength(1);
    expect(own[0]?.correlationData?.toString()).toBe('c1');
    expect(JSON.parse(own[0]!.payload)).toMatchObject({ ok: true });
    const late = await Observer.connect(mosq.url, { protocolVersion: 5 });
    cleanups.push(() => late.close());
    await late.waitFor((s) => s.topic === 'ddns-watchdog/availability' && s.retain);
    expect(late.on('my-flow/replies')).toEqual([]);
    expect(late.on('ddns-watchdog/command/result')).toEqual([]);
  });

  it('clearing a retained command (empty retained publish) does not trigger it on MQTT 5', async () => {
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const obs = await Observer.connect(mosq.url, { protocolVersion: 5 });
    cleanups.push(() => obs.close());
    const world = await makeWorld({
      records: ['home.example.com'],
      mqtt: { kind: 'url', url: mosq.url, source: 'config' },
    });
    cleanups.push(() => world.close());
    await world.agent.start();
    await obs.waitFor((s) => s.topic === DISCOVERY, 5000, 'discovery');
    await firstCycleDone(world);
    const cycles = world.agent.scheduler.cycles;
    await obs.publish('ddns-watchdog/command/sync', '', { retain: true });
    await new Promise((res) => setTimeout(res, 500));
    expect(world.agent.scheduler.cycles).toBe(cycles);
  });
});

describe('oversize messages (never buffered whole)', () => {
  it('embedded broker: a 64 MB publish to a command topic is cut off at once, the agent acts on nothing and keeps answering', async () => {
    const brokerLog = logSink();
    const b = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: brokerLog.logger });
    cleanups.push(() => b.close());
    const obs = await Observer.connect(b.url);
    cleanups.push(() => obs.close());
    const world = await makeWorld({
      records: ['home.example.com'],
      mqtt: { kind: 'url', url: b.url, source: 'config' },
    });
    cleanups.push(() => world.close());
    await world.agent.start();
    await obs.waitFor((s) => s.topic === 'ddns-watchdog/state', 5000, 'state');
    await firstCycleDone(world);
    const cycles = world.agent.scheduler.cycles;

    const big = await rawPublish(b.url, {
      topic: 'ddns-watchdog/command/sync',
      payloadBytes: 64 * 1024 * 1024,
      clientId: 'big-sender',
    });
    cleanups.push(async () => void big.socket.destroy());
    // The broker closed the connection long before the 64 MB were sent: it never buffered them.
    expect(big.cutOff).toBe(true);
    expect(big.written).toBeLessThan(32 * 1024 * 1024);
    expect(brokerLog.lines().map((l) => String(l.msg))).toContainEqual(
      expect.stringMatching(/disconnected client "big-sender": it sent a PUBLISH packet of 6710\d+ bytes/),
    );
    // The agent kept its session, acted on nothing, and answers the next command.
    expect((await command(obs, 'sync', '')).ok).toBe(true);
    expect(obs.on('ddns-watchdog/command/result')).toHaveLength(1);
    expect(world.agent.scheduler.cycles).toBe(cycles + 1);
    expect(world.sink.text()).not.toMatch(/Lost the connection/);
  });
});

describe.skipIf(!mosquittoAvailable())('oversize messages on real Mosquitto (MQTT 5)', () => {
  it("a 10 MB command is over the agent's maximum packet size: the broker never delivers it, nothing is acted on", async () => {
    const mosq = await startMosquitto();
    cleanups.push(() => mosq.stop());
    const obs = await Observer.connect(mosq.url, { protocolVersion: 5 });
    cleanups.push(() => obs.close());
    const world = await makeWorld({
      records: ['home.example.com'],
      mqtt: { kind: 'url', url: mosq.url, source: 'config' },
    });
    cleanups.push(() => world.close());
    await world.agent.start();
    await obs.waitFor((s) => s.topic === 'ddns-watchdog/state', 5000, 'state');
    await firstCycleDone(world);
    const cycles = world.agent.scheduler.cycles;
    await obs.publish(
      'ddns-watchdog/command/sync',
      JSON.stringify({ transaction: 'x'.repeat(10 * 1024 * 1024) }),
    );
    // Mosquitto delivers in order: once the next command is answered, the big one would have been too.
    expect((await command(obs, 'sync', '{"transaction":"after"}', 'after')).ok).toBe(true);
    expect(obs.on('ddns-watchdog/command/result')).toHaveLength(1);
    expect(world.agent.scheduler.cycles).toBe(cycles + 1);
    expect(world.agent.mqtt?.connected).toBe(true);
  });
});

describe('add-on: the broker comes from the Supervisor', () => {
  it('SUPERVISOR_TOKEN and no mqtt_url → the Supervisor’s broker, with its credentials (port given as a string)', async () => {
    const { Agent } = await import('../src/agent.js');
    const { startFakeSupervisor, okData } = await import('./fakes/supervisor.js');
    const port = await freePort();
    const b = await startEmbeddedBroker({
      host: '127.0.0.1',
      port,
      username: 'addons',
      password: 'broker-pw-from-supervisor',
      logger: logSink().logger,
    });
    cleanups.push(() => b.close());
    const sup = await startFakeSupervisor({
      kind: 'ok',
      data: okData({
        host: '127.0.0.1',
        port: String(port),
        username: 'addons',
        password: 'broker-pw-from-supervisor',
      }),
    });
    cleanups.push(() => sup.close());
    const world = await makeWorld({ records: ['home.example.com'] });
    cleanups.push(() => world.close());
    const sink = logSink({ secrets: ['broker-pw-from-supervisor'] });
    const agent = await Agent.create({
      config: world.config,
      logger: sink.logger,
      clock: world.clock,
      store: null,
      env: { SUPERVISOR_TOKEN: 'supervisor-token-123', SUPERVISOR_URL: sup.url },
    });
    cleanups.push(async () => {
      await agent.stop({ graceMs: 0 });
    });
    await agent.start();
    const obs = await Observer.connect(b.url, { username: 'addons', password: 'broker-pw-from-supervisor' });
    cleanups.push(() => obs.close());
    await obs.waitFor((s) => s.topic === DISCOVERY && s.retain, 5000, 'discovery on the Supervisor broker');
    expect(sup.requests[0]).toMatchObject({
      method: 'GET',
      path: '/services/mqtt',
      auth: 'Bearer supervisor-token-123',
    });
    expect(sink.text()).not.toContain('broker-pw-from-supervisor');
  });

  it('the Supervisor has no MQTT service (400) → the embedded broker, with a warning saying what to install', async () => {
    const { Agent } = await import('../src/agent.js');
    const { startFakeSupervisor, NO_SERVICE } = await import('./fakes/supervisor.js');
    const sup = await startFakeSupervisor(NO_SERVICE);
    cleanups.push(() => sup.close());
    const port = await freePort();
    const world = await makeWorld({
      records: ['home.example.com'],
      overrides: { embedded_broker_port: port },
    });
    cleanups.push(() => world.close());
    const sink = logSink();
    const agent = await Agent.create({
      config: world.config,
      logger: sink.logger,
      clock: world.clock,
      store: null,
      env: { SUPERVISOR_TOKEN: 'supervisor-token-123', SUPERVISOR_URL: sup.url },
    });
    cleanups.push(async () => {
      await agent.stop({ graceMs: 0 });
    });
    await agent.start();
    const obs = await Observer.connect(`mqtt://127.0.0.1:${port}`);
    cleanups.push(() => obs.close());
    await obs.waitFor((s) => s.topic === DISCOVERY && s.retain, 5000, 'discovery on the embedded broker');
    expect(sink.lines().some((l) => l.level === 'warn' && /Mosquitto/i.test(String(l.msg)))).toBe(true);
  });
});

describe.skipIf(!mosquittoAvailable())('agent on real Mosquitto with a password over TLS', () => {
  it('mqtts:// with mqtt_ca_file and mqtt_username/mqtt_password: discovery and commands work; the password is never logged', async () => {
    const mosq = await startMosquitto({ users: { ddns: 'mosq-pw-9f8e7d' }, tls: true });
    cleanups.push(() => mosq.stop());
    const { readFileSync } = await import('node:fs');
    const ca = readFileSync(mosq.caFile!);
    const obs = await Observer.connect(mosq.url, {
      username: 'ddns',
      password: 'mosq-pw-9f8e7d',
      ca,
      protocolVersion: 5,
    });
    cleanups.push(() => obs.close());
    const world = await makeWorld({
      records: ['home.example.com'],
      overrides: { mqtt_ca_file: mosq.caFile!, mqtt_username: 'ddns', mqtt_password: 'mosq-pw-9f8e7d' },
      mqtt: { kind: 'url', url: mosq.url, username: 'ddns', password: 'mosq-pw-9f8e7d', source: 'config' },
    });
    cleanups.push(() => world.close());
    await world.agent.start();
    await obs.waitFor((s) => s.topic === DISCOVERY, 5000, 'discovery over TLS');
    expect(checkDiscovery(DISCOVERY, JSON.parse(obs.last(DISCOVERY)!.payload), RULES)).toEqual([]);
    expect((await command(obs, 'sync', '{"transaction":"tls"}', 'tls')).ok).toBe(true);
    expect(world.sink.text()).not.toContain('mosq-pw-9f8e7d');
  });

  it('a wrong password: the agent keeps DNS running and logs what to check, without the password', async () => {
    const mosq = await startMosquitto({ users: { ddns: 'right-pw-123456' } });
    cleanups.push(() => mosq.stop());
    const world = await makeWorld({
      records: ['home.example.com'],
      mqtt: { kind: 'url', url: mosq.url, username: 'ddns', password: 'wrong-pw-654321', source: 'config' },
    });
    cleanups.push(() => world.close());
    const started = world.agent.start();
    await world.agent.sync('test');
    expect(world.agent.state.state.dns.records['home.example.com/A']?.status).toBe('in_sync');
    await started;
    const deadline = Date.now() + 5000;
    while (!/mqtt_username|mqtt_password/.test(world.sink.text()) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(world.sink.text()).toMatch(/mqtt_username|mqtt_password/);
    expect(world.sink.text()).not.toContain('wrong-pw-654321');
  });
});
