/**
 * One agent process of a crash lane, from the check of the state it starts on to its SIGKILL.
 *
 * Before the spawn: the state directory loads (never a fresh state: nothing lost), and a plug that
 * is off has a cycle in progress in that state (else nothing would ever switch it on). Then the
 * process is the "next start" of the last kill: its first DNS cycle must end in sync with the
 * verified IP at the fake Cloudflare, the plug must be on within PLUG_ON_LIMIT_MS, and a state
 * restored from `.bak` must be said in its log. Then it is killed at a random point of its plan:
 * - `early`: anywhere in its first 1.6 s (state load, the first DNS writes, the plug's first act);
 * - `write`: the IP changes and the kill lands around the DNS write the proxy holds in flight;
 * - `reboot`: a `reboot` command starts a power cycle and the kill lands in it;
 * - `natural`: the WAN has been down long enough for the watchdog's own cycle, and the kill lands in it.
 */
import { freshRecovery, startCycle } from '../../src/domain/recovery-state.js';
import { publishAsync } from '../fakes/plugs/broker.js';
import { type AgentProcess, startAgentProcess } from '../helpers/agent-process.js';
import type { WriteHold } from '../helpers/write-delay-proxy.js';
import { BASE, type Lane, loadCopy, OFF_SECONDS, RECORDS, saveState, tempFilesLeft } from './lab.js';

export type Plan = 'early' | 'write' | 'reboot' | 'natural';

/**
 * The longest a restarted agent may take, from its spawn, to switch a plug left off back on (it
 * took about 2 s at the median on a loaded 2-core machine; the bound leaves room for CI).
 */
export const PLUG_ON_LIMIT_MS = 10_000;
/** How long a start may take to run its first DNS cycle and switch the plug on (a loaded CI machine). */
const VERIFY_MS = 20_000;

export type Rng = () => number;

/** A small seeded generator (mulberry32), so a failing run can be replayed with CRASH_SEED. */
export function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomIp(rng: Rng): string {
  return `81.2.${Math.floor(rng() * 256)}.${1 + Math.floor(rng() * 254)}`;
}

export interface KillRecord {
  lane: number;
  plan: Plan;
  /** Milliseconds from spawn to the kill. */
  atMs: number;
  /** A DNS write was in flight at the proxy. */
  midWrite: boolean;
  /** The plug was off, or the state held a cycle in progress. */
  midCycle: boolean;
  /** A save's temp file was left in state_dir. */
  midSave: boolean;
  /** The start before this kill was verified before the kill (early kills may come first). */
  startVerified: boolean;
}

export interface StartRecord {
  /** Outcome of loading the state this process started on. */
  outcome: string;
  /** Spawn → plug on, when the plug was off at the spawn. */
  plugOnMs: number | null;
  /** Spawn → first DNS cycle finished. */
  firstCycleMs: number | null;
}

export interface LaneTally {
  kills: KillRecord[];
  starts: StartRecord[];
  failures: string[];
  rebootsRefused: number;
}

/** What the test checks on every DNS write that reaches the proxy: it carries the verified IP. */
export function watchWrites(lane: Lane, tally: LaneTally, hook: { onWrite: (() => void) | null }): void {
  lane.proxy.onWrite = (w) => {
    let body: unknown;
    try {
      body = JSON.parse(w.body);
    } catch {
      body = w.body;
    }
    if (w.method === 'DELETE') tally.failures.push(`lane ${lane.id}: a DELETE reached Cloudflare: ${w.url}`);
    for (const c of contentsOf(body)) {
      if (c !== lane.ip) {
        tally.failures.push(
          `lane ${lane.id}: wrong write ${w.method} ${w.url} content ${c}, IP is ${lane.ip}`,
        );
      }
    }
    hook.onWrite?.();
  };
}

function contentsOf(body: unknown): string[] {
  if (Array.isArray(body)) return body.flatMap(contentsOf);
  if (typeof body !== 'object' || body === null) return [];
  return Object.entries(body).flatMap(([k, v]) =>
    k === 'content' && typeof v === 'string' ? [v] : contentsOf(v),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await sleep(5);
  }
  return true;
}

/** The fake holds exactly one A record per name, each with the IP the sources answer. */
function dnsProblem(lane: Lane): string | null {
  for (const name of RECORDS) {
    const rs = lane.cf.records({ name, type: 'A' });
    if (rs.length !== 1 || rs[0]?.content !== lane.ip) {
      return `${name}: ${JSON.stringify(rs.map((r) => r.content))} at Cloudflare, IP is ${lane.ip}`;
    }
  }
  return null;
}

function randomHold(rng: Rng): Exclude<WriteHold, { kind: 'none' }> {
  const ms = 80 + Math.floor(rng() * 420);
  return rng() < 0.5 ? { kind: 'before', ms } : { kind: 'after', ms };
}

