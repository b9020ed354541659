/**
 * A simulated world on loopback for end-to-end tests: a fake Cloudflare API + DoH server, three
 * fake IP echo services, and an Agent wired to them with a manual clock. The router and WAN targets
 * default to "none" and a closed port; watchdog tests point them at their own servers (overrides)
 * and hand the test CA in through `agent.probes`.
 */
import { mkdtemp } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { Agent, type AgentOptions } from '../../src/agent.js';
import type { CommandResult } from '../../src/commands.js';
import { loadConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { ManualClock } from '../fakes/clock.js';
import { FakeCloudflare } from '../fakes/cloudflare.js';
import { startEchoServer } from '../fakes/ip-echo.js';
import { type RecordingBroker, startRecordingBroker } from '../fakes/plugs/broker.js';
import { type FakeTasmota, startFakeTasmota } from '../fakes/plugs/tasmota.js';
import type { TestPki } from '../fakes/tls-server.js';
import { startWanTarget, type WanMode, type WanTarget } from '../fakes/wan-target.js';
import { logSink } from './log-sink.js';

export const TOKEN = 'cf-test-token-7d1e0c5a9b3f2e4d6c8a';

export interface World {
  cf: FakeCloudflare;
  zoneId: string;
  clock: ManualClock;
  /** The running agent (a new one after `restart`). */
  agent: Agent;
  config: Config;
  sink: ReturnType<typeof logSink>;
  /** What every IP echo service answers from now on. */
  setIp(ip: string): void;
  /** Per-source answers (index = source). */
  setAnswers(answers: Array<string | { status?: number; body: string }>): void;
  ipSourceUrls: string[];
  /** Forgets every fake's request log (long benchmarks). */
  clearLogs(): void;
  stateDir: string;
  /** Stops the agent (as a clean stop does) and builds a new one on the same state, config and clock; not started. */
  restart(): Promise<Agent>;
  close(): Promise<void>;
}

/** A full Config from the real loader, pointed at loopback, with overrides on top. */
export async function loopbackConfig(
  env: Record<string, string>,
  overrides: Partial<Config> = {},
): Promise<Config> {
  const { config } = await loadConfig({ env, isTTY: false, addonOptionsPath: '/nonexistent/options.json' });
  return { ...config, ...overrides };
}

export async function makeWorld(
  options: {
    records?: string[];
    overrides?: Partial<Config>;
    token?: string | null;
    ip?: string;
    zones?: string[];
    sources?: number;
    /** MQTT target for the agent; none by default. */
    mqtt?: import('../../src/supervisor.js').MqttTarget;
    /** Gap between triggered cycles; 0 by default (tests here sync back to back; the gap has its own tests). */
    triggerGapMs?: number;
    /** More agent options (test-only probe settings, status page files, environment). */
    agent?: Partial<AgentOptions>;
  } = {},
): Promise<World> {
  const cf = await FakeCloudflare.start({ token: TOKEN });
  const zones = options.zones ?? ['example.com'];
  const zoneIds = zones.map((z) => cf.addZone(z));
  let answers: Array<string | { status?: number; body: string }> = [];
  let ip = options.ip ?? '81.2.69.160';
  const servers = await Promise.all(
    Array.from({ length: options.sources ?? 3 }, (_, i) =>
      startEchoServer(() => {
        const a = answers[i];
        if (a === undefined) return { body: ip };
        return typeof a === 'string' ? { body: a } : a;
      }),
    ),
  );
  const stateDir = await mkdtemp(join(tmpdir(), 'ddnsw-world-'));
  const clock = new ManualClock();
  const sink = logSink({ secrets: [TOKEN] });
  const env: Record<string, string> = {
    RECORDS: (options.records ?? ['home.example.com']).join(','),
    CLOUDFLARE_API_URL: cf.apiUrl,
    DOH_URL: cf.dohUrl,
    IP_SOURCES: servers.map((s) => s.url).join(','),
    IP_SOURCES_V6: servers.map((s) => s.url).join(','),
    STATE_DIR: stateDir,
    ROUTER_HOST: '',
    WAN_TARGETS: '127.0.0.1:9',
    HTTP_TIMEOUT_MS: '2000',
    MIN_UPDATE_INTERVAL_SECONDS: '0',
  };
  if (options.token !== null) env.CLOUDFLARE_API_TOKEN = options.token ?? TOKEN;
  const config = await loopbackConfig(env, options.overrides ?? {});
  const build = () =>
    Agent.create({
      config,
      logger: sink.logger,
      clock,
      random: () => 0.5,
      mqtt: options.mqtt ?? false,
      triggerGapMs: options.triggerGapMs ?? 0,
      ...options.agent,
    });
  const agent = await build();
  const world: World = {
    cf,
    zoneId: zoneIds[0]!,
    clock,
    agent,
    config,
    sink,
    stateDir,
    ipSourceUrls: servers.map((s) => s.url),
    clearLogs: () => {
      cf.clearLog();
      for (const s of servers) s.clearLog();
      sink.clear();
    },
    setIp: (v) => {
      ip = v;
      answers = [];
    },
    setAnswers: (a) => {
      answers = a;
    },
    restart: async () => {
      await world.agent.stop({ graceMs: 0 });
      world.agent = await build();
      return world.agent;
    },
    close: async () => {
      await world.agent.stop({ graceMs: 0 });
      await Promise.all(servers.map((s) => s.close()));
      await cf.close();
    },
  };
  return world;
}

/** An MQTT client subscribed to everything (Home Assistant / Node-RED's point of view). */
export class MqttObserver {
  readonly seen: Array<{ topic: string; payload: string; retain: boolean }> = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.seen.push({ topic, payload: payload.toString(), retain: packet.retain });
    });
  }

  static async connect(url: string): Promise<MqttObserver> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 200, protocolVersion: 4 });
    const o = new MqttObserver(client);
    await client.subscribeAsync('#', { qos: 1 });
    return o;
  }

  on(topic: string): Array<{ topic: string; payload: string; retain: boolean }> {
    return this.seen.filter((s) => s.topic === topic);
  }

  /** The JSON payloads of the agent's events, in order. */
  events(base = 'ddns-watchdog'): Array<Record<string, unknown> & { type: string }> {
    return this.on(`${base}/event`).map((s) => JSON.parse(s.payload));
  }

  /** The last state document published. */
  state(base = 'ddns-watchdog'): Record<string, unknown> & { health: string } {
    const all = this.on(`${base}/state`);
    const last = all[all.length - 1];
    if (!last) throw new Error('no state published yet');
    return JSON.parse(last.payload);
  }

  async waitFor(pred: () => boolean, what: string, ms = 8000): Promise<void> {
    await until(pred, what, ms);
  }

  /** Publishes a command and returns its result from `<base>/command/result`. */
  async command(name: string, payload: string, base = 'ddns-watchdog'): Promise<CommandResult> {
    const results = () => this.on(`${base}/command/result`);
    const before = results().length;
    await this.client.publishAsync(`${base}/command/${name}`, payload, { qos: 1 });
    await until(() => results().length > before, `the result of ${name}`, 10_000);
    return JSON.parse(results()[before]!.payload);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** Resolves once `cond` holds (polled in real time); fails naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const PLUG_TOPIC = 'tasmota_router';

/** The world outside the agent for watchdog tests, on 127.0.0.1: a broker, a router, WAN targets, a Tasmota. */
export interface WatchdogWorld extends World {
  broker: RecordingBroker;
  obs: MqttObserver;
  tasmota: FakeTasmota;
  wan: WanTarget[];
  setWan(mode: WanMode): void;
  /** Advances the clock one probe interval per round and waits for each round to end. */
  rounds(n: number): Promise<void>;
  /** Runs rounds until `cond` holds (at most `max`). */
  roundsUntil(cond: () => boolean, what: string, max?: number): Promise<void>;
}

/**
 * A running agent over an in-process broker with a router (a TCP server), three WAN targets (TLS
 * with the test CA) and a Tasmota plug on the broker. Defaults: 15 s rounds, WAN down 60 s before a
 * cycle, 60 s of boot grace, 30 s off, Auto recovery on; the DNS loop runs once an hour, so every
 * other DNS cycle was triggered.
 */
export async function makeWatchdogWorld(
  pki: TestPki,
  o: {
    token?: string | null;
    overrides?: Partial<Config>;
    agent?: Partial<AgentOptions>;
    triggerGapMs?: number;
    start?: boolean;
  } = {},
): Promise<WatchdogWorld> {
  const broker = await startRecordingBroker();
  const routerServer = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => routerServer.listen(0, '127.0.0.1', () => resolve()));
  const routerPort = (routerServer.address() as AddressInfo).port;
  const wan = await Promise.all([0, 1, 2].map(() => startWanTarget(pki)));
  const base = await makeWorld({
    records: ['home.example.com'],
    ...(o.token !== undefined ? { token: o.token } : {}),
    mqtt: { kind: 'url', url: broker.url, source: 'config' },
    ...(o.triggerGapMs !== undefined ? { triggerGapMs: o.triggerGapMs } : {}),
    overrides: {
      interval_seconds: 3600,
      jitter_seconds: 0,
      router_host: '127.0.0.1',
      router_probe: `tcp:${routerPort}`,
      wan_targets: wan.map((t) => t.target),
      probe_interval_seconds: 15,
      probe_timeout_ms: 500,
      recovery_enabled: true,
      plug_type: 'tasmota',
      plug_topic: PLUG_TOPIC,
      wan_down_after_seconds: 60,
      boot_grace_seconds: 60,
      power_off_seconds: 30,
      ...o.overrides,
    },
    agent: { probes: { ca: pki.ca }, pageAssets: null, ...o.agent },
  });
  const tasmota = await startFakeTasmota({ url: broker.url, topic: PLUG_TOPIC, clock: base.clock });
  const obs = await MqttObserver.connect(broker.url);
  const world = base as WatchdogWorld;
  const closeBase = base.close;
  Object.assign(world, {
    broker,
    obs,
    tasmota,
    wan,
    setWan: (mode: WanMode) => {
      for (const t of wan) t.mode = mode;
    },
    rounds: async (n: number) => {
      for (let i = 0; i < n; i++) {
        const wd = world.agent.watchdog;
        if (!wd) throw new Error('the watchdog is not running');
        const before = wd.rounds;
        await world.clock.advance(world.config.probe_interval_seconds * 1000);
        await until(() => wd.rounds > before, `probe round ${before + 1}`);
      }
    },
    roundsUntil: async (cond: () => boolean, what: string, max = 40) => {
      for (let i = 0; i < max && !cond(); i++) await world.rounds(1);
      if (!cond()) throw new Error(`${what} did not happen within ${max} probe rounds`);
    },
    close: async () => {
      await closeBase();
      await Promise.all([obs.close(), tasmota.close(), ...wan.map((t) => t.close())]);
      await new Promise<void>((resolve) => routerServer.close(() => resolve()));
      await broker.close();
    },
  });
  if (o.start !== false) {
    await world.agent.start();
    await until(() => (world.agent.watchdog?.rounds ?? 0) >= 1, 'the first probe round');
    // The watchdog does not wait for MQTT: wait until the agent listens on its command topics.
    await until(() => broker.subscriptions.some((s) => s.includes('/command/')), 'the command subscription');
  }
  return world;
}
