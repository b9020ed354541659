/**
 * Runs the real WatchdogService through a fault script: the service as the agent builds it (its
 * Scheduler, health machine, uptime, recovery policy and cycle code, a StateHolder over the real
 * JsonFileStore in a temp dir, a pino logger, the EventBus) on a SimClock. Only the two ports at
 * the edge are stand-ins: the probes answer from the script's world (the probe adapters are tested
 * against loopback servers elsewhere; real handshakes cost ~4 ms of CPU a round, 172,800 rounds
 * would take minutes) and the plug records when it was switched. Each restart is a clean stop and
 * a new service over the state file the last one saved.
 */
import { constants } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { ProbeResult } from '../../src/domain/probe-result.js';
import { EventBus } from '../../src/events.js';
import { createLogger } from '../../src/log.js';
import type { PlugDriver } from '../../src/plugs/plug-driver.js';
import type { Probe } from '../../src/probes/probe.js';
import type { ProbeSet } from '../../src/probes/round.js';
import { StateHolder } from '../../src/state/holder.js';
import { freshState, type PersistedState, persistedStateSchema } from '../../src/state/schema.js';
import { JsonFileStore } from '../../src/state/store.js';
import { type WatchdogConfig, WatchdogService } from '../../src/watchdog/service.js';
import { runsOf, type Script } from './script.js';
import { SimClock } from './sim-clock.js';
import { PlugLog, ROUTER, WAN_TARGETS, type WorldRound, worldRound } from './world.js';

