/**
 * End-to-end DNS reconciliation against a fake Cloudflare API + DoH server and fake IP echo
 * services, all real HTTP on 127.0.0.1. Each test asserts on the fake's request log: which calls
 * reached "Cloudflare" and with what body.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentEvent } from '../src/events.js';
import { makeWorld, TOKEN, type World } from './helpers/world.js';

let world: World | null = null;
afterEach(async () => {
  await world?.close();
  world = null;
});

function writes(w: World) {
  return w.cf.requests.filter((r) => r.method !== 'GET');
}

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

describe('reconciler against the fake Cloudflare', () => {
  it('creates a missing record, then a steady state makes zero Cloudflare calls', async () => {
    world = await makeWorld({ records: ['home.example.com'] });
    const ev = events(world);
    const r1 = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r1.ok).toBe(true);
    expect(world.cf.records({ name: 'home.example.com' })).toMatchObject([
      { type: 'A', content: '81.2.69.160', ttl: 60 },
    ]);
    expect(writes(world).map((r) => r.method)).toEqual(['POST']);
    expect(ev.map((e) => e.type)).toEqual(['ip_changed', 'dns_updated']);

    world.cf.clearLog();
    for (let i = 0; i < 5; i++) {
      await world.clock.advance(61_000);
      const r = await world.agent.reconciler.runCycle({ reason: 'interval' });
      expect(r.ok).toBe(true);
    }
    expect(world.cf.requests).toEqual([]); // DoH only
    expect(world.cf.dohRequests.length).toBeGreaterThanOrEqual(5);
    expect(recordState(world, 'home.example.com')?.status).toBe('in_sync');
  });

  it('an IP change PATCHes content only and keeps TTL, proxied flag, comment and tags', async () => {
    world = await makeWorld({ records: ['home.example.com'] });
    world.cf.addRecord({
      name: 'home.example.com',
      type: 'A',
      content: '81.2.69.1',
      ttl: 3600,
      comment: 'my vpn',
      tags: ['team:home'],
    });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    const patch = writes(world);
    expect(patch.map((r) => r.method)).toEqual(['PATCH']);
    expect(patch[0]?.body).toEqual({ content: '81.2.69.160' });
    expect(world.cf.records({ name: 'home.example.com' })[0]).toMatchObject({
      content: '81.2.69.160',
      ttl: 3600,
      comment: 'my vpn',
      tags: ['team:home'],
      proxied: false,
    });

    // Second change: the record id is cached, so no listing before the PATCH.
    world.cf.clearLog();
    world.setIp('81.2.69.161');
    await world.clock.advance(3_601_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      expect.stringMatching(/^PATCH \/client\/v4\/zones\/[^/]+\/dns_records\/[^/]+$/),
    ]);
  });

  it('a proxied record (DoH shows the edge) is read through the API, not rewritten, and cached for an hour', async () => {
    world = await makeWorld({ records: ['www.example.com'] });
    world.cf.addRecord({ name: 'www.example.com', type: 'A', content: '81.2.69.160', proxied: true, ttl: 1 });
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ok).toBe(true);
    expect(writes(world)).toEqual([]);
    expect(recordState(world, 'www.example.com')?.status).toBe('in_sync');
    const reads = world.cf.requests.length;
    expect(reads).toBeGreaterThan(0);

    world.cf.clearLog();
    await world.clock.advance(30 * 60_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests).toEqual([]); // cached

    await world.clock.advance(31 * 60_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests.filter((q) => q.method === 'GET').length).toBeGreaterThan(0); // re-read hourly
    expect(writes(world)).toEqual([]);
  });

  it('a proxied record is updated (content only) when the IP changes', async () => {
    world = await makeWorld({ records: ['www.example.com'] });
    world.cf.addRecord({ name: 'www.example.com', type: 'A', content: '81.2.69.1', proxied: true, ttl: 1 });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(writes(world).map((q) => q.body)).toEqual([{ content: '81.2.69.160' }]);
    expect(world.cf.records({ name: 'www.example.com' })[0]).toMatchObject({ proxied: true, ttl: 1 });
  });

  it('two changes in one zone go in one batch call', async () => {
    world = await makeWorld({ records: ['a.example.com', 'b.example.com', 'c.example.com'] });
    world.cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.1' });
    world.cf.addRecord({ name: 'b.example.com', type: 'A', content: '81.2.69.1' });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    const w = writes(world);
    expect(w).toHaveLength(1);
    expect(w[0]?.path).toMatch(/\/dns_records\/batch$/);
    expect(w[0]?.body).toMatchObject({
      patches: [{ content: '81.2.69.160' }, { content: '81.2.69.160' }],
      posts: [{ name: 'c.example.com', type: 'A', content: '81.2.69.160' }],
    });
    for (const n of ['a', 'b', 'c']) {
      expect(world.cf.records({ name: `${n}.example.com` })[0]?.content).toBe('81.2.69.160');
    }
  });

  it('a failing batch falls back to single writes', async () => {
    world = await makeWorld({ records: ['a.example.com', 'b.example.com'] });
    world.cf.failNext({ method: 'POST', path: /batch$/, status: 500 });
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ok).toBe(true);
    expect(writes(world).map((q) => `${q.method} ${q.path.replace(/.*\/dns_records/, '')}`)).toEqual([
      'POST /batch',
      'POST ',
      'POST ',
    ]);
    expect(world.cf.records({ type: 'A' })).toHaveLength(2);
  });

  it('several records of one type for a name are reported, never flattened', async () => {
    world = await makeWorld({ records: ['rr.example.com', 'ok.example.com'] });
    world.cf.addRecord({ name: 'rr.example.com', type: 'A', content: '81.2.69.1' });
    world.cf.addRecord({ name: 'rr.example.com', type: 'A', content: '81.2.69.2' });
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ok).toBe(false);
    expect(recordState(world, 'rr.example.com')?.status).toBe('error');
    expect(recordState(world, 'rr.example.com')?.error).toMatch(/2 A records exist .*round-robin/);
    expect(
      world.cf
        .records({ name: 'rr.example.com' })
        .map((x) => x.content)
        .sort(),
    ).toEqual(['81.2.69.1', '81.2.69.2']);
    expect(recordState(world, 'ok.example.com')?.status).toBe('in_sync');
  });

  it('81057 on create (it already exists) → re-listed and treated as satisfied', async () => {
    world = await makeWorld({ records: ['home.example.com'] });
    // Our listing does not show the record yet (someone creates it meanwhile)…
    world.cf.failNext({
      method: 'GET',
      path: /dns_records$/,
      status: 200,
      body: {
        success: true,
        errors: [],
        messages: [],
        result: [],
        result_info: { page: 1, per_page: 5000, count: 0, total_count: 0, total_pages: 1 },
      },
    });
    // …so our create meets "already exists".
    world.cf.failNext({
      method: 'POST',
      path: /dns_records$/,
      status: 400,
      body: {
        success: false,
        errors: [{ code: 81057, message: 'Record already exists.' }],
        messages: [],
        result: null,
      },
    });
    world.cf.addRecord({ name: 'home.example.com', type: 'A', content: '81.2.69.160' });
    world.cf.staleDoh?.('home.example.com', null);
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ok).toBe(true);
    expect(writes(world).map((q) => q.method)).toEqual(['POST']);
    expect(world.cf.records({ name: 'home.example.com' })).toHaveLength(1);
    expect(recordState(world, 'home.example.com')?.status).toBe('in_sync');
    expect(recordState(world, 'home.example.com')?.record_id).toBe(
      world.cf.records({ name: 'home.example.com' })[0]?.id,
    );
  });
});

describe('IP consensus decides whether anything is written', () => {
  it('one lying source out of three, quorum 2: the honest pair wins', async () => {
    world = await makeWorld({ records: ['home.example.com'] });
    world.setAnswers(['81.2.69.160', '81.2.69.99', '81.2.69.160']);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.records({ name: 'home.example.com' })[0]?.content).toBe('81.2.69.160');
  });

  it('two sources, one lying, quorum 2: nothing is written and the state names both sources', async () => {
    world = await makeWorld({ records: ['home.example.com'], sources: 2 });
    world.setAnswers(['81.2.69.160', '81.2.69.99']);
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ok).toBe(false);
    expect(world.cf.requests).toEqual([]);
    const pub = world.agent.state.state.public_ip;
    expect(pub.verified).toBe(false);
    for (const url of world.ipSourceUrls) expect(pub.error).toContain(url);
  });

  it('all sources answering HTML: nothing moves and the state says why', async () => {
    world = await makeWorld({ records: ['home.example.com'] });
    world.cf.addRecord({ name: 'home.example.com', type: 'A', content: '81.2.69.1' });
    world.setAnswers(Array(3).fill({ body: '<html><body>Please log in to the hotel Wi-Fi</body></html>' }));
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ipVerified).toBe(false);
    expect(world.cf.requests).toEqual([]);
    expect(world.cf.records({ name: 'home.example.com' })[0]?.content).toBe('81.2.69.1');
    expect(world.agent.state.state.public_ip.error).toMatch(/HTML|not an (IP )?address/i);
  });

  it('an unverified IP keeps the last verified one', async () => {
    world = await makeWorld({ records: ['home.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    world.setAnswers(['garbage', 'garbage', 'garbage']);
    await world.clock.advance(60_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    const pub = world.agent.state.state.public_ip;
    expect(pub.ipv4).toBe('81.2.69.160');
    expect(pub.verified).toBe(false);
  });
});

describe('Cloudflare failures', () => {
  it('429 with Retry-After: no call reaches Cloudflare before it elapses', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    world.cf.failNext({
      path: /zones$/,
      status: 429,
      headers: { 'retry-after': '120' },
      body: {
        success: false,
        errors: [{ code: 971, message: 'Please wait and consider throttling your request speed' }],
        messages: [],
        result: null,
      },
    });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(recordState(world, 'a.example.com')?.status).toBe('error');
    world.cf.clearLog();
    for (const t of [30_000, 30_000, 30_000]) {
      await world.clock.advance(t);
      await world.agent.reconciler.runCycle({ reason: 'test' });
    }
    expect(world.cf.requests).toEqual([]); // 90 s < 120 s
    await world.clock.advance(31_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests.length).toBeGreaterThan(0);
    expect(recordState(world, 'a.example.com')?.status).toBe('in_sync');
  });

  it('429 without Retry-After pauses for 300 s', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    world.cf.failNext({ path: /zones$/, status: 429 });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    world.cf.clearLog();
    await world.clock.advance(299_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests).toEqual([]);
    await world.clock.advance(2_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests.length).toBeGreaterThan(0);
  });

  it('5xx → exponential backoff with jitter, then success', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    world.cf.failNext({ path: /zones$/, status: 503, times: 3 });
    const ev = events(world);
    const r1 = await world.agent.reconciler.runCycle({ reason: 'test' });
    const st = () => recordState(world!, 'a.example.com')!;
    expect(st().status).toBe('error');
    // random() = 0.5 → first wait is half of 5 s
    expect(r1.retryAt).toBe(world.clock.now() + 2_500);
    // during the backoff, cycles do not call the API for this record
    world.cf.clearLog();
    await world.clock.advance(1_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests).toEqual([]);
    await world.clock.advance(2_000);
    const r2 = await world.agent.reconciler.runCycle({ reason: 'test' }); // 2nd failure → ≤ 10 s
    expect(r2.retryAt).toBe(world.clock.now() + 5_000);
    await world.clock.advance(5_000);
    const r3 = await world.agent.reconciler.runCycle({ reason: 'test' }); // 3rd failure → ≤ 20 s
    expect(r3.retryAt).toBe(world.clock.now() + 10_000);
    await world.clock.advance(10_000);
    const r4 = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r4.ok).toBe(true);
    expect(st().status).toBe('in_sync');
    // Three identical failures in one outage: one event and one warning (retries log at debug).
    expect(ev.filter((e) => e.type === 'dns_update_failed')).toHaveLength(1);
    expect(
      world.sink.lines().filter((l) => l.level === 'warn' && String(l.msg).startsWith('Could not update')),
    ).toHaveLength(1);
  });

  it.each([
    ['401/zones', /zones$/, 401, /Zone · Zone · Read/],
    ['403/zones', /zones$/, 403, /Zone · Zone · Read/],
    ['403/records', /dns_records$/, 403, /Zone · DNS · Edit/],
  ])(
    '%s → error naming the missing permission, retried only after 10 min',
    async (_n, path, status, perm) => {
      world = await makeWorld({ records: ['a.example.com'] });
      world.cf.failNext({
        path,
        status,
        times: 5,
        body: {
          success: false,
          errors: [{ code: 10000, message: 'Authentication error' }],
          messages: [],
          result: null,
        },
      });
      await world.agent.reconciler.runCycle({ reason: 'test' });
      expect(recordState(world, 'a.example.com')?.error).toMatch(perm);
      world.cf.clearLog();
      await world.clock.advance(9 * 60_000);
      await world.agent.reconciler.runCycle({ reason: 'test' });
      expect(world.cf.requests).toEqual([]);
    },
  );

  it.each([
    ['not-json', 'this is not json'],
    ['html', '<html>502 Bad Gateway</html>'],
    ['wrong-shape', JSON.stringify({ success: true, result: [{ id: 5 }] })],
  ])('a malformed API body (%s) is a failure, never a crash', async (_n, body) => {
    world = await makeWorld({ records: ['a.example.com'] });
    world.cf.failNext({ path: /zones$/, status: 200, body, headers: { 'content-type': 'application/json' } });
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ok).toBe(false);
    expect(recordState(world, 'a.example.com')?.status).toBe('error');
    // and it recovers on the next attempt
    await world.clock.advance(10 * 60_000);
    expect((await world.agent.reconciler.runCycle({ reason: 'test' })).ok).toBe(true);
  });

  it('a failing record does not stop the next', async () => {
    world = await makeWorld({ records: ['bad.example.com', 'good.example.com'] });
    const bad = world.cf.addRecord({ name: 'bad.example.com', type: 'A', content: '81.2.69.1' });
    world.cf.addRecord({ name: 'good.example.com', type: 'A', content: '81.2.69.1' });
    // The batch fails, then the single write of the first record fails; the second still gets its update.
    world.cf.failNext({ method: 'POST', path: /batch$/, status: 500 });
    world.cf.failNext({ method: 'PATCH', path: new RegExp(`${bad.id}$`), status: 500 });
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ok).toBe(false);
    expect(recordState(world, 'bad.example.com')?.status).toBe('error');
    expect(world.cf.records({ name: 'good.example.com' })[0]?.content).toBe('81.2.69.160');
  });

  it('other 4xx: the API message, not retried until the IP changes', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    world.cf.failNext({
      method: 'POST',
      status: 400,
      body: {
        success: false,
        errors: [{ code: 9005, message: 'Content for A record is invalid.' }],
        messages: [],
        result: null,
      },
    });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(recordState(world, 'a.example.com')?.error).toContain('Content for A record is invalid.');
    world.cf.clearLog();
    await world.clock.advance(3_600_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(writes(world)).toEqual([]);
    world.setIp('81.2.69.170');
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.records({ name: 'a.example.com' })[0]?.content).toBe('81.2.69.170');
  });

  it('a PATCH on a vanished record id re-lists and recreates', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    // Someone deletes the record in the dashboard; DoH and the id cache are now stale.
    const rec = world.cf.records({ name: 'a.example.com' })[0]!;
    world.cf.deleteRecord?.(rec.id);
    world.setIp('81.2.69.171');
    await world.clock.advance(60_000);
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ok).toBe(true);
    expect(world.cf.records({ name: 'a.example.com' })[0]?.content).toBe('81.2.69.171');
  });
});

describe('cadence and modes', () => {
  it('min_update_interval_seconds defers a second change (not dropped)', async () => {
    world = await makeWorld({ records: ['a.example.com'], overrides: { min_update_interval_seconds: 600 } });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    world.setIp('81.2.69.172');
    await world.clock.advance(60_000);
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(recordState(world, 'a.example.com')?.status).toBe('out_of_sync');
    expect(r.retryAt).toBe(world.clock.now() + 540_000);
    expect(world.cf.records({ name: 'a.example.com' })[0]?.content).toBe('81.2.69.160');
    await world.clock.advance(540_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.records({ name: 'a.example.com' })[0]?.content).toBe('81.2.69.172');
  });

  it('resolver caches: an old DoH answer within the TTL after our write is "updating", not a new write', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    world.cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.1', ttl: 300 });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(writes(world)).toHaveLength(1);
    world.cf.staleDoh?.('a.example.com', '81.2.69.1');
    world.cf.clearLog();
    await world.clock.advance(60_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(writes(world)).toEqual([]);
    expect(recordState(world, 'a.example.com')?.status).toBe('updating');
  });

  it('dry-run does everything but write, and says what it would do', async () => {
    world = await makeWorld({ records: ['a.example.com', 'b.example.com'], overrides: { mode: 'dry-run' } });
    world.cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.1' });
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(writes(world)).toEqual([]);
    expect(recordState(world, 'a.example.com')).toMatchObject({
      status: 'dry_run',
      message: 'would update A a.example.com from 81.2.69.1 to 81.2.69.160',
    });
    expect(recordState(world, 'b.example.com')?.message).toBe('would create A b.example.com → 81.2.69.160');
    expect(r.changes).toBe(2);
    expect(world.sink.text()).toContain('Dry run: would update A a.example.com');
  });

  it('no token: dry-run observing through DoH only, no API call at all', async () => {
    world = await makeWorld({ records: ['a.example.com'], token: null });
    expect(world.config.mode).toBe('dry-run');
    world.cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.1' });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests).toEqual([]);
    expect(recordState(world, 'a.example.com')?.message).toBe(
      'would update A a.example.com from 81.2.69.1 to 81.2.69.160',
    );
  });

  it('ip_version both: A and AAAA are kept, each from its own family', async () => {
    world = await makeWorld({ records: ['a.example.com'], overrides: { ip_version: 'both' } });
    world.setAnswers(['81.2.69.160', '81.2.69.160', '81.2.69.160']);
    // The echo servers answer v4 only here; v6 has no quorum, so AAAA is untouched but A is written.
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ipVerified).toBe(false);
    expect(world.cf.records({ name: 'a.example.com', type: 'A' })[0]?.content).toBe('81.2.69.160');
    expect(world.cf.records({ name: 'a.example.com', type: 'AAAA' })).toEqual([]);
  });

  it('the token never appears in logs, state or events', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    const ev = events(world);
    world.cf.failNext({ path: /zones$/, status: 403 });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    await world.clock.advance(700_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.sink.text()).not.toContain(TOKEN);
    expect(JSON.stringify(world.agent.state.state)).not.toContain(TOKEN);
    expect(JSON.stringify(ev)).not.toContain(TOKEN);
  });
});

describe('call budget', () => {
  it('first start with 250 missing records: one zone list, one record listing, two batch calls (chunks of 200)', async () => {
    const records = Array.from({ length: 250 }, (_, i) => `h${i}.example.com`);
    world = await makeWorld({ records });
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ok).toBe(true);
    expect(world.cf.requests.map((q) => `${q.method} ${q.path.replace(/zones\/[^/]+/, 'zones/Z')}`)).toEqual([
      'GET /client/v4/zones',
      'GET /client/v4/zones/Z/dns_records',
      'POST /client/v4/zones/Z/dns_records/batch',
      'POST /client/v4/zones/Z/dns_records/batch',
    ]);
    expect(world.cf.records({ type: 'A' })).toHaveLength(250);
  });

  it('records in two zones: each zone gets its own batch', async () => {
    world = await makeWorld({
      records: ['a.example.com', 'b.example.com', 'a.example.net', 'b.example.net'],
      zones: ['example.com', 'example.net'],
    });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests.filter((q) => q.path.endsWith('/batch'))).toHaveLength(2);
  });

  it('the longest visible zone wins (sub.example.com over example.com)', async () => {
    world = await makeWorld({ records: ['a.sub.example.com'], zones: ['example.com', 'sub.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    const rec = world.cf.records({ name: 'a.sub.example.com' })[0];
    const sub = world.cf.zones().find((z) => z.name === 'sub.example.com');
    expect(rec?.zoneId).toBe(sub?.id);
  });

  it('a record in no visible zone: an error saying to add the zone to the token', async () => {
    world = await makeWorld({ records: ['a.other.org'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(recordState(world, 'a.other.org')?.error).toMatch(
      /no zone visible to the API token contains a\.other\.org/,
    );
    // Its own code, retried like a permission problem: every 10 min.
    expect(recordState(world, 'a.other.org')?.next_attempt_at).toBe(world.clock.now() + 600_000);
  });
});

describe('agent lifecycle', () => {
  it('delete_on_stop removes the managed records on a clean stop', async () => {
    world = await makeWorld({
      records: ['a.example.com', 'b.example.com'],
      overrides: { delete_on_stop: true },
    });
    world.agent.start();
    await world.agent.sync('test');
    expect(world.cf.records({ type: 'A' })).toHaveLength(2);
    await world.agent.stop({ graceMs: 500 });
    expect(world.cf.records({ type: 'A' })).toEqual([]);
  });

  it('state survives a restart: record ids are reused, no listing needed', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    await world.agent.stop();
    const { Agent } = await import('../src/agent.js');
    const again = await Agent.create({
      config: world.config,
      logger: world.sink.logger,
      clock: world.clock,
      random: () => 0.5,
      mqtt: false,
    });
    world.setIp('81.2.69.190');
    world.cf.clearLog();
    await again.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.requests.map((q) => q.method)).toEqual(['PATCH']);
    await again.stop();
  });
});

describe('heartbeat and webhook from a running agent', () => {
  it('pings /start, success after a good cycle, /fail after a failed one, and POSTs events', async () => {
    const { startEchoServer } = await import('./fakes/ip-echo.js');
    const hb = await startEchoServer('OK');
    const hook = await startEchoServer('OK');
    world = await makeWorld({
      records: ['a.example.com'],
      overrides: {
        heartbeat_url: new URL('/ping/uuid', hb.url).toString(),
        webhook_url: new URL('/hook', hook.url).toString(),
      },
    });
    try {
      world.agent.start();
      await world.agent.sync('test');
      world.cf.failNext({ method: 'PATCH', status: 500, times: 5 });
      world.setIp('81.2.69.200');
      await world.agent.sync('test');
      await world.agent.stop({ graceMs: 100 });
      const paths = hb.requests.map((r) => r.url);
      expect(paths).toContain('/ping/uuid/start');
      expect(paths).toContain('/ping/uuid');
      expect(paths).toContain('/ping/uuid/fail');
      expect(paths[paths.length - 1]).toBe('/ping/uuid/0');
      const types = hook.requests.map((r) => JSON.parse(r.body).type);
      expect(types).toEqual(expect.arrayContaining(['ip_changed', 'dns_updated', 'dns_update_failed']));
    } finally {
      await hb.close();
      await hook.close();
    }
  });
});

describe('log volume during a long outage', () => {
  it('an unverified IP is warned about once per outage, then one line when it recovers', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    world.setAnswers(['<html>portal</html>', '<html>portal</html>', '<html>portal</html>']);
    for (let i = 0; i < 30; i++) {
      await world.clock.advance(60_000);
      await world.agent.reconciler.runCycle({ reason: 'test' });
    }
    const warns = world.sink
      .lines()
      .filter((l) => l.level === 'warn' && String(l.msg).includes('Could not verify'));
    expect(warns).toHaveLength(1);
    expect(String(warns[0]?.msg)).toContain('Logged once until it recovers');
    world.setIp('81.2.69.160');
    await world.clock.advance(60_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    const back = world.sink.lines().filter((l) => String(l.msg).includes('is verified again ('));
    expect(back).toHaveLength(1);
    expect(String(back[0]?.msg)).toMatch(/lasted about 3\d min/);
    expect(world.agent.state.state.public_ip.verified).toBe(true);
  });
});

describe('resolver caches and records that change behind our back (review findings)', () => {
  it('IP goes A → B → A while resolvers still cache A: the API is asked and the record goes back to A', async () => {
    world = await makeWorld({ records: ['a.example.com'], ip: '81.2.69.160' });
    world.cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.1', ttl: 3600 });
    await world.agent.reconciler.runCycle({ reason: 'test' }); // writes .160
    expect(world.cf.records({ name: 'a.example.com' })[0]?.content).toBe('81.2.69.160');
    world.cf.staleDoh?.('a.example.com', '81.2.69.1'); // a resolver still serves the old answer
    world.setIp('81.2.69.1'); // and the IP is back to it
    await world.clock.advance(60_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(world.cf.records({ name: 'a.example.com' })[0]?.content).toBe('81.2.69.1');
  });

  it('a second record added after our write: reported once as a conflict, never rewritten every cycle', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    const ev = events(world);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    world.cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.2' });
    world.cf.clearLog();
    for (let i = 0; i < 60; i++) {
      await world.clock.advance(60_000);
      await world.agent.reconciler.runCycle({ reason: 'test' });
    }
    expect(writes(world)).toEqual([]);
    expect(recordState(world, 'a.example.com')?.status).toBe('error');
    expect(recordState(world, 'a.example.com')?.error).toMatch(/2 A records exist/);
    expect(ev.filter((e) => e.type === 'dns_update_failed')).toHaveLength(1);
    expect(ev.filter((e) => e.type === 'dns_updated')).toHaveLength(1); // the first create only
    expect(world.cf.requests.length).toBeLessThanOrEqual(7); // looked at again every 10 min
  });

  it('resolvers keep a negative answer after our create: no repeated writes, the API checked every 10 min', async () => {
    world = await makeWorld({ records: ['new.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    world.cf.staleDoh?.('new.example.com', null); // NXDOMAIN cached for 30 min
    world.cf.clearLog();
    for (let i = 0; i < 30; i++) {
      await world.clock.advance(60_000);
      await world.agent.reconciler.runCycle({ reason: 'test' });
    }
    expect(writes(world)).toEqual([]);
    expect(world.cf.requests.length).toBeLessThanOrEqual(3);
    expect(recordState(world, 'new.example.com')?.status).toBe('updating');
  });

  it('a cached zone id that no longer exists is dropped and the zone found again', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    const st = recordState(world, 'a.example.com')!;
    st.zone_id = '0123456789abcdef0123456789abcdef';
    st.record_id = 'fedcba9876543210fedcba9876543210';
    world.setIp('81.2.69.175');
    await world.clock.advance(60_000);
    await world.agent.reconciler.runCycle({ reason: 'test' });
    await world.clock.advance(600_000);
    const r = await world.agent.reconciler.runCycle({ reason: 'test' });
    expect(r.ok).toBe(true);
    expect(world.cf.records({ name: 'a.example.com' })[0]?.content).toBe('81.2.69.175');
  });

  it('stopping in the middle of a write abandons it quietly: no failure event, the record is not marked as failing', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    const ev = events(world);
    world.cf.failNext({ method: 'PATCH', hang: true });
    world.setIp('81.2.69.176');
    await world.clock.advance(60_000);
    const stop = new AbortController();
    const cycle = world.agent.reconciler.runCycle({ reason: 'test', signal: stop.signal });
    await world.cf.waitForRequest((r) => r.method === 'PATCH');
    stop.abort();
    await cycle;
    expect(ev.filter((e) => e.type === 'dns_update_failed')).toEqual([]);
    expect(recordState(world, 'a.example.com')?.status).not.toBe('error');
    expect(recordState(world, 'a.example.com')?.next_attempt_at).toBeNull();
  });

  it('ip_version both: the state names the family that failed even when the other one is verified', async () => {
    world = await makeWorld({ records: ['a.example.com'], overrides: { ip_version: 'both' } });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    const pub = world.agent.state.state.public_ip;
    expect(pub.ipv4).toBe('81.2.69.160');
    expect(pub.verified).toBe(false);
    expect(pub.error).toMatch(/^IPv6: /);
    expect(pub.sources_agreeing.length).toBeGreaterThanOrEqual(2);
  });
});

describe('zone setting changes', () => {
  it('moving a record to another zone (zone changed in the config) writes into the new zone', async () => {
    world = await makeWorld({
      records: ['a.sub.example.com'],
      zones: ['example.com', 'sub.example.com'],
      overrides: { zone: 'example.com' },
    });
    await world.agent.reconciler.runCycle({ reason: 'test' });
    const parent = world.cf.zones().find((z) => z.name === 'example.com')!;
    const sub = world.cf.zones().find((z) => z.name === 'sub.example.com')!;
    expect(world.cf.records({ name: 'a.sub.example.com' }).map((r) => r.zoneId)).toEqual([parent.id]);
    await world.agent.stop();
    // A state file from before zone names were kept: only the zone id is known.
    const { readFile, writeFile } = await import('node:fs/promises');
    const file = `${world.config.state_dir}/state.json`;
    const saved = JSON.parse(await readFile(file, 'utf8'));
    saved.dns.records['a.sub.example.com/A'].zone_name = null;
    await writeFile(file, JSON.stringify(saved));
    const { Agent } = await import('../src/agent.js');
    const moved = await Agent.create({
      config: { ...world.config, zone: 'sub.example.com' },
      logger: world.sink.logger,
      clock: world.clock,
      random: () => 0.5,
      mqtt: false,
    });
    world.setIp('81.2.69.199');
    await moved.reconciler.runCycle({ reason: 'test' });
    const inSub = world.cf.records({ name: 'a.sub.example.com' }).filter((r) => r.zoneId === sub.id);
    expect(inSub.map((r) => r.content)).toEqual(['81.2.69.199']);
    await moved.stop();
  });
});

describe('a record already right at Cloudflare while resolvers still cache "no such name"', () => {
  it('is listed once, then left alone: no write of the same content', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    world.cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.160' });
    world.cf.staleDoh?.('a.example.com', null);
    for (let i = 0; i < 30; i++) {
      await world.agent.reconciler.runCycle({ reason: 'test' });
      await world.clock.advance(60_000);
    }
    expect(writes(world)).toEqual([]);
    expect(world.cf.requests.length).toBeLessThanOrEqual(5);
    expect(recordState(world, 'a.example.com')?.status).toBe('updating');
  });
});

describe('commands while stopping', () => {
  it('a sync asked for after the stop began answers ok=false instead of reporting an old cycle', async () => {
    world = await makeWorld({ records: ['a.example.com'] });
    await world.agent.start();
    await world.agent.sync('test');
    await world.agent.stop({ graceMs: 0 });
    expect(await world.agent.commands.sync(undefined)).toEqual({
      ok: false,
      message: 'the agent is stopping; the sync did not run',
    });
  });
});
