/**
 * Drift within one interval (SPEC §3, issue 11 point 1), end to end over the fake Cloudflare: a
 * record edited (or deleted, or joined by a second record) behind the agent's back is found by the
 * next cycle — one API read confirms it — and repaired in that cycle, even seconds after the
 * agent's own write; disagreement that resolver lag explains (the old content within its TTL, no
 * answer yet for a new name) is held without writes, and a second record is reported, never
 * flattened, never rewritten in a loop. Each cycle here is one interval: the clock moves by the
 * interval and the cycle runs, as the scheduler does.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/schema.js';
import type { AgentEvent } from '../src/events.js';
import { makeWorld, type World } from './helpers/world.js';

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

const NAME = 'a.example.com';
const OLD = '81.2.69.1';
const DESIRED = '81.2.69.160';
const EDIT = '81.2.69.99';

/** A world with OLD at Cloudflare, interval 2 s, the default min_update_interval (60 s). */
async function start(overrides: Partial<Config> = {}, ttl = 60): Promise<World & { id: string }> {
  const w = await makeWorld({
    records: [NAME],
    ip: DESIRED,
    overrides: { interval_seconds: 2, jitter_seconds: 0, min_update_interval_seconds: 60, ...overrides },
  });
  const { id } = w.cf.addRecord({ name: NAME, type: 'A', content: OLD, ttl });
  world = w;
  return Object.assign(w, { id });
}

/** One interval passes and the cycle runs, as the scheduler does. */
async function nextCycle(w: World, seconds = 2) {
  await w.clock.advance(seconds * 1000);
  return w.agent.reconciler.runCycle({ reason: 'interval' });
}

const content = (w: World) => w.cf.records({ name: NAME }).map((r) => r.content);
const apiCalls = (w: World) =>
  w.cf.requests.map((r) => `${r.method} ${r.path.replace(/^.*\/client\/v4/, '')}`);
const writes = (w: World) => w.cf.requests.filter((r) => r.method !== 'GET');
const state = (w: World) => w.agent.state.state.dns.records[`${NAME}/A`]!;

function events(w: World): AgentEvent[] {
  const got: AgentEvent[] = [];
  w.agent.events.on('test', (e) => {
    got.push(e);
  });
  return got;
}

describe('an edit behind our back is repaired by the next cycle', () => {
  it('edit/seconds-after-our-write/one-read-confirms-it-and-the-next-cycle-repairs-it', async () => {
    const w = await start();
    await w.agent.reconciler.runCycle({ reason: 'ip change' }); // OLD → DESIRED
    expect(content(w)).toEqual([DESIRED]);
    const ev = events(w);
    await w.clock.advance(3_000);
    w.cf.updateRecord(w.id, { content: EDIT }); // someone edits it in the dashboard
    w.cf.clearLog();
    const r = await nextCycle(w);
    expect(content(w)).toEqual([DESIRED]);
    expect(apiCalls(w)).toEqual([
      `GET /zones/${w.zoneId}/dns_records`,
      `PATCH /zones/${w.zoneId}/dns_records/${w.id}`,
    ]);
    expect(writes(w)[0]?.body).toEqual({ content: DESIRED });
    expect(r.ok).toBe(true);
    expect(state(w).status).toBe('in_sync');
    expect(ev.filter((e) => e.type === 'dns_updated')).toMatchObject([{ old: EDIT, new: DESIRED }]);
  });

  it('edit/long-after-our-write/repaired-by-the-next-cycle', async () => {
    const w = await start();
    await w.agent.reconciler.runCycle({ reason: 'ip change' });
    for (let i = 0; i < 5; i++) await nextCycle(w, 720); // an hour of quiet cycles
    w.cf.updateRecord(w.id, { content: EDIT });
    w.cf.clearLog();
    await nextCycle(w);
    expect(content(w)).toEqual([DESIRED]);
    expect(writes(w).map((q) => q.method)).toEqual(['PATCH']);
  });

  it('edit/back-to-the-old-content-after-resolvers-showed-ours/repaired-not-taken-for-lag', async () => {
    const w = await start();
    await w.agent.reconciler.runCycle({ reason: 'ip change' });
    await nextCycle(w); // resolvers show DESIRED
    expect(state(w).status).toBe('in_sync');
    w.cf.updateRecord(w.id, { content: OLD });
    await nextCycle(w);
    expect(content(w)).toEqual([DESIRED]);
  });

  it('delete/seconds-after-our-patch/recreated-by-the-next-cycle', async () => {
    const w = await start();
    await w.agent.reconciler.runCycle({ reason: 'ip change' });
    await w.clock.advance(3_000);
    w.cf.deleteRecord(w.id);
    w.cf.clearLog();
    await nextCycle(w);
    expect(content(w)).toEqual([DESIRED]);
    expect(writes(w).map((q) => q.method)).toEqual(['POST']);
  });

  it('edit/repeated-every-interval/each-repaired-one-read-and-one-write-a-cycle', async () => {
    const w = await start();
    await w.agent.reconciler.runCycle({ reason: 'ip change' });
    w.cf.clearLog();
    for (let i = 0; i < 5; i++) {
      w.cf.updateRecord(w.id, { content: `81.2.69.${100 + i}` });
      await nextCycle(w);
      expect(content(w)).toEqual([DESIRED]);
    }
    expect(w.cf.requests).toHaveLength(10);
  });
});

