/**
 * A small world for the watchdog service tests, all on 127.0.0.1: a router (a TCP server for
 * `router_probe: tcp:PORT`, or `ping` stand-ins for `icmp`), WAN targets with a test CA that a
 * test switches up/down/hang/intercept, an HTTP smart plug, a real state file in a temp dir, and
 * a manual clock that drives the probe rounds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AgentEvent, EventBus, type EventType } from '../../src/events.js';
import type { PlugTiming } from '../../src/plugs/plug-driver.js';
import { buildProbeSet, type ProbeSet } from '../../src/probes/round.js';
import { StateHolder } from '../../src/state/holder.js';
import { freshState, type PersistedState, persistedStateSchema } from '../../src/state/schema.js';
import { JsonFileStore } from '../../src/state/store.js';
import { type WatchdogConfig, WatchdogService } from '../../src/watchdog/service.js';
import { ManualClock } from '../fakes/clock.js';
import { FakeHttpPlug, fakePlugDriver } from '../fakes/http-plug.js';
import type { PingStandIns } from '../fakes/ping/stand-ins.js';
import type { TestPki } from '../fakes/tls-server.js';
import { startWanTarget, type WanMode, type WanTarget } from '../fakes/wan-target.js';
import { logSink } from '../helpers/log-sink.js';

export const BASE_CONFIG: WatchdogConfig = {
  probe_interval_seconds: 15,
  probe_timeout_ms: 200,
  recovery_enabled: true,
  plug_type: 'http',
  mode: 'enforce',
  mode_explicit: false,
  power_off_seconds: 30,
  wan_down_after_seconds: 180,
  boot_grace_seconds: 600,
  max_power_cycles: 3,
  power_cycle_window_hours: 24,
  recover_when_router_down: false,
};

/** Resolves once `cond` holds (polled); fails naming `what` after `timeoutMs` of real time. */
export async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** The world outside the agent, shared by the agent's restarts. */
export interface World {
  clock: ManualClock;
  plug: FakeHttpPlug;
  wan: WanTarget[];
  dir: string;
  /** `router_probe: tcp:PORT` to a server that accepts: the router is alive. */
  routerPort: number;
  setWan(mode: WanMode): void;
  close(): Promise<void>;
}

export async function makeWorld(
  pki: TestPki,
  o: { targets?: number; clock?: ManualClock } = {},
): Promise<World> {
  const clock = o.clock ?? new ManualClock();
  const [plug, dir, router, ...wan] = await Promise.all([
    FakeHttpPlug.start(clock),
    mkdtemp(join(tmpdir(), 'watchdog-')),
    listen(createServer((s) => s.destroy())),
    ...Array.from({ length: o.targets ?? 3 }, () => startWanTarget(pki)),
  ]);
  return {
    clock,
    plug,
    wan,
    dir,
    routerPort: (router.address() as AddressInfo).port,
    setWan: (mode) => {
      for (const t of wan) t.mode = mode;
    },
    close: async () => {
      await Promise.all([plug.close(), ...wan.map((t) => t.close()), close(router)]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface AgentOptions {
  config?: Partial<WatchdogConfig>;
  /** The plug's timing, or none (no plug driver, `plug_type: none`). */
  plug?: PlugTiming | 'none';
  /** `tcp` (default): the world's alive router; `icmp`: the given ping stand-ins. */
  router?: 'tcp' | { ping: PingStandIns };
  /** Replaces the probe set built from the world (stand-in probes for what loopback cannot show). */
  probes?: ProbeSet;
  start?: boolean;
  /** The agent's clock (default the world's): a restarted agent gets a fresh one. */
  clock?: ManualClock;
}

/** The real file store, counting its writes (the SD card's point of view). */
export class CountingStore extends JsonFileStore<PersistedState> {
  saves = 0;
  override save(state: PersistedState): Promise<void> {
    this.saves++;
    return super.save(state);
  }
}

export interface Agent {
  svc: WatchdogService;
  clock: ManualClock;
  config: WatchdogConfig;
  holder: StateHolder;
  store: CountingStore;
  events: AgentEvent[];
  sink: ReturnType<typeof logSink>;
  restored: { count: number };
  of<K extends EventType>(type: K): Array<Extract<AgentEvent, { type: K }>>;
  /** Advances one probe interval per round and waits for each round to end. */
  rounds(n: number): Promise<void>;
}

/** An agent on the world's state file (loaded as the agent does at start). */
export async function makeAgent(pki: TestPki, world: World, o: AgentOptions = {}): Promise<Agent> {
  const clock = o.clock ?? world.clock;
  const timing = o.plug ?? 'agent_timed';
  const config: WatchdogConfig = {
    ...BASE_CONFIG,
    plug_type: timing === 'none' ? 'none' : timing === 'self_timed' ? 'shelly' : 'http',
    ...o.config,
  };
  const sink = logSink();
  const store = new CountingStore({
    dir: world.dir,
    schema: persistedStateSchema as never,
    fresh: freshState,
    logger: sink.logger,
    now: () => clock.now(),
  });
  const loaded = await store.load();
  const holder = new StateHolder(loaded.state, store, sink.logger, () => clock.now());
  const bus = new EventBus({ logger: sink.logger, now: () => clock.now() });
  const events: AgentEvent[] = [];
  bus.on('test', (e) => {
    events.push(e);
  });
  const router = o.router ?? 'tcp';
  const probes =
    o.probes ??
    buildProbeSet({
      routerHost: '127.0.0.1',
      routerProbe: router === 'tcp' ? `tcp:${world.routerPort}` : 'icmp',
      wanTargets: world.wan.map((t) => t.target),
      timeoutMs: config.probe_timeout_ms,
      ca: pki.ca,
      ...(router === 'tcp' ? {} : { env: router.ping.env }),
    });
  const restored = { count: 0 };
  const svc = new WatchdogService({
    config,
    probes,
    plug: timing === 'none' ? null : fakePlugDriver(world.plug.url, timing),
    state: holder,
    events: bus,
    clock,
    logger: sink.logger,
    onWanRestored: () => {
      restored.count++;
    },
  });
  const agent: Agent = {
    svc,
    clock,
    config,
    holder,
    store,
    events,
    sink,
    restored,
    of: (type) => events.filter((e) => e.type === type) as never,
    async rounds(n) {
      for (let i = 0; i < n; i++) {
        const before = svc.rounds;
        await clock.advance(config.probe_interval_seconds * 1000);
        await until(() => svc.rounds > before, `probe round ${before + 1}`);
      }
    },
  };
  if (o.start !== false) {
    svc.start();
    await until(() => svc.rounds >= 1, 'the first probe round');
  }
  return agent;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** The messages of the log lines at `minLevel` or above. */
export function logged(agent: Agent, minLevel: 'info' | 'warn' | 'error' = 'info'): string[] {
  const min = LEVELS.indexOf(minLevel);
  return agent.sink
    .lines()
    .filter((l) => LEVELS.indexOf(String(l['level'])) >= min)
    .map((l) => String(l['msg']));
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
