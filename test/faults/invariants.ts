/**
 * The fault suite's invariant (issue 11.3), asserted after every fault:
 * 1. no wrong DNS write — every write in the fake Cloudflare's log carries a verified public IP;
 * 2. no crash — the in-process agent still answers a DNS cycle (and its watchdog still runs), no
 *    line says a cycle failed unexpectedly; a spawned agent exited with the documented code;
 * 3. no lost state — the state file on disk parses with the agent's own schema and holds what the
 *    agent holds in memory (or what the test says it must);
 * 4. the router is never left off — the plug fake ends on;
 * 5. a message that says what happened — a log line, an event, or a message in the published
 *    state (a record's message or error, the public IP's error: what MQTT, /state and the status
 *    page show) matches.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Agent } from '../../src/agent.js';
import type { AgentEvent } from '../../src/events.js';
import { type PersistedState, persistedStateSchema } from '../../src/state/schema.js';
import type { FakeCloudflare, LoggedRequest } from '../fakes/cloudflare.js';

/** What a fault test's world offers the invariant check. */
export interface FaultSubject {
  cf: FakeCloudflare;
  /** The running agent (the current one after a restart). */
  agent: Agent;
  stateDir: string;
  /** Parsed JSON log lines of the agent. */
  lines(): Array<Record<string, unknown>>;
  /** Every event the agent emitted (across restarts). */
  events: AgentEvent[];
}

export interface InvariantOptions {
  /** The verified public IPs of the run: the only contents a DNS write may carry. */
  verified: readonly string[];
  /** The message that says what happened: matched against each log line's msg, each event (JSON) and the state's messages. */
  said: RegExp | readonly RegExp[];
  /** The plug's relay (true = on); absent when the test has no plug. */
  plug?: () => boolean;
  /**
   * What the saved state must hold. Default: the records (id, content, status, last write) and
   * the public IP equal what the agent holds in memory.
   */
  state?: (saved: PersistedState, agent: Agent) => void;
  /** Deletions allowed (delete_on_stop). Default false. */
  deletes?: boolean;
  /** Skip the liveness cycle (the agent was stopped on purpose, or its cycle cannot end yet). */
  stopped?: boolean;
}

const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** The address contents a write request carries, and whether it deletes anything. */
export function writeContents(r: LoggedRequest): { contents: unknown[]; deletes: number } {
  const body = (typeof r.body === 'object' && r.body !== null ? r.body : {}) as Record<string, unknown>;
  if (r.path.endsWith('/dns_records/batch')) {
    const ops = (key: string) =>
      Array.isArray(body[key]) ? (body[key] as Array<Record<string, unknown>>) : [];
    return {
      contents: [...ops('posts'), ...ops('patches'), ...ops('puts')].map((o) => o?.content),
      deletes: ops('deletes').length,
    };
  }
  if (r.method === 'DELETE') return { contents: [], deletes: 1 };
  return { contents: 'content' in body ? [body.content] : [], deletes: 0 };
}

/** 1: every DNS write in the fake's log carries a verified IP (and nothing is deleted). */
export function expectNoWrongWrite(
  cf: FakeCloudflare,
  o: Pick<InvariantOptions, 'verified' | 'deletes'>,
): void {
  const writes = cf.requests.filter((r) => WRITE_METHODS.has(r.method));
  for (const w of writes) {
    const { contents, deletes } = writeContents(w);
    for (const c of contents) {
      expect(o.verified, `${w.method} ${w.path} wrote ${String(c)}: not a verified public IP`).toContain(c);
    }
    if (!o.deletes) expect(deletes, `${w.method} ${w.path} deleted a record`).toBe(0);
  }
}

/** The parts of a state that must survive on disk (no timestamps that per-cycle saves may skip). */
export function durable(s: PersistedState): unknown {
  return {
    public_ip: { ipv4: s.public_ip.ipv4, ipv6: s.public_ip.ipv6 },
    records: Object.fromEntries(
      Object.entries(s.dns.records).map(([k, r]) => [
        k,
        {
          record_id: r.record_id,
          zone_id: r.zone_id,
          content: r.content,
          status: r.status,
          last_written_content: r.last_written_content,
        },
      ]),
    ),
    recovery: s.recovery
      ? { enabled: s.recovery.enabled, current: s.recovery.current, cycles: s.recovery.cycles.length }
      : null,
  };
}

/** 3: the state file parses with the agent's schema (the way the agent loads it). */
export async function readSavedState(stateDir: string): Promise<PersistedState> {
  const text = await readFile(join(stateDir, 'state.json'), 'utf8');
  const parsed = persistedStateSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new Error(`the saved state does not load: ${parsed.error.message}`);
  return parsed.data;
}

/** The sentences the published state shows a user (record messages and errors, the IP's error). */
export function stateMessages(s: PersistedState): string[] {
  const out: string[] = [];
  if (s.public_ip.error) out.push(`state public_ip.error: ${s.public_ip.error}`);
  for (const [key, r] of Object.entries(s.dns.records)) {
    if (r.message) out.push(`state ${key} message: ${r.message}`);
    if (r.error) out.push(`state ${key} error: ${r.error}`);
  }
  return out;
}

/** 5: a log line, an event or a state message says what happened. */
export function expectSaid(
  lines: Array<Record<string, unknown>>,
  events: readonly AgentEvent[],
  said: RegExp | readonly RegExp[],
  extra: readonly string[] = [],
): void {
  const texts = [
    ...lines.map((l) => `${String(l.msg)}${l.err ? ` ${String(l.err)}` : ''}`),
    ...events.map((e) => JSON.stringify(e)),
    ...extra,
  ];
  for (const re of Array.isArray(said) ? said : [said as RegExp]) {
    // FAULTS_SHOW=1 prints what matched (the "observed" column of docs/reliability.md).
    if (process.env.FAULTS_SHOW)
      console.log(`said ${re}:\n  ${texts.find((t) => re.test(t)) ?? '(nothing)'}`);
    expect(
      texts.some((t) => re.test(t)),
      `no log line or event matches ${re}; saw:\n${texts.slice(-40).join('\n')}`,
    ).toBe(true);
  }
}

/** No line says the agent failed in a way it did not handle. */
export function expectNoUnhandled(lines: Array<Record<string, unknown>>): void {
  const bad = lines.filter(
    (l) => Number(l.level) >= 60 || /failed unexpectedly|This is a bug|unhandled/i.test(String(l.msg)),
  );
  expect(bad.map((l) => l.msg)).toEqual([]);
}

/** All five invariants for an in-process agent. */
export async function expectInvariants(w: FaultSubject, o: InvariantOptions): Promise<void> {
  // 2. No crash: the agent still runs a whole DNS cycle on demand, its watchdog still probes.
  if (!o.stopped) {
    expect(await w.agent.sync('fault suite: still alive?'), 'the agent no longer runs DNS cycles').toBe(true);
    if (w.agent.watchdog) expect(w.agent.watchdog.running, 'the watchdog stopped').toBe(true);
  }
  expectNoUnhandled(w.lines());
  // 1. No wrong DNS write (the liveness cycle included).
  expectNoWrongWrite(w.cf, o);
  // 3. No lost state.
  const saved = await readSavedState(w.stateDir);
  if (o.state) o.state(saved, w.agent);
  else expect(durable(saved)).toEqual(durable(w.agent.state.state));
  // 4. The router is never left off.
  if (o.plug) expect(o.plug(), 'the plug (router power) was left off').toBe(true);
  // 5. A message says what happened.
  expectSaid(w.lines(), w.events, o.said, stateMessages(w.agent.state.state));
}
