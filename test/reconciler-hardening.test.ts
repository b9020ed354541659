/**
 * Issue 6, points 5, 6 and the DoH half of 9, end to end against the fake Cloudflare:
 * - a refused read is retried on the permission schedule; only a refused write blocks a record;
 * - a write abandoned by a stop leaves the record out_of_sync, never in_sync;
 * - with DoH down, back-to-back cycles reuse the API's recent listing instead of listing again.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../src/events.js';
import type { LoggedRequest } from './fakes/cloudflare.js';
import { makeWorld, type World } from './helpers/world.js';

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

function events(w: World): AgentEvent[] {
  const got: AgentEvent[] = [];
  w.agent.events.on('test', (e) => {
    got.push(e);
  });
  return got;
}

function recordState(w: World, name: string, type: 'A' | 'AAAA' = 'A') {
  return w.agent.state.state.dns.records[`${name}/${type}`];
}

const writes = (w: World) => w.cf.requests.filter((r) => r.method !== 'GET');
const isRecordListing = (r: LoggedRequest) => r.method === 'GET' && /\/dns_records$/.test(r.path);
const isZoneListing = (r: LoggedRequest) => r.method === 'GET' && /\/zones$/.test(r.path);

const refusal = (code: number, message: string) => ({
  success: false,
  errors: [{ code, message }],
  messages: [],
  result: null,
});

describe('a refused read is retried on the permission schedule (issue 6.5)', () => {
  it.each([
    ['read/zone listing', /\/zones$/, isZoneListing],
    ['read/record listing', /\/dns_records$/, isRecordListing],
  ])('%s/400 once/retried after 10 min and the record is written', async (_name, path, isRead) => {
    world = await makeWorld({ records: ['a.example.com'] });
    world.cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.1' });
    world.cf.failNext({ method: 'GET', path, status: 400, body: refusal(1000, 'Invalid request') });
    const r1 = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r1.ok).toBe(false);
    const st = recordState(world, 'a.example.com')!;
    expect(st.status).toBe('error');
    expect(st.blocked_for).toBeNull();
    expect(r1.retryAt).toBe(world.clock.now() + 600_000);
    // It says what happened: a read was refused, and when it is tried again.
    expect(st.error).toContain('Invalid request');
    expect(st.message).toMatch(/read/i);
    expect(st.message).toMatch(/every 10 min/);
    expect(world.sink.text()).toMatch(/Could not read A a\.example\.com/);

    // The permission schedule: nothing before 10 min…
    world.cf.clearLog();
    await world.clock.advance(9 * 60_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests.filter(isRead)).toEqual([]);
    // …then it is read again and the change is made, with the IP unchanged.
    await world.clock.advance(60_000 + 1);
    const r2 = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r2.ok).toBe(true);
    expect(world.cf.records({ name: 'a.example.com' })[0]?.content).toBe('81.2.69.160');
    expect(recordState(world, 'a.example.com')?.status).toBe('in_sync');
  });

  it('write/400 still blocks the record until the IP changes', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    world.cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.1' });
    world.cf.failNext({
      method: 'PATCH',
      status: 400,
      body: refusal(9005, 'Content for A record is invalid.'),
    });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(recordState(world, 'a.example.com')?.blocked_for).not.toBeNull();
    world.cf.clearLog();
    await world.clock.advance(3_600_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(writes(world)).toEqual([]);
    expect(recordState(world, 'a.example.com')?.message).toMatch(/refused the last change/);
  });

  it('read/400 on the re-listing after a vanished record id is retried, not blocked', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    world.cf.deleteRecord(world.cf.records({ name: 'a.example.com' })[0]!.id);
    world.cf.failNext({ method: 'GET', path: /\/dns_records$/, status: 400, body: refusal(1000, 'Bad') });
    world.setIp('81.2.69.171');
    await world.clock.advance(60_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(recordState(world, 'a.example.com')?.blocked_for).toBeNull();
    await world.clock.advance(600_001);
    expect((await world.agent.reconciler.runCycle({ reason: 'test' })).ok).toBe(true);
    expect(world.cf.records({ name: 'a.example.com' })[0]?.content).toBe('81.2.69.171');
  });
});

describe('a stop while a write is in flight never leaves in_sync behind (issue 6.6)', () => {
  it('single PATCH held at Cloudflare, cycle aborted: out_of_sync in memory and on disk, no failure event', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(recordState(world, 'a.example.com')?.status).toBe('in_sync');
    const ev = events(world);
    world.cf.failNext({ method: 'PATCH', hang: true });
    world.setIp('81.2.69.176');
    await world.clock.advance(60_000);
    const stop = new AbortController();
    const cycle = world.agent.reconciler.runCycle({ reason: 'test', signal: stop.signal });
    await world.cf.waitForRequest((r) => r.method === 'PATCH');
    stop.abort();
    const result = await cycle;
    expect(result.ok).toBe(false);
    const st = recordState(world, 'a.example.com')!;
    expect(st.status).toBe('out_of_sync');
    expect(st.message).toMatch(/abandoned/);
    expect(st.next_attempt_at).toBeNull();
    expect(ev.filter((e) => e.type === 'dns_update_failed')).toEqual([]);
    const saved = JSON.parse(await readFile(join(world.stateDir, 'state.json'), 'utf8'));
    expect(saved.dns.records['a.example.com/A'].status).toBe('out_of_sync');
    // What MQTT and /state publish.
    expect(world.agent.status().dns.records['a.example.com']?.status).toBe('out_of_sync');
    expect(world.agent.status().dns.status).toBe('out_of_sync');
  });

  it('batch held at Cloudflare, cycle aborted: every record in it out_of_sync, no one-by-one fallback', async () => {
    world = await makeWorld({ records: ['a.example.com', 'b.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    world.cf.failNext({ method: 'POST', path: /\/batch$/, hang: true });
    world.setIp('81.2.69.177');
    await world.clock.advance(60_000);
    world.cf.clearLog();
    world.sink.clear();
    const stop = new AbortController();
    const cycle = world.agent.reconciler.runCycle({ reason: 'test', signal: stop.signal });
    await world.cf.waitForRequest((r) => r.path.endsWith('/batch'));
    stop.abort();
    await cycle;
    for (const name of ['a.example.com', 'b.example.com']) {
      expect(recordState(world, name)?.status).toBe('out_of_sync');
    }
    expect(writes(world).map((r) => r.method)).toEqual(['POST']); // the batch only
    expect(world.sink.text()).not.toMatch(/writing them one by one/);
  });

  it('DoH lookup held, cycle aborted after the IP changed: the record does not keep saying in_sync', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    world.cf.clearLog();
    world.cf.failNext({ target: 'doh', hang: true });
    world.setIp('81.2.69.180');
    await world.clock.advance(60_000);
    const stop = new AbortController();
    const cycle = world.agent.reconciler.runCycle({ reason: 'test', signal: stop.signal });
    await world.cf.waitForRequest(() => true, { target: 'doh' });
    stop.abort();
    await cycle;
    const st = recordState(world, 'a.example.com')!;
    expect(st.status).toBe('out_of_sync');
    expect(st.message).toMatch(/abandoned/);
    expect(world.cf.requests).toEqual([]); // no API call, no write
    // A stop is not a DoH outage: no warning about DoH.
    expect(world.sink.text()).not.toMatch(/DoH lookup of a\.example\.com A failed/);
  });

  it('agent stop (SIGTERM) during a held PATCH: the final save says out_of_sync', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    world.agent.start();
    await world.agent.sync('test');
    world.cf.failNext({ method: 'PATCH', hang: true });
    world.setIp('81.2.69.178');
    const sync = world.agent.sync('test');
    await world.cf.waitForRequest((r) => r.method === 'PATCH');
    await world.agent.stop({ graceMs: 0 });
    await sync;
    const saved = JSON.parse(await readFile(join(world.stateDir, 'state.json'), 'utf8'));
    expect(saved.dns.records['a.example.com/A'].status).not.toBe('in_sync');
    expect(saved.dns.records['a.example.com/A'].status).toBe('out_of_sync');
  });
});

describe('DoH down: the API listing is reused instead of repeated (issue 6.9)', () => {
  it('back-to-back cycles list the zone at most once per window, and a real change is still written', async () => {
    world = await makeWorld({ records: ['a.example.com', 'b.example.com'] });
    world.cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.160' });
    world.cf.addRecord({ name: 'b.example.com', type: 'A', content: '81.2.69.160' });
    world.cf.failNext({ target: 'doh', status: 500, times: 1_000_000 });

    for (let i = 0; i < 40; i++) {
      const r = await world.agent.reconciler.runCycle({ reason: 'command' });
      expect(r.ok).toBe(true);
      await world.clock.advance(250); // 40 cycles in 10 s
    }
    expect(world.cf.requests.filter(isRecordListing)).toHaveLength(1);
    expect(writes(world)).toEqual([]);

    // The IP changes within the window: written at once from the listing we have.
    world.setIp('81.2.69.179');
    const r = await world.agent.reconciler.runCycle({ reason: 'command' });
    expect(r.ok).toBe(true);
    expect(world.cf.records({ type: 'A' }).map((x) => x.content)).toEqual(['81.2.69.179', '81.2.69.179']);
    expect(writes(world)).toHaveLength(1); // one batch
    // Our own write updates what we remember: no second write, still no listing.
    for (let i = 0; i < 10; i++) {
      await world.clock.advance(250);
      await world.agent.reconciler.runCycle({ reason: 'command' });
    }
    expect(writes(world)).toHaveLength(1);
    expect(world.cf.requests.filter(isRecordListing)).toHaveLength(1);
    expect(recordState(world, 'a.example.com')?.status).toBe('in_sync');

    // After the window the zone is read again (an edit behind our back is still found).
    world.cf.updateRecord(world.cf.records({ name: 'b.example.com' })[0]!.id, { content: '81.2.69.5' });
    await world.clock.advance(60_000);
    await world.agent.reconciler.runCycle({ reason: 'interval' });
    expect(world.cf.requests.filter(isRecordListing)).toHaveLength(2);
    expect(world.cf.records({ name: 'b.example.com' })[0]?.content).toBe('81.2.69.179');
  });
});

describe('a cached id that cannot be a Cloudflare id (a hand-edited state file)', () => {
  it.each([
    ['record id/lone surrogate/looked up again, written in the same cycle', 'record_id', '\ud800', 1],
    ['record id/dot-dot/looked up again, written in the same cycle', 'record_id', '..', 1],
    ['zone id/lone surrogate/dropped, written at the next try (backoff)', 'zone_id', 'a\udfffb', 2],
  ] as const)('%s, never sent', async (_n, field, bad, cycles) => {
    world = await makeWorld({ records: ['a.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    const contents = () => world!.cf.records({ name: 'a.example.com', type: 'A' }).map((r) => r.content);
    expect(contents()).toEqual(['81.2.69.160']);
    recordState(world, 'a.example.com')![field] = bad;
    world.setIp('81.2.69.190');
    world.cf.clearLog();
    let r = await world.agent.reconciler.runCycle({ reason: 'test' });
    if (cycles === 2) {
      expect(contents()).toEqual(['81.2.69.160']);
      expect(recordState(world, 'a.example.com')!.zone_id).toBeNull();
      expect(recordState(world, 'a.example.com')!.error).toMatch(
        /cannot be a Cloudflare id.*looked up again/,
      );
      expect(r.retryAt).not.toBeNull();
      await world.clock.advance(r.retryAt! - world.clock.now());
      r = await world.agent.reconciler.runCycle({ reason: 'test' });
    }
    expect(contents()).toEqual(['81.2.69.190']);
    expect(r.ok).toBe(true);
    const st = recordState(world, 'a.example.com')!;
    expect(st.status).toBe('in_sync');
    expect(st[field]).toMatch(/^[0-9a-f]{32}$/);
    // Only real ids went out.
    for (const req of world.cf.requests) expect(req.path).toMatch(/^[\w/.-]*$/);
    expect(world.cf.requests.some((q) => q.path.includes('/..'))).toBe(false);
  });
});
