/**
 * CloudflareClient against the fake Cloudflare API (real HTTP on 127.0.0.1) and a few raw
 * node:http servers for what the fake cannot say (broken bodies, resets, silence). Every failure
 * must come out as a CloudflareApiError of the right kind, and the token must never leak.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudflareClient, DEFAULT_RETRY_AFTER_MS, parseRetryAfter } from '../src/dns/cloudflare/client.js';
import type { NewRecord, RecordPatch } from '../src/dns/dns-provider.js';
import {
  AppError,
  CloudflareApiError,
  type CloudflareFailureKind,
  DohError,
  PlugError,
  RecordSetError,
  ZoneNotFoundError,
} from '../src/errors.js';
import { ManualClock } from './fakes/clock.js';
import { FakeCloudflare } from './fakes/cloudflare.js';
import { logSink } from './helpers/log-sink.js';

const TOKEN = 'cf-client-test-token-5f0e9a7c3b1d';
const dispatcher = new Agent({ connect: { timeout: 2_000 } });

/** Every error any test saw, checked at the end for the token. */
const seen: unknown[] = [];
// No `secrets` here: the sink must not be what keeps the token out of the logs.
const sink = logSink({ level: 'debug' });

let cf: FakeCloudflare;
let clock: ManualClock;
let client: CloudflareClient;
let zoneId: string;

function makeClient(apiUrl: string, options: { timeoutMs?: number; token?: string } = {}): CloudflareClient {
  return new CloudflareClient({
    apiUrl,
    token: options.token ?? TOKEN,
    dispatcher,
    timeoutMs: options.timeoutMs ?? 2_000,
    clock,
    logger: sink.logger,
  });
}