/** Waits (real time) for something the running agent does; fails saying what did not happen. */
async function until(cond: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise<void>((r) => setImmediate(r));
  }
}

describe('as a new user tried it: the agent running, interval 2 s', () => {
  it('user/edit-a-second-after-an-ip-change/repaired-by-the-timer-within-one-interval', async () => {
    const w = await start();
    await w.agent.start(); // the first cycle writes the new address (OLD → DESIRED)
    await until(() => w.agent.scheduler.cycles >= 1, 'the first cycle');
    expect(content(w)).toEqual([DESIRED]);
    await w.clock.advance(1_000);
    w.cf.updateRecord(w.id, { content: EDIT }); // a second later, an edit in the dashboard
    const editedAt = w.clock.now();
    await w.clock.advance(1_000); // the interval ends: the timer's cycle runs
    await until(() => content(w)[0] === DESIRED, 'the repair');
    expect(w.clock.now() - editedAt).toBeLessThanOrEqual(2_000);
  });
});

describe('disagreement that lag explains is held: no write', () => {
  it('old-content/within-ttl-of-our-write/updating-no-call-no-write', async () => {
    const w = await start({}, 300);
    await w.agent.reconciler.runCycle({ reason: 'ip change' });
    w.cf.staleDoh(NAME, OLD); // a resolver still serves what our write replaced
    w.cf.clearLog();
    for (let i = 0; i < 10; i++) await nextCycle(w);
    expect(w.cf.requests).toEqual([]);
    expect(state(w).status).toBe('updating');
    expect(content(w)).toEqual([DESIRED]);
  });

  it('new-name/no-answer-yet/no-write-api-read-at-most-every-10-min', async () => {
    const w = await start();
    w.cf.deleteRecord(w.id);
    await w.agent.reconciler.runCycle({ reason: 'first start' }); // creates it
    expect(content(w)).toEqual([DESIRED]);
    w.cf.staleDoh(NAME, null); // resolvers keep a negative answer (up to 30 min)
    w.cf.clearLog();
    for (let i = 0; i < 300; i++) await nextCycle(w); // 10 min
    expect(writes(w)).toEqual([]);
    expect(w.cf.requests.length).toBeLessThanOrEqual(1);
    expect(state(w).status).toBe('updating');
  });

  it('third-content/cloudflare-holds-ours/one-read-then-held-not-read-every-cycle', async () => {
    const w = await start();
    await w.agent.reconciler.runCycle({ reason: 'ip change' });
    await w.clock.advance(3_000);
    w.cf.staleDoh(NAME, EDIT); // a resolver shows an edit that was undone at once
    w.cf.clearLog();
    for (let i = 0; i < 30; i++) await nextCycle(w); // one minute
    expect(writes(w)).toEqual([]);
    expect(apiCalls(w)).toEqual([`GET /zones/${w.zoneId}/dns_records`]);
    expect(state(w).status).toBe('updating');
  });
});

describe('a second record is a conflict, never a rewrite loop', () => {
  it('second-record/added-seconds-after-our-write/conflict-reported-once-no-write-no-loop', async () => {
    const w = await start();
    await w.agent.reconciler.runCycle({ reason: 'ip change' });
    const ev = events(w);
    await w.clock.advance(3_000);
    w.cf.addRecord({ name: NAME, type: 'A', content: EDIT, ttl: 60 });
    w.cf.clearLog();
    for (let i = 0; i < 300; i++) await nextCycle(w); // 10 min
    expect(writes(w)).toEqual([]);
    expect(content(w).sort()).toEqual([EDIT, DESIRED].sort());
    expect(state(w).status).toBe('error');
    expect(state(w).error).toMatch(/2 A records exist for a\.example\.com/);
    expect(ev.filter((e) => e.type === 'dns_update_failed')).toHaveLength(1);
    expect(w.cf.requests.length).toBeLessThanOrEqual(2); // looked at again every 10 min
  });
});