/**
 * The checks of a start: the plug on within PLUG_ON_LIMIT_MS of the spawn (timed from the spawn,
 * whatever else the agent does first), the first DNS cycle in sync with the fake matching, and a
 * `.bak` restore said in the log. Resolves true when all were seen, false when the process was
 * killed first; failures are tallied.
 */
async function verifyStart(
  lane: Lane,
  p: AgentProcess,
  start: StartRecord,
  o: { relayOffAtSpawn: boolean; bakUsed: boolean; tally: LaneTally },
): Promise<boolean> {
  const fail = (m: string) => o.tally.failures.push(`lane ${lane.id} pid ${p.pid}: ${m}`);
  const plug = until(() => lane.plug.relay.on || !p.running(), PLUG_ON_LIMIT_MS).then((on) => {
    if (!lane.plug.relay.on && !p.running()) return false;
    if (!on) {
      fail(`the plug was still off ${PLUG_ON_LIMIT_MS} ms after the start`);
      return false;
    }
    if (o.relayOffAtSpawn) start.plugOnMs = lane.plug.relay.changes.at(-1)!.at - p.spawnedAt;
    return true;
  });
  let first: Awaited<ReturnType<AgentProcess['waitForLog']>>;
  try {
    first = await p.waitForLog((l) => l.msg === 'DNS cycle finished', 'the first DNS cycle', VERIFY_MS);
  } catch (err) {
    await plug;
    if (!p.running()) return false;
    fail(String(err));
    return false;
  }
  start.firstCycleMs = Date.now() - p.spawnedAt;
  if (first.status !== 'in_sync') fail(`first DNS cycle ended ${String(first.status)}, not in_sync`);
  const dns = dnsProblem(lane);
  if (dns !== null) fail(`after the first DNS cycle: ${dns}`);
  if (!(await plug)) return false;
  if (o.bakUsed && !p.logs().some((l) => String(l.msg ?? '').includes('.bak'))) {
    fail('the state was restored from .bak but the agent did not say so');
  }
  return true;
}

/**
 * Checks the state, plans a process (`choose` is told whether a cycle is in progress, or the state
 * must be restored from `.bak`: a manual or natural cycle needs the history rewritten first, which
 * is not done then), starts it, verifies its start, and kills it.
 */
export async function runProcess(
  lane: Lane,
  choose: (cycleInProgress: boolean) => Plan,
  rng: Rng,
  tally: LaneTally,
  hook: { onWrite: (() => void) | null },
): Promise<void> {
  await lane.proxy.idle();
  const loaded = await loadCopy(lane.stateDir);
  // A state the agent must restore from `.bak` is left exactly as it is for the agent to find.
  const restore = loaded.outcome === 'from_backup';
  const plan = choose((loaded.state.recovery?.current ?? null) !== null || restore);
  const fail = (m: string) => tally.failures.push(`lane ${lane.id} (${plan}): ${m}`);
  const start: StartRecord = { outcome: loaded.outcome, plugOnMs: null, firstCycleMs: null };
  tally.starts.push(start);
  if (loaded.outcome === 'fresh') fail(`the state did not load: ${loaded.message ?? ''}`);
  const recovery = loaded.state.recovery;
  const current = recovery?.current ?? null;
  if (!lane.plug.relay.on && current === null) {
    fail('the plug is off and the state holds no cycle in progress: no start would switch it on');
  }
  // Preparation, on the state as the next agent will find it.
  if (plan === 'early' && rng() < 0.6) lane.ip = randomIp(rng);
  if ((plan === 'reboot' || plan === 'natural') && recovery && current === null) {
    await saveState(lane.stateDir, { ...loaded.state, recovery: { ...recovery, cycles: [] } });
  }
  if (plan === 'early' && current === null && !restore && rng() < 0.5) {
    const startedAt = Date.now() - Math.floor(rng() * 2000);
    const injected = startCycle(recovery ?? freshRecovery(), startedAt, {
      plug: 'http',
      offSeconds: OFF_SECONDS,
      reason: 'crash test: a cycle in flight',
    });
    await saveState(lane.stateDir, { ...loaded.state, recovery: injected });
    lane.plug.relay.set(false);
  }
  lane.proxy.hold = () => randomHold(rng);
  lane.broker.published.length = 0;
  const relayOffAtSpawn = !lane.plug.relay.on;
  const p = startAgentProcess(lane.env());
  const verified = verifyStart(lane, p, start, {
    relayOffAtSpawn,
    bakUsed: restore,
    tally,
  });
  let startVerified = false;
  void verified.then((v) => {
    startVerified = v;
  });

  if (plan === 'early') {
    await sleep(Math.floor(rng() * 1600));
  } else {
    await verified;
    if (!p.running()) {
      fail(`the agent exited by itself: ${p.stderr().slice(-400)}`);
      return;
    }
    await scenario(lane, p, plan, rng, tally, hook);
  }
  const midWrite = lane.proxy.inFlight > 0;
  const relayOff = !lane.plug.relay.on;
  const exit = await p.kill('SIGKILL');
  if (exit.signal !== 'SIGKILL') fail(`the agent had exited by itself (${JSON.stringify(exit)})`);
  hook.onWrite = null;
  const fresh = p.logs().find((l) => /starts with a fresh state/.test(String(l.msg ?? '')));
  if (fresh) fail(`the agent started on a fresh state: ${String(fresh.msg)}`);
  const after = await loadCopy(lane.stateDir);
  tally.kills.push({
    lane: lane.id,
    plan,
    atMs: Date.now() - p.spawnedAt,
    midWrite,
    midCycle: relayOff || (after.state.recovery?.current ?? null) !== null,
    midSave: tempFilesLeft(lane.stateDir) > 0,
    startVerified,
  });
}