async function failure(promise: Promise<unknown>, kind: CloudflareFailureKind): Promise<CloudflareApiError> {
  const err = await promise.then(
    () => {
      throw new Error(`expected a ${kind} failure, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  seen.push(err);
  expect(err).toBeInstanceOf(CloudflareApiError);
  const cfErr = err as CloudflareApiError;
  expect({ kind: cfErr.kind, message: cfErr.message }).toMatchObject({ kind });
  return cfErr;
}

beforeEach(async () => {
  cf = await FakeCloudflare.start({ token: TOKEN });
  clock = new ManualClock();
  client = makeClient(cf.apiUrl);
  zoneId = cf.addZone('example.com');
});

afterEach(async () => {
  await cf.close();
});

afterAll(async () => {
  for (const err of seen) {
    const e = err as Error & { cause?: unknown };
    expect(e.message).not.toContain(TOKEN);
    expect(String(e.cause ?? '')).not.toContain(TOKEN);
    expect(JSON.stringify(e)).not.toContain(TOKEN);
  }
  expect(seen.length).toBeGreaterThan(20);
  expect(sink.text()).not.toContain(TOKEN);
  expect(sink.text()).toContain('Cloudflare GET /client/v4/zones'); // it did log requests
  await dispatcher.close();
});

describe('reading', () => {
  it('lists zones across pages (per_page=50, following result_info.total_pages)', async () => {
    for (const n of ['b.net', 'C.org', 'd.io', 'e.dev', 'f.app', 'g.xyz']) cf.addZone(n);
    cf.maxPerPage = 3; // the server pages at 3, whatever we ask
    const zones = await client.listZones();
    expect(zones.map((z) => z.name)).toEqual([
      'example.com',
      'b.net',
      'c.org',
      'd.io',
      'e.dev',
      'f.app',
      'g.xyz',
    ]);
    expect(zones[0]).toEqual({ id: zoneId, name: 'example.com' });
    expect(cf.requests.map((r) => [r.method, r.path, r.query])).toEqual([
      ['GET', '/client/v4/zones', { per_page: '50', page: '1' }],
      ['GET', '/client/v4/zones', { per_page: '50', page: '2' }],
      ['GET', '/client/v4/zones', { per_page: '50', page: '3' }],
    ]);
    expect(cf.requests[0]?.auth).toBe(`Bearer ${TOKEN}`);
  });

  it('lists records of one name and type with name.exact and type, across pages', async () => {
    for (let i = 1; i <= 7; i++) cf.addRecord({ name: 'rr.example.com', type: 'A', content: `81.2.69.${i}` });
    cf.addRecord({ name: 'rr.example.com', type: 'AAAA', content: '2001:db8::1' });
    cf.addRecord({ name: 'other.example.com', type: 'A', content: '81.2.69.99' });
    cf.maxPerPage = 3;
    const recs = await client.listRecords(zoneId, { name: 'RR.Example.com.', type: 'A' });
    expect(recs.map((r) => r.content)).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `81.2.69.${i}`));
    expect(recs[0]).toEqual({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      zoneId,
      name: 'rr.example.com',
      type: 'A',
      content: '81.2.69.1',
      proxied: false,
      ttl: 1,
      comment: null,
      tags: [],
    });
    expect(cf.requests.map((r) => r.query)).toEqual(
      [1, 2, 3].map((page) => ({
        'name.exact': 'rr.example.com',
        type: 'A',
        per_page: '5000',
        page: String(page),
      })),
    );
  });

  it('an unfiltered listing keeps A and AAAA records and skips the other types', async () => {
    cf.addRecord({ name: 'example.com', type: 'TXT', content: 'v=spf1 -all' });
    cf.addRecord({ name: 'www.example.com', type: 'CNAME', content: 'example.com' });
    cf.addRecord({
      name: 'a.example.com',
      type: 'A',
      content: '81.2.69.1',
      proxied: true,
      comment: 'x',
      tags: ['k:v'],
    });
    cf.addRecord({ name: 'a.example.com', type: 'AAAA', content: '2001:DB8:0::1', ttl: 120 });
    const recs = await client.listRecords(zoneId);
    expect(recs.map((r) => [r.type, r.name, r.content, r.proxied, r.ttl, r.comment, r.tags])).toEqual([
      ['A', 'a.example.com', '81.2.69.1', true, 1, 'x', ['k:v']],
      ['AAAA', 'a.example.com', '2001:db8::1', false, 120, null, []],
    ]);
    expect(cf.requests[0]?.query).toEqual({ per_page: '5000', page: '1' });
  });
});

describe('writing', () => {
  it('creates a record and returns it', async () => {
    const rec = await client.createRecord(zoneId, {
      name: 'Home.example.com',
      type: 'A',
      content: '81.2.69.160',
      ttl: 60,
    });
    expect(rec).toMatchObject({
      zoneId,
      name: 'home.example.com',
      type: 'A',
      content: '81.2.69.160',
      ttl: 60,
      proxied: false,
    });
    expect(cf.records({ name: 'home.example.com' })).toEqual([{ ...rec }]);
    expect(cf.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      [
        'POST',
        `/client/v4/zones/${zoneId}/dns_records`,
        { type: 'A', name: 'home.example.com', content: '81.2.69.160', ttl: 60 },
      ],
    ]);
    await client.createRecord(zoneId, {
      name: 'p.example.com',
      type: 'AAAA',
      content: '2001:db8::5',
      ttl: 1,
      proxied: true,
    });
    expect(cf.requests[1]?.body).toEqual({
      type: 'AAAA',
      name: 'p.example.com',
      content: '2001:db8::5',
      ttl: 1,
      proxied: true,
    });
  });

  it('PATCH sends the content only, and the record keeps its TTL, proxied flag, comment and tags', async () => {
    const old = cf.addRecord({
      name: 'home.example.com',
      type: 'A',
      content: '81.2.69.1',
      ttl: 3600,
      proxied: true,
      comment: 'my vpn',
      tags: ['team:home'],
    });
    const rec = await client.patchRecord(zoneId, { id: old.id, content: '81.2.69.160' });
    expect(cf.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['PATCH', `/client/v4/zones/${zoneId}/dns_records/${old.id}`, { content: '81.2.69.160' }],
    ]);
    const kept = { ...old, content: '81.2.69.160' };
    expect(rec).toEqual(kept);
    expect(cf.records({ name: 'home.example.com' })).toEqual([kept]);

    await client.patchRecord(zoneId, { id: old.id, content: '81.2.69.161', ttl: 120, proxied: false });
    expect(cf.requests[1]?.body).toEqual({ content: '81.2.69.161', ttl: 120, proxied: false });
    expect(cf.records({ name: 'home.example.com' })[0]).toMatchObject({
      ttl: 120,
      proxied: false,
      comment: 'my vpn',
    });
  });

  it('deletes a record; deleting it again is not_found', async () => {
    const rec = cf.addRecord({ name: 'gone.example.com', type: 'A', content: '81.2.69.1' });
    await client.deleteRecord(zoneId, rec.id);
    expect(cf.records({ name: 'gone.example.com' })).toEqual([]);
    const err = await failure(client.deleteRecord(zoneId, rec.id), 'not_found');
    expect(err.status).toBe(404);
    expect(err.apiErrors).toEqual([{ code: 81044, message: 'Record does not exist.' }]);
  });

  it('a batch of 450 operations is sent as 3 calls of at most 200, and results come back in order', async () => {
    const patches: RecordPatch[] = [];
    for (let i = 0; i < 300; i++) {
      const r = cf.addRecord({
        name: `p${i}.example.com`,
        type: 'A',
        content: '81.2.69.1',
        ttl: 300,
        comment: `c${i}`,
      });
      patches.push({ id: r.id, content: '81.2.69.160' });
    }
    const posts: NewRecord[] = Array.from({ length: 150 }, (_, i) => ({
      name: `n${i}.example.com`,
      type: 'AAAA' as const,
      content: '2001:db8::160',
      ttl: 60,
    }));
    const res = await client.batch(zoneId, { patches, posts });

    const calls = cf.requests;
    expect(calls.map((r) => `${r.method} ${r.path}`)).toEqual(
      Array(3).fill(`POST /client/v4/zones/${zoneId}/dns_records/batch`),
    );
    const sizes = calls.map((r) => {
      const b = r.body as { patches?: unknown[]; posts?: unknown[] };
      return [b.patches?.length ?? 0, b.posts?.length ?? 0];
    });
    expect(sizes).toEqual([
      [200, 0],
      [100, 100],
      [0, 50],
    ]);
    expect((calls[0]!.body as { patches: unknown[] }).patches[0]).toEqual({
      id: patches[0]!.id,
      content: '81.2.69.160',
    });
    expect((calls[1]!.body as { posts: unknown[] }).posts[0]).toEqual({
      type: 'AAAA',
      name: 'n0.example.com',
      content: '2001:db8::160',
      ttl: 60,
    });

    expect(res.patches.map((r) => r.id)).toEqual(patches.map((p) => p.id));
    expect(res.posts.map((r) => r.name)).toEqual(posts.map((p) => p.name));
    expect(res.patches[299]).toMatchObject({
      name: 'p299.example.com',
      content: '81.2.69.160',
      ttl: 300,
      comment: 'c299',
    });
    expect(cf.records({ type: 'A' }).every((r) => r.content === '81.2.69.160')).toBe(true);
    expect(cf.records({ type: 'AAAA' })).toHaveLength(150);
  });

  it('a batch is one transaction at Cloudflare: one bad operation applies nothing', async () => {
    const a = cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.1' });
    const err = await failure(
      client.batch(zoneId, {
        patches: [
          { id: a.id, content: '81.2.69.160' },
          { id: 'f'.repeat(32), content: '81.2.69.160' },
        ],
        posts: [{ name: 'b.example.com', type: 'A', content: '81.2.69.160', ttl: 60 }],
      }),
      'not_found',
    );
    expect(err.apiErrors[0]?.code).toBe(81044);
    expect(cf.records()).toEqual([a]);
  });

  it('a failing later chunk throws, and says the earlier chunks were applied', async () => {
    const posts: NewRecord[] = Array.from({ length: 250 }, (_, i) => ({
      name: `n${i}.example.com`,
      type: 'A' as const,
      content: '81.2.69.160',
      ttl: 60,
    }));
    cf.failNext({ method: 'POST', path: /batch$/, status: 503, skip: 1 });
    const err = await failure(client.batch(zoneId, { patches: [], posts }), 'transient');
    expect(err.message).toContain('call 2 of 2; the 200 changes before it were applied');
    expect(cf.records()).toHaveLength(200);
  });

  it('an empty batch makes no call', async () => {
    expect(await client.batch(zoneId, { patches: [], posts: [] })).toEqual({ patches: [], posts: [] });
    expect(cf.requests).toEqual([]);
  });
});

describe('already exists / not found', () => {
  it('an identical record (the fake answers 400 with 81058) → already_exists', async () => {
    cf.addRecord({ name: 'home.example.com', type: 'A', content: '81.2.69.160' });
    const err = await failure(
      client.createRecord(zoneId, { name: 'home.example.com', type: 'A', content: '81.2.69.160', ttl: 60 }),
      'already_exists',
    );
    expect(err.status).toBe(400);
    expect(err.message).toContain('An identical record already exists. (code 81058)');
  });

  it('81057 → already_exists', async () => {
    cf.failNext({
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
    const err = await failure(
      client.createRecord(zoneId, { name: 'home.example.com', type: 'A', content: '81.2.69.160', ttl: 60 }),
      'already_exists',
    );
    expect(err.apiErrors).toEqual([{ code: 81057, message: 'Record already exists.' }]);
  });

  it('PATCH of an unknown id (404, 81044) → not_found', async () => {
    const err = await failure(
      client.patchRecord(zoneId, { id: 'a'.repeat(32), content: '81.2.69.160' }),
      'not_found',
    );
    expect(err.status).toBe(404);
    expect(err.message).toMatch(/updating DNS record a{32}.*Record does not exist\. \(code 81044\)/);
  });

  it('81044 with another status, and a bare 404, are both not_found', async () => {
    cf.failNext({
      method: 'PATCH',
      status: 400,
      body: {
        success: false,
        errors: [{ code: 81044, message: 'Record does not exist.' }],
        messages: [],
        result: null,
      },
    });
    await failure(client.patchRecord(zoneId, { id: 'x', content: '81.2.69.160' }), 'not_found');
    cf.failNext({
      path: /zones$/,
      status: 404,
      body: 'Not Found',
      headers: { 'content-type': 'text/plain' },
    });
    await failure(client.listZones(), 'not_found');
  });

  it('a 2xx envelope with success:false is judged by its codes', async () => {
    cf.failNext({
      path: /dns_records$/,
      status: 200,
      body: {
        success: false,
        errors: [{ code: 81058, message: 'An identical record already exists.' }],
        messages: [],
        result: null,
      },
    });
    await failure(
      client.createRecord(zoneId, { name: 'x.example.com', type: 'A', content: '81.2.69.1', ttl: 60 }),
      'already_exists',
    );
  });
});

describe('rate limiting (429)', () => {
  const busy = {
    success: false,
    errors: [{ code: 971, message: 'Please wait and consider throttling your request speed' }],
    messages: [],
    result: null,
  };

  it('Retry-After: 120 → rate_limited, then no request at all until 120 s have passed on the clock', async () => {
    cf.failNext({ path: /zones$/, status: 429, headers: { 'retry-after': '120' }, body: busy });
    const err = await failure(client.listZones(), 'rate_limited');
    expect(err.retryAfterMs).toBe(120_000);
    expect(err.message).toContain('pausing every API call for 120 s');
    expect(client.pausedUntil).toBe(clock.now() + 120_000);

    cf.clearLog();
    await clock.advance(60_000);
    const again = await failure(
      client.listRecords(zoneId, { name: 'a.example.com', type: 'A' }),
      'rate_limited',
    );
    expect(again.retryAfterMs).toBe(60_000);
    await clock.advance(59_999);
    await failure(
      client.createRecord(zoneId, { name: 'a.example.com', type: 'A', content: '81.2.69.1', ttl: 60 }),
      'rate_limited',
    );
    await failure(
      client.batch(zoneId, { patches: [{ id: 'x', content: '81.2.69.1' }], posts: [] }),
      'rate_limited',
    );
    expect(cf.requests).toEqual([]); // refused without touching the network

    await clock.advance(1);
    expect(client.pausedUntil).toBeNull();
    expect(await client.listZones()).toHaveLength(1);
    expect(cf.requests).toHaveLength(1);
  });

  it('429 without Retry-After pauses for 300 s', async () => {
    cf.failNext({ path: /zones$/, status: 429 });
    const err = await failure(client.listZones(), 'rate_limited');
    expect(err.retryAfterMs).toBe(DEFAULT_RETRY_AFTER_MS);
    cf.clearLog();
    await clock.advance(299_000);
    await failure(client.listZones(), 'rate_limited');
    expect(cf.requests).toEqual([]);
    await clock.advance(1_000);
    await client.listZones();
    expect(cf.requests).toHaveLength(1);
  });

  it('Retry-After as an HTTP date is measured against the injected clock', async () => {
    const at = new Date(clock.now() + 90_000).toUTCString();
    cf.failNext({ path: /zones$/, status: 429, headers: { 'retry-after': at } });
    const err = await failure(client.listZones(), 'rate_limited');
    expect(err.retryAfterMs).toBe(90_000);
  });

  it.each([
    ['absent', undefined, 300_000],
    ['seconds', '120', 120_000],
    ['zero', '0', 1_000],
    ['fraction', '1.5', 1_500],
    ['padded', ' 42 ', 42_000],
    ['date', 'Thu, 01 Jan 2026 00:02:00 GMT', 120_000],
    ['past-date', 'Wed, 31 Dec 2025 00:00:00 GMT', 1_000],
    ['garbage', 'soon', 300_000],
    ['negative', '-5', 300_000],
    ['huge', '99999999', 86_400_000],
  ])('parseRetryAfter/%s', (_n, value, ms) => {
    expect(parseRetryAfter(value, Date.parse('2026-01-01T00:00:00Z'))).toBe(ms);
  });
});

describe('auth (401/403) names the missing permission', () => {
  it('a wrong token → 401 auth, naming Zone · Zone · Read when listing zones', async () => {
    const bad = makeClient(cf.apiUrl, { token: 'wrong-token-aaaaaaaaaaaaaaaa' });
    const err = await failure(bad.listZones(), 'auth');
    expect(err.status).toBe(401);
    expect(err.message).toMatch(
      /^Cloudflare refused the token \(401\) while listing zones: .*Zone · Zone · Read/,
    );
    expect(err.message).toContain('Authentication error (code 10000)');
    expect(err.message).not.toContain('wrong-token');
  });

  it('403 while listing zones → Zone · Zone · Read', async () => {
    cf.failNext({ path: /zones$/, status: 403 });
    const err = await failure(client.listZones(), 'auth');
    expect(err.message).toBe(
      'Cloudflare refused the token (403) while listing zones: give the API token the Zone · Zone · Read permission for this zone: Authentication error (code 10000)',
    );
  });

  it('403 on record reads and writes → Zone · DNS · Edit', async () => {
    cf.failNext({ method: 'GET', path: /dns_records$/, status: 403 });
    const read = await failure(client.listRecords(zoneId, { name: 'a.example.com', type: 'A' }), 'auth');
    expect(read.message).toMatch(
      /while listing the A records of a\.example\.com: give the API token the Zone · DNS · Edit permission/,
    );

    cf.setPermissions({ dnsEdit: false });
    const write = await failure(
      client.createRecord(zoneId, { name: 'a.example.com', type: 'A', content: '81.2.69.1', ttl: 60 }),
      'auth',
    );
    expect(write.message).toContain('Zone · DNS · Edit');
    const patch = await failure(client.patchRecord(zoneId, { id: 'x', content: '81.2.69.1' }), 'auth');
    expect(patch.message).toContain('Zone · DNS · Edit');
    const batch = await failure(
      client.batch(zoneId, {
        patches: [],
        posts: [{ name: 'b.example.com', type: 'A', content: '81.2.69.1', ttl: 60 }],
      }),
      'auth',
    );
    expect(batch.message).toContain('Zone · DNS · Edit');
    expect(cf.records()).toEqual([]);
  });
});

describe('server trouble → transient', () => {
  it.each([
    ['500-json', 500, undefined, undefined],
    ['502-html', 502, '<html><body><h1>502 Bad Gateway</h1></body></html>', { 'content-type': 'text/html' }],
    ['503-empty', 503, '', undefined],
    ['520-cloudflare', 520, 'error code: 520', { 'content-type': 'text/plain' }],
  ])('%s', async (_n, status, body, headers) => {
    cf.failNext({
      path: /zones$/,
      status,
      ...(body !== undefined ? { body } : {}),
      ...(headers ? { headers } : {}),
    });
    const err = await failure(client.listZones(), 'transient');
    expect(err.status).toBe(status);
    expect(err.message).toContain(`server error (HTTP ${status}) while listing zones`);
  });

  it('a connection reset (fake) → transient', async () => {
    cf.failNext({ path: /zones$/, reset: true });
    const err = await failure(client.listZones(), 'transient');
    expect(err.message).toMatch(/^Could not reach Cloudflare while listing zones \(/);
  });

  it('no answer within timeoutMs (fake hangs) → transient', async () => {
    const quick = makeClient(cf.apiUrl, { timeoutMs: 150 });
    cf.failNext({ path: /dns_records$/, hang: true });
    const err = await failure(quick.listRecords(zoneId), 'transient');
    expect(err.message).toContain('did not answer within 150 ms while listing the A/AAAA records of zone');
  });

  it("the caller's signal cancels a request → transient, and an already aborted one sends nothing", async () => {
    cf.failNext({ path: /zones$/, hang: true });
    const ctrl = new AbortController();
    const pending = client.listZones(ctrl.signal);
    // Cancel once the request has reached the server (it hangs there), not after a guessed delay.
    await cf.waitForRequest((r) => r.path.endsWith('/zones'));
    ctrl.abort();
    const err = await failure(pending, 'transient');
    expect(err.message).toBe('Cancelled while listing zones');

    cf.clearLog();
    await failure(client.listZones(AbortSignal.abort()), 'transient');
    expect(cf.requests).toEqual([]);
  });

  it('nothing listening → transient', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((r) => server.close(() => r()));
    const err = await failure(makeClient(`http://127.0.0.1:${port}/client/v4`).listZones(), 'transient');
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe("other 4xx → client, with the API's own words", () => {
  it('an invalid content (the fake validates like the API) → client', async () => {
    const err = await failure(
      client.createRecord(zoneId, { name: 'a.example.com', type: 'A', content: 'not-an-ip', ttl: 60 }),
      'client',
    );
    expect(err.status).toBe(400);
    expect(err.message).toBe(
      'Cloudflare rejected the request (400) while creating the A record a.example.com: Content for A record is invalid. (code 9005)',
    );
  });

  it('several API errors are all reported', async () => {
    cf.failNext({
      status: 400,
      body: {
        success: false,
        errors: [
          { code: 9021, message: 'Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.' },
          { code: 9005, message: 'Content for A record is invalid.' },
        ],
        messages: [],
        result: null,
      },
    });
    const err = await failure(client.listZones(), 'client');
    expect(err.apiErrors.map((e) => e.code)).toEqual([9021, 9005]);
    expect(err.message).toContain(
      'Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic. (code 9021); Content',
    );
  });

  it('a 4xx without a body still says what failed', async () => {
    cf.failNext({ status: 418, body: '' });
    const err = await failure(client.listZones(), 'client');
    expect(err.message).toBe('Cloudflare rejected the request (418) while listing zones (no reason given)');
  });
});

describe('malformed answers → malformed, never a crash', () => {
  const json = { 'content-type': 'application/json' };
  it.each([
    ['not-json', 'this is not json'],
    ['html', '<html><body>Welcome to nginx!</body></html>'],
    ['empty', ''],
    ['no-envelope', JSON.stringify([{ id: 'z', name: 'example.com' }])],
    ['wrong-shape', JSON.stringify({ success: true, result: [{ id: 5 }] })],
    ['result-not-array', JSON.stringify({ success: true, errors: [], messages: [], result: { id: 'z' } })],
    ['errors-not-array', JSON.stringify({ success: true, errors: 'none', messages: [], result: [] })],
  ])('listing zones: %s', async (_n, body) => {
    cf.failNext({ path: /zones$/, status: 200, body, headers: json });
    const err = await failure(client.listZones(), 'malformed');
    expect(err.message).toMatch(
      /^Cloudflare's answer \(HTTP 200\) while listing zones is not what the API documents: /,
    );
  });

  it('an A record without content is refused; other types may lack it', async () => {
    const rec = (extra: object) => ({ id: 'r1', name: 'a.example.com', ttl: 1, proxied: false, ...extra });
    cf.failNext({
      path: /dns_records$/,
      status: 200,
      body: { success: true, errors: [], messages: [], result: [rec({ type: 'A' })] },
    });
    const err = await failure(client.listRecords(zoneId), 'malformed');
    expect(err.message).toContain('result.0.content: missing on an A record');

    cf.failNext({
      path: /dns_records$/,
      status: 200,
      body: { success: true, errors: [], messages: [], result: [rec({ type: 'SRV', data: {} })] },
    });
    expect(await client.listRecords(zoneId)).toEqual([]);
  });

  it('a create answered with a non-address record is malformed', async () => {
    cf.failNext({
      method: 'POST',
      status: 200,
      body: {
        success: true,
        errors: [],
        messages: [],
        result: {
          id: 'r',
          name: 'a.example.com',
          type: 'CNAME',
          content: 'x.example.com',
          proxied: false,
          ttl: 1,
        },
      },
    });
    await failure(
      client.createRecord(zoneId, { name: 'a.example.com', type: 'A', content: '81.2.69.1', ttl: 60 }),
      'malformed',
    );
  });

  it('a batch result that does not account for every operation is malformed', async () => {
    const a = cf.addRecord({ name: 'a.example.com', type: 'A', content: '81.2.69.1' });
    cf.failNext({
      path: /batch$/,
      status: 200,
      body: { success: true, errors: [], messages: [], result: { patches: [], posts: [] } },
    });
    const err = await failure(
      client.batch(zoneId, { patches: [{ id: a.id, content: '81.2.69.2' }], posts: [] }),
      'malformed',
    );
    expect(err.message).toContain(`no record ${a.id} among its patches`);
  });
});

describe('raw servers', () => {
  type Handler = (req: IncomingMessage, res: ServerResponse) => void;
  const servers: Array<{ close: () => Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  async function raw(handler: Handler): Promise<string> {
    const sockets = new Set<Socket>();
    const server = createServer(handler);
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    servers.push({
      close: () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4/`;
  }

  it('a socket destroyed mid-request → transient', async () => {
    const url = await raw((req) => req.socket.destroy());
    await failure(makeClient(url).listZones(), 'transient');
  });

  it('a body cut off half way → transient', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"success":true,"errors":[],"result":[');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await failure(makeClient(url).listZones(), 'transient');
  });

  it('headers sent, then silence → transient after timeoutMs', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"success":');
    });
    const err = await failure(makeClient(url, { timeoutMs: 150 }).listZones(), 'transient');
    expect(err.message).toContain('did not answer within 150 ms');
  });

  it('no answer at all → transient after timeoutMs', async () => {
    const url = await raw(() => {});
    await failure(makeClient(url, { timeoutMs: 100 }).listZones(), 'transient');
  });

  it('a 200 with invalid JSON → malformed', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"success":true,');
    });
    const err = await failure(makeClient(url).listZones(), 'malformed');
    expect(err.message).toContain('the body is not JSON');
  });

  it('sends the bearer token, accepts JSON, and normalises names (case, trailing dot)', async () => {
    const seenReq: IncomingMessage[] = [];
    const url = await raw((req, res) => {
      seenReq.push(req);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          success: true,
          errors: [],
          messages: [],
          result: [{ id: 'z1', name: 'Example.COM.', status: 'active' }],
          result_info: { page: 1, per_page: 50, count: 1, total_count: 1, total_pages: 1 },
        }),
      );
    });
    expect(await makeClient(url).listZones()).toEqual([{ id: 'z1', name: 'example.com' }]);
    expect(seenReq[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seenReq[0]?.headers.accept).toBe('application/json');
    expect(seenReq[0]?.url).toBe('/client/v4/zones?per_page=50&page=1');
  });

  it('without result_info, a short page is the last', async () => {
    let calls = 0;
    const url = await raw((_req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ success: true, errors: [], messages: [], result: [{ id: 'z', name: 'a.com' }] }),
      );
    });
    expect(await makeClient(url).listZones()).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it('an error body that echoes the token does not carry it into the message', async () => {
    const url = await raw((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          success: false,
          errors: [{ code: 6003, message: `Invalid header: Bearer ${TOKEN}` }],
        }),
      );
    });
    const err = await failure(makeClient(url).listZones(), 'client');
    expect(err.message).toContain('Invalid header: Bearer [Redacted]');
  });
});

describe('error codes (one hierarchy, docs/errors.md)', () => {
  it.each<[string, CloudflareFailureKind, string]>([
    ['cloudflare/rate-limited', 'rate_limited', 'CLOUDFLARE_RATE_LIMITED'],
    ['cloudflare/auth', 'auth', 'CLOUDFLARE_AUTH'],
    ['cloudflare/zone-not-found/its-own-code-not-auth', 'zone_not_found', 'CLOUDFLARE_ZONE_NOT_FOUND'],
    ['cloudflare/transient', 'transient', 'CLOUDFLARE_TRANSIENT'],
    ['cloudflare/client', 'client', 'CLOUDFLARE_CLIENT'],
    ['cloudflare/not-found', 'not_found', 'CLOUDFLARE_NOT_FOUND'],
    ['cloudflare/already-exists', 'already_exists', 'CLOUDFLARE_ALREADY_EXISTS'],
    ['cloudflare/malformed', 'malformed', 'CLOUDFLARE_MALFORMED'],
  ])('%s', (_name, kind, code) => {
    const err = new CloudflareApiError(kind, 'x');
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe(code);
  });

  it('zone-not-found/is-a-cloudflare-error-with-its-own-kind', () => {
    const err = new ZoneNotFoundError('no zone');
    expect(err).toBeInstanceOf(CloudflareApiError);
    expect([err.kind, err.code, err.name]).toEqual([
      'zone_not_found',
      'CLOUDFLARE_ZONE_NOT_FOUND',
      'ZoneNotFoundError',
    ]);
  });

  it('plug-doh-record-set/are-app-errors-with-their-codes', () => {
    const plug = new PlugError('PLUG_TIMEOUT', 'slow');
    expect(plug).toBeInstanceOf(AppError);
    expect([plug.code, plug.name]).toEqual(['PLUG_TIMEOUT', 'PlugError']);
    expect(new DohError('down').code).toBe('DOH_FAILED');
    expect(new RecordSetError('DNS_RECORD_CONFLICT', 'two').code).toBe('DNS_RECORD_CONFLICT');
  });
});
