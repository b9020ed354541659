/**
 * Fault suite, the Cloudflare API (SPEC §3 failures): rate limits with and without Retry-After,
 * 5xx, timeouts, resets, malformed JSON, a wrong envelope, an HTML error page, the token revoked
 * or losing a permission mid-run, validation errors, a failing batch, a record deleted, edited or
 * doubled behind the agent's back, the zone gone. Each starts from a record the agent wrote
 * (81.2.69.160); most faults hit the write of an IP change to 81.2.69.201. After each, the five
 * invariants hold (test/faults/invariants.ts).
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
const envelope = (code: number, message: string) => ({
  success: false,
  errors: [{ code, message }],
  messages: [],
  result: null,
});
/** The write of an IP change (a PATCH of the cached record id). */
const PATCH = { method: 'PATCH', path: /\/dns_records\/[0-9a-f]+$/ } as const;

/** The IP changes and the next cycle meets `fault` on its write. */
async function changeWith(fw: FaultWorld, ...faults: FakeFault[]): Promise<void> {
  for (const f of faults) fw.cf.failNext(f);
  fw.setIp(NEW_IP);
  await fw.clock.advance(1_000);
  await fw.cycle();
}

/** Moves the clock on by `ms` and runs a cycle; returns the API calls it made. */
async function later(fw: FaultWorld, ms: number): Promise<number> {
  fw.cf.clearLog();
  await fw.clock.advance(ms);
  await fw.cycle();
  return fw.cf.requests.length;
}

describe('Cloudflare answers a write with a failure: retried on its schedule, then written', () => {
  // [case, fault, quiet: no call for this long, said]; the change is written 3 s after `quiet`.
  // 5xx/reset/malformed: full jitter with random() = 0.5 → the first retry after 2.5 s.
  it.each<[string, FakeFault, number, RegExp]>([
    [
      'cf/429-with-retry-after/no-call-before-it-elapses',
      { ...PATCH, status: 429, headers: { 'retry-after': '120' } },
      118_000,
      /Cloudflare rate-limited this token \(429\) .*pausing every API call for 120 s/,
    ],
    [
      'cf/429-without-retry-after/five-minutes',
      { ...PATCH, status: 429 },
      298_000,
      /Cloudflare rate-limited this token \(429\) .*pausing every API call for 300 s/,
    ],
    ['cf/500/backoff', { ...PATCH, status: 500 }, 2_000, /Cloudflare had a server error \(HTTP 500\)/],
    ['cf/502/backoff', { ...PATCH, status: 502 }, 2_000, /Cloudflare had a server error \(HTTP 502\)/],
    ['cf/503/backoff', { ...PATCH, status: 503 }, 2_000, /Cloudflare had a server error \(HTTP 503\)/],
    [
      'cf/reset/backoff',
      { ...PATCH, reset: true },
      2_000,
      /Could not reach Cloudflare while updating .*other side closed/,
    ],
    [
      'cf/malformed-json/a-failure-not-a-crash',
      {
        ...PATCH,
        status: 200,
        body: '{"success":true,"result":{',
        headers: { 'content-type': 'application/json' },
      },
      2_000,
      /is not what the API documents: the body is not JSON/,
    ],
    [
      'cf/wrong-envelope/result-of-the-wrong-shape',
      { ...PATCH, status: 200, body: { success: true, errors: [], messages: [], result: [{ id: 5 }] } },
      2_000,
      /is not what the API documents: result: Invalid input/,
    ],
    [
      'cf/wrong-envelope/no-success-field',
      { ...PATCH, status: 200, body: { ok: true, data: { content: NEW_IP } } },
      2_000,
      /is not what the API documents: success: Invalid input/,
    ],
    [
      'cf/html-error-page/from-a-proxy',
      {
        ...PATCH,
        status: 502,
        body: '<html><body>502 Bad Gateway</body></html>',
        headers: { 'content-type': 'text/html' },
      },
      2_000,
      /Cloudflare had a server error \(HTTP 502\) while updating DNS record [0-9a-f]+; this is usually temporary/,
    ],
  ])('%s', async (_name, fault, quiet, said) => {
    w = await faultWorld();
    await changeWith(w, fault);
    expect(content(w)).toEqual([GOOD_IP]);
    expect(status(w)).toMatchObject({ status: 'error' });
    // Nothing reaches Cloudflare before the wait is over …
    expect(await later(w, quiet)).toBe(0);
    // … and the change is written once it is.
    await later(w, 3_000);
    expect(content(w)).toEqual([NEW_IP]);
    expect(status(w)).toMatchObject({ status: 'in_sync', content: NEW_IP });
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: [said, /dns_update_failed/, /"type":"dns_updated".*81\.2\.69\.201/],
    });
  });

  it('cf/timeout/a-hung-write-is-abandoned-after-http_timeout_ms', async () => {
    w = await faultWorld({ overrides: { http_timeout_ms: 300 } });
    const t0 = Date.now();
    await changeWith(w, { ...PATCH, hang: true });
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(content(w)).toEqual([GOOD_IP]);
    expect(status(w)).toMatchObject({ status: 'error' });
    await later(w, 5_000);
    expect(content(w)).toEqual([NEW_IP]);
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: [/Cloudflare did not answer within 300 ms while updating DNS record/],
    });
  });

  it('cf/other-4xx/the-api-message-and-no-retry-until-the-ip-changes', async () => {
    w = await faultWorld();
    await changeWith(w, { ...PATCH, status: 400, body: envelope(9005, 'Content for A record is invalid.') });
    expect(status(w)?.error).toContain('Content for A record is invalid.');
    expect(w.cf.requests.filter((r) => r.method !== 'GET').length).toBe(2); // the create, the refused PATCH
    await later(w, 3_600_000);
    expect(w.cf.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(content(w)).toEqual([GOOD_IP]);
    await w.check({ verified: [GOOD_IP, NEW_IP], said: /Content for A record is invalid\./ });
  });

  it('cf/batch-fails/single-writes-instead', async () => {
    w = await faultWorld({ records: ['a.example.com', 'b.example.com'] });
    await changeWith(w, { method: 'POST', path: /batch$/, status: 500 });
    expect(w.cf.records({ type: 'A' }).map((r) => r.content)).toEqual([NEW_IP, NEW_IP]);
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: /The batch write of 2 records failed .*writing them one by one instead/,
    });
  });
});

