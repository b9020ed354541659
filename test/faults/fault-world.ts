/**
 * Worlds for the fault suite: test/helpers/world.ts's simulated world (fake Cloudflare + DoH, IP
 * echo services, a manual clock) with the agent started, its events collected across restarts,
 * and the invariant check at hand. `cycle()` runs one DNS cycle the way a command does.
 */
import type { Agent } from '../../src/agent.js';
import type { AgentEvent } from '../../src/events.js';
import type { TestPki } from '../fakes/tls-server.js';
import { makeWatchdogWorld, makeWorld, until, type WatchdogWorld, type World } from '../helpers/world.js';
import { expectInvariants, type FaultSubject, type InvariantOptions } from './invariants.js';

export const GOOD_IP = '81.2.69.160';
export const NEW_IP = '81.2.69.201';

export type FaultWorld = World &
  FaultSubject & {
    /** One DNS cycle now (as a sync command); resolves when it has finished. */
    cycle(): Promise<void>;
    /** Restarts the agent on the same state (a clean stop first) and starts it. */
    restartAndStart(): Promise<Agent>;
    check(o: InvariantOptions): Promise<void>;
  };

function collect(agent: Agent, events: AgentEvent[]): void {
  agent.events.on('fault-suite', (e) => {
    events.push(e);
  });
}

/** Adds the fault suite's parts to a world whose agent is built (not yet started). */
function extend<W extends World>(w: W): W & FaultWorld {
  const events: AgentEvent[] = [];
  collect(w.agent, events);
  const fw = w as W & FaultWorld;
  const restart = w.restart;
  Object.assign(fw, {
    events,
    lines: () => w.sink.lines(),
    cycle: async () => {
      if (!(await fw.agent.sync('fault suite'))) throw new Error('the agent did not run the cycle');
    },
    restart: async () => {
      const a = await restart();
      collect(a, events);
      return a;
    },
    restartAndStart: async () => {
      const a = await fw.restart();
      await a.start();
      await until(() => a.lastCycle !== null && !a.scheduler.running, 'the first cycle after the restart');
      return a;
    },
    check: (o: InvariantOptions) => expectInvariants(fw, o),
  });
  return fw;
}

/** A started agent on the simulated world; resolves after its first DNS cycle. */
export async function faultWorld(
  o: Parameters<typeof makeWorld>[0] & { start?: boolean } = {},
): Promise<FaultWorld> {
  const w = extend(await makeWorld(o));
  if (o.start !== false) {
    await w.agent.start();
    await until(() => w.agent.lastCycle !== null && !w.agent.scheduler.running, 'the first DNS cycle');
  }
  return w;
}

export type FaultWatchdogWorld = WatchdogWorld & FaultWorld;

/** The watchdog world (broker, router, WAN targets, Tasmota on the broker), extended. */
export async function faultWatchdogWorld(
  pki: TestPki,
  o: Parameters<typeof makeWatchdogWorld>[1] = {},
): Promise<FaultWatchdogWorld> {
  const w = extend(await makeWatchdogWorld(pki, { ...o, start: false }));
  if (o.start !== false) {
    await w.agent.start();
    await until(() => (w.agent.watchdog?.rounds ?? 0) >= 1, 'the first probe round');
    // The watchdog no longer waits for MQTT: wait until the agent listens on its command topics,
    // so a test's first command is not published before the broker knows the subscription.
    await until(
      () => w.broker.subscriptions.some((s) => s.includes('/command/')),
      'the command subscription',
    );
    await until(() => w.agent.lastCycle !== null && !w.agent.scheduler.running, 'the first DNS cycle');
  }
  return w as FaultWatchdogWorld;
}

/** Up to health ready: two good probe rounds. */
export async function ready(w: WatchdogWorld): Promise<void> {
  await w.roundsUntil(() => w.agent.watchdog?.health === 'ready', 'health ready', 4);
}