export const LONGRUN_CONFIG: WatchdogConfig = {
  probe_interval_seconds: 15,
  probe_timeout_ms: 1000,
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

/** The real file store, counting its saves and the ones still on the disk. */
class TrackedStore extends JsonFileStore<PersistedState> {
  saves = 0;
  inFlight = 0;
  override async save(state: PersistedState): Promise<void> {
    this.saves++;
    this.inFlight++;
    try {
      await super.save(state);
    } finally {
      this.inFlight--;
    }
  }
}

/** What the plug was told, with the health the agent published just before (for the safety checks). */
export interface PlugCommand {
  mono: number;
  wall: number;
  turn: 'off' | 'on';
  /** The world at that moment (a fault kind, `fine`, `power_off`, …). */
  condition: string;
  /** The health the agent had announced before the command (before `recovering`, for a cycle's off). */
  health: string;
}

export interface RunView {
  svc: WatchdogService;
  holder: StateHolder;
  clock: SimClock;
  store: TrackedStore;
  /** The state file as saved last. */
  saved(): Promise<PersistedState>;
}

export interface RunStats {
  rounds: number;
  saves: number;
  plug: PlugCommand[];
  events: Record<string, number>;
  logLines: Record<string, number>;
  /** The first warn/error lines (at most 30), for a failure's message. */
  logSample: string[];
}

export interface RunHooks {
  /** At each checkpoint (mono), the service still running. */
  checkpoint(mono: number, view: RunView): Promise<void> | void;
  /** Right after each stop, the restarts' and the final one. */
  stopped(mono: number, view: RunView): Promise<void> | void;
  /** Each `health_changed` event. */
  transition?(mono: number, to: string): void;
}

export async function runService(
  script: Script,
  hooks: RunHooks,
  config: WatchdogConfig = LONGRUN_CONFIG,
): Promise<RunStats> {
  const clock = new SimClock(script.wallStart);
  const dir = await mkdtemp(join(await ramDisk(), 'ddnsw-longrun-'));
  const plugLog = new PlugLog();
  const stats: RunStats = { rounds: 0, saves: 0, plug: [], events: {}, logLines: {}, logSample: [] };
  const logger = createLogger({ level: 'info', format: 'json', destination: countingSink(stats) });
  const store = new TrackedStore({
    dir,
    schema: persistedStateSchema as never,
    fresh: freshState,
    logger,
    now: () => clock.now(),
  });
  clock.busy = () => store.inFlight > 0;
  const announced = { from: 'probing', to: 'probing' };
  const bus = new EventBus({ logger, now: () => clock.now() });
  bus.on('longrun', (e) => {
    stats.events[e.type] = (stats.events[e.type] ?? 0) + 1;
    if (e.type !== 'health_changed') return;
    Object.assign(announced, { from: e.from, to: e.to });
    hooks.transition?.(clock.mono, e.to);
  });

  let memo: { mono: number; round: WorldRound } | null = null;
  const world = (): WorldRound => {
    if (memo?.mono !== clock.mono)
      memo = { mono: clock.mono, round: worldRound(script.faults, plugLog, clock.mono) };
    return memo.round;
  };
  const probe = (target: string, pick: (r: WorldRound) => ProbeResult): Probe => ({
    target,
    kind: target === ROUTER ? 'tcp' : 'tls',
    run: async () => pick(world()),
  });
  const probes: ProbeSet = {
    router: [probe(ROUTER, (r) => r.router[0]!)],
    wan: WAN_TARGETS.map((t, i) => probe(t, (r) => r.wan[i]!)),
  };
  const switched = (turn: 'off' | 'on') => {
    const condition = worldRound(script.faults, plugLog, clock.mono).condition;
    const health = turn === 'off' && announced.to === 'recovering' ? announced.from : announced.to;
    stats.plug.push({ mono: clock.mono, wall: clock.now(), turn, condition, health });
    if (turn === 'off') plugLog.off(clock.mono);
    else plugLog.on(clock.mono);
    return Promise.resolve({ confirmed: true, message: `switched ${turn}` });
  };
  const plug: PlugDriver = {
    type: 'http',
    timing: 'agent_timed',
    label: 'simulated plug',
    off: () => switched('off'),
    on: () => switched('on'),
  };

  // Everything that happens, in time order: clock steps, stops and starts, checkpoints.
  type Action = { at: number; order: number; run: () => Promise<void> };
  const actions: Action[] = [];
  let svc: WatchdogService | null = null;
  let holder: StateHolder | null = null;
  const view = (): RunView => ({
    svc: svc!,
    holder: holder!,
    clock,
    store,
    saved: async () => JSON.parse(await readFile(store.path, 'utf8')) as PersistedState,
  });
  for (const step of script.steps)
    actions.push({ at: step.at, order: 0, run: async () => clock.step(step.by) });
  for (const run of runsOf(script)) {
    actions.push({
      at: run.from,
      order: 2,
      run: async () => {
        const loaded = await store.load();
        holder = new StateHolder(loaded.state, store, logger, () => clock.now());
        Object.assign(announced, { from: 'probing', to: 'probing' });
        svc = new WatchdogService({ config, probes, plug, state: holder, events: bus, clock, logger });
        svc.start();
      },
    });
    actions.push({
      at: run.to,
      order: 1,
      run: async () => {
        const s = svc!;
        await s.stop();
        stats.rounds += s.rounds;
        await hooks.stopped(run.to, view());
      },
    });
  }
  for (const c of script.checkpoints)
    actions.push({ at: c, order: 3, run: () => Promise.resolve(hooks.checkpoint(c, view())) });
  actions.sort((a, b) => a.at - b.at || a.order - b.order);

  try {
    for (const action of actions) {
      await clock.runUntil(action.at);
      await action.run();
      await clock.settle();
    }
  } finally {
    if (svc !== null) await (svc as WatchdogService).stop();
    stats.saves = store.saves;
    await rm(dir, { recursive: true, force: true });
  }
  return stats;
}

/**
 * /dev/shm when there is one: the saves (about 4,000 in 33 days, each with an fsync) then cost CPU
 * only, not the disk's latency, which on a shared CI disk was half the run time. The store's code
 * is the same.
 */
async function ramDisk(): Promise<string> {
  try {
    await access('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/** A log destination that keeps counts per level and the first warnings, not the lines. */
function countingSink(stats: RunStats): Writable {
  return new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) {
        if (line === '') continue;
        const level = /"level":"(\w+)"/.exec(line)?.[1] ?? 'unknown';
        stats.logLines[level] = (stats.logLines[level] ?? 0) + 1;
        if ((level === 'warn' || level === 'error' || level === 'fatal') && stats.logSample.length < 30) {
          stats.logSample.push(line.slice(0, 400));
        }
      }
      cb();
    },
  });
}