describe('the token loses its rights mid-run', () => {
  it('cf/auth-revoked-mid-run/error-naming-the-permission-retried-every-10-min-then-repaired', async () => {
    w = await faultWorld();
    // The token is revoked: every API call is refused from now on.
    w.cf.failNext({ status: 401, times: 1_000, body: envelope(10000, 'Authentication error') });
    await changeWith(w);
    expect(content(w)).toEqual([GOOD_IP]);
    expect(status(w)).toMatchObject({ status: 'error' });
    expect(await later(w, 9 * 60_000)).toBe(0);
    // A new token is in place: the next attempt after 10 min writes.
    w.cf.clearFaults();
    await later(w, 61_000);
    expect(content(w)).toEqual([NEW_IP]);
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: /Cloudflare refused the token \(401\).*check that the API token is valid and not expired/,
    });
  });

  it('cf/dns-edit-permission-removed/403-names-zone-dns-edit', async () => {
    w = await faultWorld();
    w.cf.setPermissions({ dnsEdit: false });
    await changeWith(w);
    expect(content(w)).toEqual([GOOD_IP]);
    expect(status(w)?.error).toMatch(/Zone · DNS · Edit/);
    expect(await later(w, 9 * 60_000)).toBe(0);
    w.cf.setPermissions({ dnsEdit: true });
    await later(w, 61_000);
    expect(content(w)).toEqual([NEW_IP]);
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: /Cloudflare refused the token \(403\).*give the API token the Zone · DNS · Edit permission/,
    });
  });
});