/** The scenario after a verified start; resolves when the kill is due. */
async function scenario(
  lane: Lane,
  p: AgentProcess,
  plan: Exclude<Plan, 'early'>,
  rng: Rng,
  tally: LaneTally,
  hook: { onWrite: (() => void) | null },
): Promise<void> {
  if (plan === 'write') {
    await lane.proxy.idle();
    const hold = randomHold(rng);
    lane.proxy.hold = () => hold;
    const aimAtWrite = rng() < 0.6;
    const wrote = new Promise<void>((resolve) => {
      hook.onWrite = resolve;
    });
    lane.ip = randomIp(rng);
    if (aimAtWrite) {
      await Promise.race([wrote, sleep(4000)]);
      await sleep(Math.floor(rng() * (hold.ms + 100)));
    } else {
      await sleep(Math.floor(rng() * 1500));
    }
    return;
  }
  if (plan === 'reboot') {
    const sub = (t: string) => lane.broker.published.some((m) => m.topic === t);
    await until(() => sub(`${BASE}/state`) || !p.running(), VERIFY_MS);
    await publishAsync(lane.commander, `${BASE}/command/reboot`, 'PRESS');
    await sleep(Math.floor(rng() * (OFF_SECONDS * 1000 + 400)));
    const refused = lane.broker.published.find(
      (m) => m.topic === `${BASE}/command/result` && JSON.parse(m.payload).ok === false,
    );
    if (refused) tally.rebootsRefused++;
    return;
  }
  await p.waitForLog(
    (l) => String(l.msg ?? '').includes('power-cycling the router'),
    'the watchdog power-cycling the router',
    40_000,
  );
  await sleep(Math.floor(rng() * (OFF_SECONDS * 1000 + 400)));
}

/**
 * The last start of a lane: verified like every other, then stopped with SIGTERM — a clean stop
 * exits 0 and leaves a state that loads with no cycle in progress and the plug on.
 */
export async function cleanStart(lane: Lane, tally: LaneTally): Promise<void> {
  const fail = (m: string) => tally.failures.push(`lane ${lane.id} (last start): ${m}`);
  await lane.proxy.idle();
  const loaded = await loadCopy(lane.stateDir);
  const start: StartRecord = { outcome: loaded.outcome, plugOnMs: null, firstCycleMs: null };
  tally.starts.push(start);
  if (loaded.outcome === 'fresh') fail(`the state did not load: ${loaded.message ?? ''}`);
  lane.proxy.hold = () => ({ kind: 'none' });
  const relayOffAtSpawn = !lane.plug.relay.on;
  const p = startAgentProcess(lane.env());
  const ok = await verifyStart(lane, p, start, {
    relayOffAtSpawn,
    bakUsed: loaded.outcome === 'from_backup',
    tally,
  });
  if (!ok) fail('the start could not be verified');
  // The plug's first act may still be saving the finished cycle: wait until the state says so.
  await until(() => p.logs().some((l) => String(l.msg ?? '').startsWith('Watchdog started')), VERIFY_MS);
  const exit = await p.kill('SIGTERM');
  if (exit.code !== 0) fail(`a clean stop exited ${JSON.stringify(exit)}: ${p.stderr().slice(-400)}`);
  const after = await loadCopy(lane.stateDir);
  if (after.outcome !== 'loaded') fail(`after a clean stop the state loaded as ${after.outcome}`);
  if ((after.state.recovery?.current ?? null) !== null)
    fail('a cycle is still in progress after a clean stop');
  if (!lane.plug.relay.on) fail('the plug is off after a clean stop');
  const dns = dnsProblem(lane);
  if (dns !== null) fail(`after a clean stop: ${dns}`);
}
