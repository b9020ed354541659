/**
 * Fault suite, DNS-over-HTTPS (SPEC §3): the resolver down (5xx, reset, hung, malformed) or lying
 * (a third address, NXDOMAIN, or "in sync" while Cloudflare holds something else). The agent
 * falls back to one API read, never writes on a resolver's word alone, and the five invariants
 * hold (test/faults/invariants.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeFault } from '../fakes/cloudflare.js';
import { type FaultWorld, faultWorld, GOOD_IP, NEW_IP } from './fault-world.js';

let w: FaultWorld | null = null;
afterEach(async () => {
  await w?.close();
  w = null;
});

const NAME = 'home.example.com';
const content = (fw: FaultWorld) => fw.cf.records({ name: NAME, type: 'A' }).map((r) => r.content);
const status = (fw: FaultWorld) => fw.agent.state.state.dns.records[`${NAME}/A`];
const writes = (fw: FaultWorld) => fw.cf.requests.filter((r) => r.method !== 'GET');

describe('DoH down: the API is read instead, the change still written', () => {
  it.each<[string, FakeFault]>([
    ['doh/500', { target: 'doh', status: 500, times: 1_000, body: 'internal error' }],
    ['doh/reset', { target: 'doh', reset: true, times: 1_000 }],
    ['doh/hung/abandoned-after-http_timeout_ms', { target: 'doh', hang: true, times: 1_000 }],
    ['doh/malformed-json', { target: 'doh', status: 200, times: 1_000, body: '{"Status":0,"Answer":[' }],
    ['doh/wrong-shape', { target: 'doh', status: 200, times: 1_000, body: { Status: 'ok', Answer: 'yes' } }],
  ])('%s', async (_name, fault) => {
    w = await faultWorld({ overrides: { http_timeout_ms: 300 } });
    w.cf.failNext(fault);
    w.setIp(NEW_IP);
    await w.clock.advance(1_000);
    await w.cycle();
    expect(content(w)).toEqual([NEW_IP]);
    expect(status(w)).toMatchObject({ status: 'in_sync', content: NEW_IP });
    // Steady state with DoH still down: observed through the API, at most one read a cycle, no write.
    w.cf.clearLog();
    for (let i = 0; i < 3; i++) {
      await w.clock.advance(60_000);
      await w.cycle();
    }
    expect(writes(w)).toEqual([]);
    expect(w.cf.requests.length).toBeLessThanOrEqual(3);
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: [
        /DoH lookup of home\.example\.com A failed .*reading the record through the Cloudflare API instead/,
        /Updated A home\.example\.com from 81\.2\.69\.160 to 81\.2\.69\.201/,
      ],
    });
  });
});

describe('DoH lying: one API read, no write on its word', () => {
  it('doh/lying-third-address/api-read-shows-ours-no-write', async () => {
    w = await faultWorld();
    await w.clock.advance(3_600_000);
    await w.cycle();
    w.cf.staleDoh(NAME, '81.2.69.99');
    w.cf.clearLog();
    for (let i = 0; i < 5; i++) {
      await w.clock.advance(60_000);
      await w.cycle();
    }
    expect(writes(w)).toEqual([]);
    expect(w.cf.requests.length).toBe(1); // one read confirms Cloudflare holds ours; then held
    expect(content(w)).toEqual([GOOD_IP]);
    await w.check({ verified: [GOOD_IP], said: /resolvers have not caught up/ });
  });

  it('doh/lying-nxdomain/api-read-shows-ours-no-create', async () => {
    w = await faultWorld();
    await w.clock.advance(3_600_000);
    await w.cycle();
    w.cf.staleDoh(NAME, null);
    w.cf.clearLog();
    for (let i = 0; i < 5; i++) {
      await w.clock.advance(60_000);
      await w.cycle();
    }
    expect(writes(w)).toEqual([]);
    expect(w.cf.requests.length).toBe(1);
    expect(content(w)).toEqual([GOOD_IP]);
    expect(w.cf.records({ name: NAME })).toHaveLength(1);
    await w.check({ verified: [GOOD_IP], said: /resolvers have not caught up/ });
  });

  it('doh/lying-says-in-sync/no-call-while-it-lies-repaired-when-it-stops', async () => {
    w = await faultWorld();
    await w.clock.advance(3_600_000);
    await w.cycle();
    // Someone edits the record while the resolver keeps serving ours.
    w.cf.staleDoh(NAME, GOOD_IP);
    w.cf.updateRecord(w.cf.records({ name: NAME })[0]!.id, { content: '81.2.69.99' });
    w.cf.clearLog();
    await w.clock.advance(60_000);
    await w.cycle();
    expect(w.cf.requests).toEqual([]); // DoH equal to the desired address → in sync, no API call (SPEC §3)
    w.cf.clearStaleDoh();
    await w.clock.advance(60_000);
    await w.cycle();
    expect(content(w)).toEqual([GOOD_IP]);
    await w.check({
      verified: [GOOD_IP],
      said: /Updated A home\.example\.com from 81\.2\.69\.99 to 81\.2\.69\.160/,
    });
  });
});