describe('the records change behind the agent', () => {
  // Failed before the fix in src/domain/dns-plan.ts planObservation: a DoH answer with two
  // addresses after an IP change was patched by the cached id (one member of the set changed).
  it('cf/second-record-added-then-ip-change/conflict-reported-none-updated', async () => {
    w = await faultWorld();
    w.cf.addRecord({ name: NAME, type: 'A', content: '81.2.69.2' });
    w.setIp(NEW_IP);
    await w.clock.advance(1_000);
    await w.cycle();
    // SPEC §3: several records of one type for one name — the agent updates none of them.
    expect(content(w).sort()).toEqual([GOOD_IP, '81.2.69.2']);
    expect(status(w)).toMatchObject({ status: 'error', error: expect.stringMatching(/2 A records exist/) });
    await w.check({ verified: [GOOD_IP, NEW_IP], said: /2 A records exist/ });
  });

  it('cf/record-deleted-long-after-our-write/recreated-by-the-next-cycle', async () => {
    w = await faultWorld();
    await w.clock.advance(3_600_000);
    await w.cycle();
    w.cf.deleteRecord(w.cf.records({ name: NAME })[0]!.id);
    await later(w, 60_000);
    expect(content(w)).toEqual([GOOD_IP]);
    expect(w.events.filter((e) => e.type === 'dns_updated' && e.action === 'create')).toHaveLength(2);
    await w.check({ verified: [GOOD_IP], said: /Created A home\.example\.com → 81\.2\.69\.160/ });
  });

  it('cf/record-deleted-then-ip-change/patch-404-relists-and-recreates', async () => {
    w = await faultWorld();
    w.cf.deleteRecord(w.cf.records({ name: NAME })[0]!.id);
    await changeWith(w);
    expect(content(w)).toEqual([NEW_IP]);
    expect(w.cf.requests.filter((r) => r.method === 'POST').length).toBe(2); // our first create, the re-create
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: /Updated A home\.example\.com from unknown to 81\.2\.69\.201/,
    });
  });

  it('cf/record-edited-long-after-our-write/repaired-by-the-next-cycle', async () => {
    w = await faultWorld();
    await w.clock.advance(3_600_000);
    await w.cycle();
    w.cf.updateRecord(w.cf.records({ name: NAME })[0]!.id, { content: '81.2.69.99' });
    await later(w, 60_000);
    expect(content(w)).toEqual([GOOD_IP]);
    await w.check({
      verified: [GOOD_IP],
      said: /Updated A home\.example\.com from 81\.2\.69\.99 to 81\.2\.69\.160/,
    });
  });

  it('cf/record-edited-seconds-after-our-write/repaired-within-one-interval', async () => {
    w = await faultWorld({ overrides: { interval_seconds: 2, jitter_seconds: 0 } });
    await changeWith(w);
    expect(content(w)).toEqual([NEW_IP]);
    w.cf.updateRecord(w.cf.records({ name: NAME })[0]!.id, { content: '81.2.69.99' });
    await later(w, 2_000);
    expect(content(w)).toEqual([NEW_IP]);
    await w.check({
      verified: [GOOD_IP, NEW_IP],
      said: /Updated A home\.example\.com from 81\.2\.69\.99 to 81\.2\.69\.201/,
    });
  });

  it('cf/second-record-added/conflict-reported-none-rewritten', async () => {
    w = await faultWorld();
    await w.clock.advance(3_600_000);
    await w.cycle();
    w.cf.addRecord({ name: NAME, type: 'A', content: '81.2.69.2' });
    for (let i = 0; i < 3; i++) await later(w, 60_000);
    expect(content(w).sort()).toEqual([GOOD_IP, '81.2.69.2']);
    expect(status(w)).toMatchObject({ status: 'error', error: expect.stringMatching(/2 A records exist/) });
    await w.check({ verified: [GOOD_IP], said: /2 A records exist/ });
  });

  it('cf/zone-gone/error-says-to-add-the-zone-no-write', async () => {
    w = await faultWorld();
    // The zone is deleted: its id answers 7003, the zone list no longer shows it.
    w.cf.failNext({ path: new RegExp(`/zones/${w.zoneId}`), status: 404, times: 1_000 });
    w.cf.failNext({
      method: 'GET',
      path: /\/zones$/,
      status: 200,
      times: 1_000,
      body: {
        success: true,
        errors: [],
        messages: [],
        result: [],
        result_info: { page: 1, per_page: 50, count: 0, total_count: 0, total_pages: 0 },
      },
    });
    await changeWith(w);
    await later(w, 600_000);
    expect(status(w)).toMatchObject({ status: 'error' });
    expect(content(w)).toEqual([GOOD_IP]); // the fake's store still has it; nothing was written
    await w.check({
      verified: [GOOD_IP],
      said: [
        /Cloudflare says it does not exist \(404\)/,
        /no zone visible to the API token contains home\.example\.com: add the zone to the token's Zone Resources/,
      ],
    });
  });
});
