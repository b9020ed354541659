/**
 * What the demo shows, step by step, against the running agent: records created → the ISP changes
 * the address and DNS converges → the WAN drops, the plug is cycled, the router comes back with a
 * new address and DNS resyncs. Each step breaks the world, then waits for what the agent does
 * about it (its events, and Cloudflare's records), within a deadline that names what was awaited.
 * `keepGoing` (`--forever`) then changes the world now and then until stopped.
 */
import type { Clock, Random } from '../clock.js';
import type { AgentEvent, EventBus, EventType } from '../events.js';
import type { StatusDocument } from '../status.js';
import { DEMO_RECORDS, DEMO_TIMINGS } from './config.js';
import { describeEvent, type Timeline } from './timeline.js';
import type { DemoWorld } from './world.js';

/** What the story needs of the agent (not the Agent class: only the composition root builds it). */
export interface AgentView {
  readonly events: EventBus;
  status(): StatusDocument;
}

export interface StoryContext {
  world: DemoWorld;
  agent: AgentView;
  timeline: Timeline;
  clock: Clock;
  random: Random;
  /** Aborted on Ctrl+C: every wait ends. */
  signal: AbortSignal;
}

/** A step did not happen in time: the message says what was awaited. */
export class StoryStalled extends Error {}
/** The demo was stopped (Ctrl+C) during a wait. */
export class StoryStopped extends Error {}

const POLL_MS = 100;

/** Resolves once `cond` holds; StoryStalled after `timeoutMs`, StoryStopped on the signal. */
async function until(ctx: StoryContext, cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = ctx.clock.now() + timeoutMs;
  while (!cond()) {
    if (ctx.signal.aborted) throw new StoryStopped('stopped');
    if (ctx.clock.now() > deadline) {
      throw new StoryStalled(`waited ${Math.round(timeoutMs / 1000)} s for ${what}, and it did not happen`);
    }
    await ctx.clock.sleep(POLL_MS, ctx.signal);
  }
}

/** Shows the agent's events on the timeline and remembers them. */
function watchAgent(agent: AgentView, timeline: Timeline): AgentEvent[] {
  const seen: AgentEvent[] = [];
  agent.events.on('demo', (event) => {
    seen.push(event);
    timeline.line('agent', describeEvent(event));
  });
  return seen;
}

const isUp = (health: string): boolean => health === 'ready' || health === 'degraded';
const names = DEMO_RECORDS.join(', ');

/**
 * The four steps, from the agent's start (`start`); resolves when DNS holds the address the router
 * came back with.
 */
export async function tellStory(ctx: StoryContext, start: () => Promise<void>): Promise<void> {
  const { world, agent, timeline } = ctx;
  const seen = watchAgent(agent, timeline);
  const after = (mark: number, type: EventType) => () => seen.slice(mark).some((e) => e.type === type);

  timeline.chapter('1. The agent starts: it finds the public IP and creates the DNS records');
  timeline.line(
    'world',
    `the ISP has given this home ${world.ip}; zone ${world.cloudflare.zone} has no records yet`,
  );
  await start();
  await until(
    ctx,
    () => world.dnsHolds(world.ip) && isUp(agent.status().health),
    `the records to be created with ${world.ip} and the health to be ready`,
    30_000,
  );
  timeline.line('world', `Cloudflare and DoH now answer ${world.ip} for ${names}`);

  timeline.chapter('2. The ISP changes the address; the agent sees it and DNS converges');
  const second = world.changeIp();
  await until(
    ctx,
    () => world.dnsHolds(second),
    `DNS to hold ${second} (a DNS cycle runs every ${DEMO_TIMINGS.interval_seconds} s)`,
    30_000,
  );
  timeline.line('world', `DNS converged: Cloudflare and DoH answer ${second} for ${names}`);

  timeline.chapter('3. The WAN drops; the agent power-cycles the router through the plug');
  const dropped = seen.length;
  world.dropWan();
  timeline.say(
    `   (the agent cycles only after ${DEMO_TIMINGS.wan_down_after_seconds} s of WAN down with the router answering, and never in its first ${DEMO_TIMINGS.wan_down_after_seconds} s)`,
  );
  await until(ctx, after(dropped, 'wan_down'), 'the agent to see the WAN down', 20_000);
  await until(ctx, after(dropped, 'power_cycle_started'), 'the power cycle to start', 45_000);
  await until(ctx, after(dropped, 'power_cycle_finished'), 'the power cycle to finish', 30_000);

  timeline.chapter('4. The router is back with a new address; DNS resyncs');
  // The first probe round that reaches the internet after the cycle syncs DNS; the WAN counts as
  // restored once the router's boot grace is over.
  await until(ctx, () => world.online, 'the router to boot and the line to come up', 45_000);
  const third = world.ip;
  await until(ctx, () => world.dnsHolds(third), `DNS to hold ${third}`, 45_000);
  timeline.line('world', `DNS resynced: Cloudflare and DoH answer ${third} for ${names}`);
  await until(ctx, after(dropped, 'wan_restored'), 'the agent to see the WAN restored', 45_000);
}

/** One paragraph of where things stand, from the agent's state document. */
export function summary(ctx: StoryContext): string {
  const s = ctx.agent.status();
  const records = Object.entries(s.dns.records)
    .map(([name, r]) => `${name} ${r.type} ${r.content ?? '—'} (${r.status})`)
    .join(', ');
  const availability =
    s.uptime.availability_24h === null ? 'not measured yet' : `${s.uptime.availability_24h} %`;
  return [
    `   health ${s.health}; public IPv4 ${s.public_ip.ipv4 ?? 'unknown'}`,
    `   records: ${records}`,
    `   power cycles: ${s.recovery.power_cycles_total}; Cloudflare API writes: ${ctx.world.apiWrites}; availability (24 h): ${availability}`,
  ].join('\n');
}

/** `--forever`: how often the world changes. */
export const FOREVER = {
  ipChangeMs: [120_000, 240_000],
  outageMs: [600_000, 1_200_000],
  /** An outage nobody power-cycles (Auto recovery switched off) ends by itself after this long. */
  selfHealMs: 300_000,
} as const;

/** Changes the world now and then until the signal: a new address, now and then an outage. */
export async function keepGoing(ctx: StoryContext): Promise<void> {
  const { world, clock, random, timeline } = ctx;
  const draw = ([min, max]: readonly [number, number]) => clock.now() + min + random() * (max - min);
  const minutes = (at: number) => `${Math.round((at - clock.now()) / 60_000)} min`;
  let nextIp = draw(FOREVER.ipChangeMs);
  let nextOutage = draw(FOREVER.outageMs);
  let downSince: number | null = null;
  timeline.line(
    'world',
    `next address change in about ${minutes(nextIp)}, next WAN outage in about ${minutes(nextOutage)}`,
  );
  while (!ctx.signal.aborted) {
    await clock.sleep(1000, ctx.signal);
    if (ctx.signal.aborted) return;
    const now = clock.now();
    if (world.online) downSince = null;
    if (now >= nextIp) {
      if (world.online) world.changeIp();
      nextIp = draw(FOREVER.ipChangeMs);
    }
    if (now >= nextOutage) {
      if (world.online) {
        world.dropWan();
        downSince = now;
      }
      nextOutage = draw(FOREVER.outageMs);
      timeline.line('world', `next WAN outage in about ${minutes(nextOutage)}`);
    }
    if (
      downSince !== null &&
      !world.online &&
      world.router.powered &&
      now - downSince >= FOREVER.selfHealMs
    ) {
      world.restoreWan();
      downSince = null;
    }
  }
}
