import { readFile } from 'node:fs/promises';
import type { NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildSources } from '../src/agent/ip-sources.js';
import { runCheck } from '../src/check.js';
import { ConfigError } from '../src/errors.js';
import type { AgentEvent } from '../src/events.js';
import { detectPublicIp } from '../src/ip/detector.js';
import { closeFamilyDispatchers, HttpIpSource } from '../src/ip/http-source.js';
import type { IpSource, SourceAnswer } from '../src/ip/ip-source.js';
import { type InterfacesFn, LocalIpSource, watchLocalAddresses } from '../src/ip/local-source.js';
import { CGNAT_WARNING } from '../src/ip/parse-body.js';
import { ManualClock } from './fakes/clock.js';
import {
  type EchoHandler,
  type EchoServer,
  ipv6LoopbackAvailable,
  startEchoServer,
  traceBody,
} from './fakes/ip-echo.js';
import { logSink } from './helpers/log-sink.js';
import { makeWorld, type World } from './helpers/world.js';

const servers: EchoServer[] = [];
async function serve(handler: EchoHandler, host?: '127.0.0.1' | '::1'): Promise<EchoServer> {
  const server = await startEchoServer(handler, host ? { host } : {});
  servers.push(server);
  return server;
}

function http(url: string, timeoutMs = 2000): HttpIpSource {
  return new HttpIpSource({ url, timeoutMs });
}

const never = new AbortController().signal;

let world: World | null = null;

afterEach(async () => {
  await world?.close();
  world = null;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Resolves once `condition` holds (checked every 5 ms), or fails after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

afterAll(async () => {
  await closeFamilyDispatchers();
});

describe('detectPublicIp over loopback servers', () => {
  it('quorum-2/one-liar/the-agreeing-pair-wins', async () => {
    const a = await serve('81.2.69.1\n');
    const b = await serve('81.2.69.9\n');
    const c = await serve('81.2.69.1\n');
    const detection = await detectPublicIp({
      family: 4,
      sources: [a, b, c].map((s) => http(s.url)),
      quorum: 2,
    });
    expect(detection.kind).toBe('verified');
    if (detection.kind !== 'verified') return;
    expect(detection.ip).toBe('81.2.69.1');
    expect([...detection.agreeing].sort()).toEqual([a.url, c.url].sort());
    expect(detection.warnings).toEqual([]);
  });

  it('quorum-2/one-liar-one-silent/unverified-naming-every-source', async () => {
    const a = await serve('81.2.69.1');
    const b = await serve('81.2.69.9');
    const c = await serve(() => ({ hang: true }));
    const detection = await detectPublicIp({
      family: 4,
      sources: [a, b, c].map((s) => http(s.url, 300)),
      quorum: 2,
    });
    expect(detection.kind).toBe('unverified');
    if (detection.kind !== 'unverified') return;
    expect(detection.reason).toMatch(/^no 2 sources agreed on a public IPv4: /);
    expect(detection.reason).toContain(`${a.url} → 81.2.69.1`);
    expect(detection.reason).toContain(`${b.url} → 81.2.69.9`);
    expect(detection.reason).toContain(`${c.url} → no answer within 300 ms (http_timeout_ms)`);
    expect(detection.answers).toHaveLength(3);
  });

  it('all-html/unverified-says-not-an-address', async () => {
    const page = '<!doctype html><html><head><title>Captive portal</title></head><body>Log in</body></html>';
    const list = [await serve(page), await serve(page)];
    const detection = await detectPublicIp({ family: 4, sources: list.map((s) => http(s.url)), quorum: 2 });
    expect(detection.kind).toBe('unverified');
    if (detection.kind !== 'unverified') return;
    for (const s of list)
      expect(detection.reason).toContain(`${s.url} → not an address (HTML page "Captive portal")`);
  });

  it('trace/matching-h-accepted/other-h-rejected/warp-rejected', async () => {
    const good = await serve(traceBody('81.2.69.1', '127.0.0.1'));
    const foreign = await serve(traceBody('81.2.69.1', 'cloudflare.com'));
    const warp = await serve(traceBody('81.2.69.1', '127.0.0.1', { warp: 'on' }));
    const ask = (s: EchoServer) => http(`${s.url}cdn-cgi/trace`).query(4, never);
    expect(await ask(good)).toEqual({ ok: true, source: `${good.url}cdn-cgi/trace`, ip: '81.2.69.1' });
    expect(await ask(foreign)).toMatchObject({
      ok: false,
      kind: 'unparseable',
      reason: 'trace answered for another host (h=cloudflare.com, asked 127.0.0.1)',
    });
    expect(await ask(warp)).toMatchObject({
      ok: false,
      kind: 'warp',
      reason: "this host's traffic goes through Cloudflare WARP (warp=on)",
    });
  });

  it('body/json-and-bare/agree', async () => {
    const json = await serve(() => ({
      body: '{"ip":"81.2.69.1"}',
      headers: { 'content-type': 'application/json' },
    }));
    const bare = await serve(' 81.2.69.1 \n');
    const detection = await detectPublicIp({
      family: 4,
      sources: [http(json.url), http(bare.url)],
      quorum: 2,
    });
    expect(detection).toMatchObject({ kind: 'verified', ip: '81.2.69.1' });
  });

  it('cgnat/rejected-with-a-warning', async () => {
    const list = [await serve('100.64.3.4'), await serve('100.64.3.4')];
    const detection = await detectPublicIp({ family: 4, sources: list.map((s) => http(s.url)), quorum: 2 });
    expect(detection.kind).toBe('unverified');
    expect(detection.warnings).toEqual([CGNAT_WARNING]);
    expect(detection.answers[0]).toMatchObject({ ok: false, kind: 'cgnat', ip: '100.64.3.4' });
  });

  it('cgnat/warning-kept-even-when-others-agree', async () => {
    const list = [
      await serve('100.64.3.4'),
      await serve(() => ({ body: '81.2.69.1', delayMs: 50 })),
      await serve(() => ({ body: '81.2.69.1', delayMs: 50 })),
    ];
    const detection = await detectPublicIp({ family: 4, sources: list.map((s) => http(s.url)), quorum: 2 });
    expect(detection).toMatchObject({ kind: 'verified', ip: '81.2.69.1', warnings: [CGNAT_WARNING] });
  });

  it('cloudflare-range/rejected', async () => {
    const s = await serve('104.16.0.1');
    expect(await http(s.url).query(4, never)).toEqual({
      ok: false,
      source: s.url,
      kind: 'cloudflare',
      ip: '104.16.0.1',
      reason: "104.16.0.1 is an address in Cloudflare's own range: the request went through WARP or a proxy",
    });
  });

  it('private/rejected-with-its-class', async () => {
    const s = await serve('192.168.1.20');
    expect(await http(s.url).query(4, never)).toMatchObject({
      ok: false,
      kind: 'not_global',
      reason: expect.stringContaining('192.168.1.20 is a private address'),
    });
  });

  it('wrong-family/ipv6-answer-to-an-ipv4-question', async () => {
    const s = await serve('2a02:c7c::1');
    expect(await http(s.url).query(4, never)).toMatchObject({
      ok: false,
      kind: 'wrong_family',
      reason: 'an IPv6 address (2a02:c7c::1) for an IPv4 question',
    });
  });

  it('http-status/non-2xx-named', async () => {
    const down = await serve(() => ({ status: 503, body: 'busy' }));
    const moved = await serve(() => ({ status: 301, headers: { location: 'https://example.com/ip' } }));
    expect(await http(down.url).query(4, never)).toMatchObject({
      ok: false,
      kind: 'http_status',
      reason: 'answered HTTP 503',
    });
    expect(await http(moved.url).query(4, never)).toMatchObject({
      ok: false,
      kind: 'http_status',
      reason: 'answered HTTP 301 (redirect to https://example.com/ip: configure the final URL)',
    });
  });

  it('oversized-body/rejected-without-reading-it-all', async () => {
    const s = await serve('8'.repeat(100_000));
    expect(await http(s.url).query(4, never)).toMatchObject({
      ok: false,
      kind: 'unparseable',
      reason: 'not an address (answer longer than 16384 bytes)',
    });
  });

  it('refused/names-the-failure', async () => {
    const s = await serve('81.2.69.1');
    const url = s.url;
    await s.close();
    expect(await http(url).query(4, never)).toMatchObject({
      ok: false,
      kind: 'unreachable',
      reason: 'connection refused by 127.0.0.1 over IPv4',
    });
  });

  it('request/sends-a-user-agent-and-no-keep-alive', async () => {
    const s = await serve('81.2.69.1');
    await http(s.url).query(4, never);
    expect(s.requests[0]?.headers['user-agent']).toMatch(/^ddns-watchdog\//);
    expect(s.requests[0]?.headers.connection).toBe('close');
  });

  it('quorum-reached/hung-source-cancelled-and-its-socket-closed', async () => {
    // The agreeing pair answers after 100 ms, so the hung server surely has the request by then.
    const a = await serve(() => ({ body: '81.2.69.1', delayMs: 100 }));
    const b = await serve(() => ({ body: '81.2.69.1', delayMs: 100 }));
    const hung = await serve(() => ({ hang: true }));
    const started = performance.now();
    const detection = await detectPublicIp({
      family: 4,
      sources: [http(hung.url, 10_000), http(a.url, 10_000), http(b.url, 10_000)],
      quorum: 2,
    });
    const elapsed = performance.now() - started;
    expect(detection).toMatchObject({ kind: 'verified', ip: '81.2.69.1' });
    expect(elapsed).toBeLessThan(2000);
    expect(hung.hits).toBe(1);
    expect(detection.answers.map((x) => x.source)).not.toContain(hung.url);
    expect(await hung.waitForSocketsClosed(2000)).toBe(true);
  });

  it('timeout/obeys-timeoutMs', async () => {
    const hung = await serve(() => ({ hang: true }));
    const slowBody = await serve(() => ({ body: '81.2.69.1', delayMs: 3000 }));
    const started = performance.now();
    const [a, b] = await Promise.all([
      http(hung.url, 250).query(4, never),
      http(slowBody.url, 250).query(4, never),
    ]);
    const elapsed = performance.now() - started;
    expect(a).toMatchObject({
      ok: false,
      kind: 'timeout',
      reason: 'no answer within 250 ms (http_timeout_ms)',
    });
    expect(b).toMatchObject({ ok: false, kind: 'timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(240);
    expect(elapsed).toBeLessThan(1500);
    expect(await hung.waitForSocketsClosed(2000)).toBe(true);
  });

  it('parent-signal/aborts-everything-quickly', async () => {
    const hung = await serve(() => ({ hang: true }));
    const ctrl = new AbortController();
    const started = performance.now();
    const pending = detectPublicIp({
      family: 4,
      sources: [http(hung.url, 10_000), http(hung.url, 10_000)],
      quorum: 2,
      signal: ctrl.signal,
    });
    setTimeout(() => ctrl.abort(), 50);
    const detection = await pending;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(detection).toMatchObject({ kind: 'unverified', reason: 'detection was cancelled' });
    expect(detection.answers.every((x) => !x.ok && x.kind === 'aborted')).toBe(true);
  });

  it('already-aborted/no-request-sent', async () => {
    const s = await serve('81.2.69.1');
    const ctrl = new AbortController();
    ctrl.abort();
    const detection = await detectPublicIp({
      family: 4,
      sources: [http(s.url)],
      quorum: 1,
      signal: ctrl.signal,
    });
    expect(detection).toMatchObject({ kind: 'unverified', reason: 'detection was cancelled' });
    expect(s.hits).toBe(0);
  });

  it('no-sources/unverified-with-the-key-to-set', async () => {
    const detection = await detectPublicIp({ family: 6, sources: [], quorum: 1 });
    expect(detection).toMatchObject({
      kind: 'unverified',
      reason: 'no IPv6 sources are configured (set ip_sources_v6)',
    });
  });

  it('throwing-source/contained', async () => {
    const broken: IpSource = {
      id: 'broken',
      query: () => {
        throw new Error('boom');
      },
    };
    const rejecting: IpSource = { id: 'rejecting', query: () => Promise.reject(new Error('bang')) };
    const fine: IpSource = {
      id: 'fine',
      query: async (): Promise<SourceAnswer> => ({ ok: true, source: 'fine', ip: '81.2.69.1' }),
    };
    const detection = await detectPublicIp({ family: 4, sources: [broken, rejecting, fine], quorum: 2 });
    expect(detection).toMatchObject({ kind: 'unverified' });
    if (detection.kind !== 'unverified') return;
    expect(detection.reason).toContain('broken → failed: boom');
    expect(detection.reason).toContain('rejecting → failed: bang');
  });

  it('logger/debug-line-per-answer', async () => {
    const { logger, lines } = logSink();
    const s = await serve('81.2.69.1');
    await detectPublicIp({ family: 4, sources: [http(s.url)], quorum: 1, logger });
    expect(lines().some((l) => l['msg'] === `IPv4 source ${s.url} answered 81.2.69.1.`)).toBe(true);
  });

  it('single-injected-dispatcher/used-for-both-families', async () => {
    const dispatcher = new Agent();
    try {
      const s = await serve('81.2.69.1');
      const source = new HttpIpSource({ url: s.url, timeoutMs: 2000, dispatcher });
      expect(await source.query(4, never)).toMatchObject({ ok: true, ip: '81.2.69.1' });
      // Unpinned: a 127.0.0.1 fake may play an IPv6 echo service (only the answer is checked).
      const v6 = await serve('2a02:c7c::9');
      const v6source = new HttpIpSource({ url: v6.url, timeoutMs: 2000, dispatcher });
      expect(await v6source.query(6, never)).toMatchObject({ ok: true, ip: '2a02:c7c::9' });
      expect(await v6source.query(4, never)).toMatchObject({ ok: false, kind: 'wrong_family' });
    } finally {
      await dispatcher.close();
    }
  });
});

describe('family pinning', () => {
  let v6 = false;
  beforeAll(async () => {
    v6 = await ipv6LoopbackAvailable();
  });

  it('v6-question/to-an-ipv4-only-server-by-name/fails-with-a-reason', async () => {
    // localhost resolves to 127.0.0.1 (and maybe ::1, where nothing listens): over a pinned IPv6
    // socket the request cannot reach the IPv4-only server.
    const s = await serve('2a02:c7c::1');
    const byName = http(`http://localhost:${s.port}/`);
    const answer = await byName.query(6, never);
    expect(answer).toMatchObject({ ok: false, kind: 'unreachable' });
    expect(!answer.ok && answer.reason).toMatch(/IPv6/);
    expect(s.hits).toBe(0);
    // The same name over IPv4 reaches it (and then rejects the IPv6 body for a v4 question).
    expect(await byName.query(4, never)).toMatchObject({ ok: false, kind: 'wrong_family' });
    expect(s.hits).toBe(1);
  });

  it('v6-question/to-an-ipv4-literal/refused-before-connecting', async () => {
    const s = await serve('2a02:c7c::1');
    expect(await http(s.url).query(6, never)).toMatchObject({
      ok: false,
      kind: 'unreachable',
      reason: 'cannot ask over IPv6: the URL names an IPv4 address; use a host name or an IPv6 URL',
    });
    expect(s.hits).toBe(0);
  });

  it('v6-server-on-::1/answers-v6/refuses-a-v4-question', async (ctx) => {
    if (!v6) ctx.skip();
    const s = await serve('2a02:c7c::42', '::1');
    expect(s.url).toBe(`http://[::1]:${s.port}/`);
    expect(await http(s.url).query(6, never)).toEqual({ ok: true, source: s.url, ip: '2a02:c7c::42' });
    expect(await http(s.url).query(4, never)).toMatchObject({
      ok: false,
      reason: 'cannot ask over IPv4: the URL names an IPv6 address; use a host name or an IPv4 URL',
    });
    expect(s.hits).toBe(1);
  });

  it('v6-trace/h-is-the-bracketless-literal', async (ctx) => {
    if (!v6) ctx.skip();
    const s = await serve(traceBody('2a02:c7c::42', '::1'), '::1');
    expect(await http(`${s.url}cdn-cgi/trace`).query(6, never)).toMatchObject({
      ok: true,
      ip: '2a02:c7c::42',
    });
  });
});

function iface(address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo {
  const base = { address, netmask: '', mac: '00:00:00:00:00:00', internal, cidr: null };
  return family === 'IPv4' ? { ...base, family } : { ...base, family, scopeid: 0 };
}

describe('LocalIpSource', () => {
  const table: InterfacesFn = () => ({
    lo: [iface('127.0.0.1', 'IPv4', true), iface('::1', 'IPv6', true)],
    eth0: [
      iface('192.168.1.10', 'IPv4'),
      iface('fe80::1', 'IPv6'),
      iface('fd00::2', 'IPv6'),
      iface('2a02:c7c:1::10', 'IPv6'),
    ],
    ppp0: [iface('81.2.69.1', 'IPv4')],
    wg0: [iface('100.64.0.7', 'IPv4')],
    CloudflareWARP: [iface('2606:4700:110:8a36::1', 'IPv6')],
  });
  const local = (id: string, fn: InterfacesFn = table) => new LocalIpSource({ id, interfaces: fn });

  it.each<[string, string, 4 | 6, Partial<SourceAnswer>]>([
    ['any/v4/first-global', 'local', 4, { ok: true, ip: '81.2.69.1' }],
    ['any/v6/skips-link-local-and-ula', 'local', 6, { ok: true, ip: '2a02:c7c:1::10' }],
    ['iface/v4/global', 'local:ppp0', 4, { ok: true, ip: '81.2.69.1' }],
    ['iface/v6/global', 'local:eth0', 6, { ok: true, ip: '2a02:c7c:1::10' }],
    [
      'iface/v4/private-only',
      'local:eth0',
      4,
      {
        ok: false,
        kind: 'no_address',
        reason:
          'no global IPv4 address on eth0 (found 192.168.1.10 on eth0: a private address (10/8, 172.16/12, 192.168/16 or fc00::/7))',
      },
    ],
    ['iface/v4/cgnat', 'local:wg0', 4, { ok: false, kind: 'cgnat', ip: '100.64.0.7' }],
    ['iface/v6/warp-range-skipped', 'local:CloudflareWARP', 6, { ok: false, kind: 'no_address' }],
    [
      'iface/v6/loopback-internal-skipped',
      'local:lo',
      6,
      { ok: false, kind: 'no_address', reason: 'no global IPv6 address on lo' },
    ],
    [
      'iface/missing',
      'local:eth9',
      4,
      {
        ok: false,
        kind: 'invalid',
        reason: 'no interface named eth9 on this host (it has: CloudflareWARP, eth0, lo, ppp0, wg0)',
      },
    ],
    ['iface/empty-name', 'local:', 4, { ok: false, kind: 'invalid' }],
  ])('%s', async (_name, id, family, expected) => {
    expect(await local(id).query(family, never)).toMatchObject({ source: id, ...expected });
  });

  it('table-read-fails/reason', async () => {
    const failing = () => {
      throw new Error('uv_interface_addresses failed');
    };
    expect(await local('local', failing).query(4, never)).toMatchObject({
      ok: false,
      reason: "could not list this host's interfaces: uv_interface_addresses failed",
    });
  });

  it('quorum-1/local-source-verifies', async () => {
    const detection = await detectPublicIp({ family: 6, sources: [local('local')], quorum: 1 });
    expect(detection).toMatchObject({ kind: 'verified', ip: '2a02:c7c:1::10', agreeing: ['local'] });
  });

  it('cgnat/local-answer-warns', async () => {
    const detection = await detectPublicIp({ family: 4, sources: [local('local:wg0')], quorum: 1 });
    expect(detection).toMatchObject({ kind: 'unverified', warnings: [CGNAT_WARNING] });
  });
});

describe('watchLocalAddresses', () => {
  it('change/calls-onChange-once-per-change', async () => {
    const clock = new ManualClock();
    let current: ReturnType<InterfacesFn> = {
      eth0: [iface('2a02:c7c::1', 'IPv6'), iface('fe80::1', 'IPv6')],
    };
    const changes: Array<[string[], string[]]> = [];
    const stop = new AbortController();
    const done = watchLocalAddresses({
      clock,
      intervalMs: 10_000,
      signal: stop.signal,
      interfaces: () => current,
      onChange: (now, previous) => changes.push([now, previous]),
    });
    await clock.advance(10_000);
    expect(changes).toEqual([]);
    // A link-local change is not a change of global addresses.
    current = { eth0: [iface('2a02:c7c::1', 'IPv6'), iface('fe80::2', 'IPv6')] };
    await clock.advance(10_000);
    expect(changes).toEqual([]);
    current = { eth0: [iface('2a02:c7c::2', 'IPv6')], ppp0: [iface('81.2.69.1', 'IPv4')] };
    await clock.advance(10_000);
    expect(changes).toEqual([[['2a02:c7c::2', '81.2.69.1'], ['2a02:c7c::1']]]);
    await clock.advance(30_000);
    expect(changes).toHaveLength(1);
    stop.abort();
    await done;
  });

  it('table-read-fails/no-change-and-keeps-polling', async () => {
    const clock = new ManualClock();
    let fail = false;
    let current: ReturnType<InterfacesFn> = { eth0: [iface('81.2.69.1', 'IPv4')] };
    const changes: string[][] = [];
    const stop = new AbortController();
    const done = watchLocalAddresses({
      clock,
      intervalMs: 1000,
      signal: stop.signal,
      interfaces: () => {
        if (fail) throw new Error('nope');
        return current;
      },
      onChange: (now) => {
        changes.push(now);
        throw new Error('callback failure is contained');
      },
    });
    fail = true;
    await clock.advance(1000);
    fail = false;
    current = { eth0: [iface('81.2.69.2', 'IPv4')] };
    await clock.advance(1000);
    current = { eth0: [iface('81.2.69.3', 'IPv4')] };
    await clock.advance(1000);
    expect(changes).toEqual([['81.2.69.2'], ['81.2.69.3']]);
    stop.abort();
    await done;
  });
});

describe('buildSources', () => {
  it('maps-each-string-to-its-source', () => {
    const sources = buildSources(
      ['https://cloudflare.com/cdn-cgi/trace', 'local', 'local:eth0', ' http://127.0.0.1:1/ '],
      {
        timeoutMs: 1000,
      },
    );
    expect(sources.map((s) => [s.id, s.constructor.name])).toEqual([
      ['https://cloudflare.com/cdn-cgi/trace', 'HttpIpSource'],
      ['local', 'LocalIpSource'],
      ['local:eth0', 'LocalIpSource'],
      ['http://127.0.0.1:1/', 'HttpIpSource'],
    ]);
  });

  it('bad-entries/one-config-error-listing-each', () => {
    let error: unknown;
    try {
      buildSources(['ftp://example.com/ip', 'https://ok.example/', 'not a url'], { timeoutMs: 1000 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'IP source "ftp://example.com/ip" is neither an http(s) URL nor local / local:IFACE; fix ip_sources or ip_sources_v6',
      'IP source "not a url" is neither an http(s) URL nor local / local:IFACE; fix ip_sources or ip_sources_v6',
    ]);
  });

  it('built-http-source/works-end-to-end', async () => {
    const s = await serve('81.2.69.1');
    const [source] = buildSources([s.url], { timeoutMs: 1000 });
    expect(await source?.query(4, never)).toMatchObject({ ok: true, ip: '81.2.69.1' });
  });
});

describe('majority quorum (SPEC §3.1)', () => {
  const LIE = '81.2.69.66';
  const TRUTH = '81.2.69.1';

  it('two-fast-liars/three-slower-honest/the-honest-majority-wins', async () => {
    const liars = [await serve(LIE), await serve(LIE)];
    const honest = [
      await serve(() => ({ body: TRUTH, delayMs: 150 })),
      await serve(() => ({ body: TRUTH, delayMs: 150 })),
      await serve(() => ({ body: TRUTH, delayMs: 150 })),
    ];
    // The settle window runs on a clock that never moves here, so however slow this machine is,
    // the honest answers arrive inside it.
    const clock = new ManualClock();
    const detection = await detectPublicIp({
      family: 4,
      sources: [...liars, ...honest].map((s) => http(s.url)),
      quorum: 2,
      clock,
    });
    expect(detection).toMatchObject({ kind: 'verified', ip: TRUTH });
    if (detection.kind !== 'verified') return;
    expect([...detection.agreeing].sort()).toEqual(honest.map((s) => s.url).sort());
  });

  it('one-of-five-hung/majority-decides-at-once/hung-request-cancelled', async () => {
    const hung = await serve(() => ({ hang: true }));
    const good = [await serve(TRUTH), await serve(TRUTH), await serve(TRUTH), await serve(TRUTH)];
    const clock = new ManualClock();
    const detection = await detectPublicIp({
      family: 4,
      sources: [hung, ...good].map((s) => http(s.url, 10_000)),
      quorum: 2,
      clock,
    });
    // Decided without the settle window (the manual clock never moved) and without the hung source.
    expect(detection).toMatchObject({ kind: 'verified', ip: TRUTH });
    expect(detection.answers.map((a) => a.source)).not.toContain(hung.url);
    expect(clock.pending).toBe(0);
    expect(await hung.waitForSocketsClosed(2000)).toBe(true);
  });

  it('quorum-without-majority/settle-window/plurality-after-500ms', async () => {
    const agree = [await serve(TRUTH), await serve(TRUTH)];
    const hung = [
      await serve(() => ({ hang: true })),
      await serve(() => ({ hang: true })),
      await serve(() => ({ hang: true })),
    ];
    const clock = new ManualClock();
    let done = false;
    const pending = detectPublicIp({
      family: 4,
      sources: [...agree, ...hung].map((s) => http(s.url, 10_000)),
      quorum: 2,
      clock,
    }).then((d) => {
      done = true;
      return d;
    });
    await until(() => clock.pending === 1);
    await until(() => hung.every((s) => s.hits === 1));
    await clock.advance(499);
    expect(done).toBe(false);
    await clock.advance(1);
    const detection = await pending;
    expect(detection).toMatchObject({ kind: 'verified', ip: TRUTH });
    if (detection.kind !== 'verified') return;
    expect([...detection.agreeing].sort()).toEqual(agree.map((s) => s.url).sort());
    for (const s of hung) expect(await s.waitForSocketsClosed(2000)).toBe(true);
  });

  it('settle-window/tie/no-decision-naming-every-source', async () => {
    const a = [await serve(TRUTH), await serve(TRUTH)];
    const b = [await serve(LIE), await serve(LIE)];
    const hung = await serve(() => ({ hang: true }));
    const clock = new ManualClock();
    const { logger, lines } = logSink();
    const pending = detectPublicIp({
      family: 4,
      sources: [...a, ...b, hung].map((s) => http(s.url, 10_000)),
      quorum: 2,
      clock,
      logger,
    });
    await until(() => lines().filter((l) => String(l['msg']).includes(' answered ')).length === 4);
    await clock.advance(500);
    const detection = await pending;
    expect(detection.kind).toBe('unverified');
    if (detection.kind !== 'unverified') return;
    expect(detection.reason).toMatch(
      /^the sources are split evenly between 81\.2\.69\.(1|66) and 81\.2\.69\.(1|66) \(2 each\), so no public IPv4 won: /,
    );
    expect(detection.reason).toContain(`${hung.url} → no answer within the settle window`);
    for (const s of [...a, ...b]) expect(detection.reason).toContain(s.url);
  });

  it('all-answered/tie/no-decision-without-waiting', async () => {
    const list = [await serve(TRUTH), await serve(LIE), await serve(TRUTH), await serve(LIE)];
    const clock = new ManualClock();
    const detection = await detectPublicIp({
      family: 4,
      sources: list.map((s) => http(s.url)),
      quorum: 2,
      clock,
    });
    expect(detection).toMatchObject({
      kind: 'unverified',
      reason: expect.stringContaining('split evenly between'),
    });
  });
});

describe('WARP veto (SPEC §3.1)', () => {
  const TRUTH_V4 = '81.2.69.1';

  it.each<[string, Record<string, string>, string]>([
    ['warp-on', { warp: 'on' }, 'Cloudflare WARP (warp=on)'],
    ['gateway-on', { gateway: 'on' }, 'Cloudflare WARP with Gateway (gateway=on)'],
  ])('trace-%s/vetoes-although-plain-sources-agree', async (_name, extra, said) => {
    const trace = await serve(traceBody('81.2.69.99', '127.0.0.1', extra));
    const plain = [
      await serve(() => ({ body: '81.2.69.99', delayMs: 100 })),
      await serve(() => ({ body: '81.2.69.99', delayMs: 100 })),
      await serve(() => ({ body: '81.2.69.99', delayMs: 100 })),
    ];
    const traceUrl = `${trace.url}cdn-cgi/trace`;
    const detection = await detectPublicIp({
      family: 4,
      sources: [http(traceUrl), ...plain.map((s) => http(s.url))],
      quorum: 2,
    });
    expect(detection).toMatchObject({ kind: 'unverified', vetoed: 'warp', warnings: [] });
    if (detection.kind !== 'unverified') return;
    expect(detection.reason).toBe(
      `${traceUrl} says this host's traffic goes through ${said}, so no source can see this network's own IPv4 address; turn WARP off on this host, exclude this host's traffic from WARP (split tunnel), or use local in ip_sources`,
    );
    for (const s of plain) expect(await s.waitForSocketsClosed(2000)).toBe(true);
  });

  it('traces-answer-after-a-plain-majority/the-decision-waits-and-they-veto', async () => {
    // 8.29.230.1 stands for a WARP egress address outside the known WARP ranges: three plain
    // sources agreeing on it are a strict majority of five before any trace has answered.
    const EGRESS = '8.29.230.1';
    const traces = [
      await serve(() => ({ body: traceBody(EGRESS, '127.0.0.1', { warp: 'on' }), delayMs: 50 })),
      await serve(() => ({ body: traceBody(EGRESS, '127.0.0.1', { warp: 'on' }), delayMs: 50 })),
    ];
    const plain = [await serve(EGRESS), await serve(EGRESS), await serve(EGRESS)];
    // The settle window runs on a clock that never moves: however slow this machine, the traces
    // answer inside it.
    const clock = new ManualClock();
    const detection = await detectPublicIp({
      family: 4,
      sources: [...traces.map((s) => http(`${s.url}cdn-cgi/trace`)), ...plain.map((s) => http(s.url))],
      quorum: 2,
      clock,
    });
    expect(detection).toMatchObject({ kind: 'unverified', vetoed: 'warp' });
    if (detection.kind !== 'unverified') return;
    expect(detection.reason).toContain('Cloudflare WARP (warp=on)');
  });

  it('trace-for-another-host/warp-on/still-vetoes', async () => {
    const trace = await serve(traceBody('8.29.230.1', 'cloudflare.com', { warp: 'on' }));
    const plain = [
      await serve(() => ({ body: '8.29.230.1', delayMs: 100 })),
      await serve(() => ({ body: '8.29.230.1', delayMs: 100 })),
      await serve(() => ({ body: '8.29.230.1', delayMs: 100 })),
    ];
    expect(await http(`${trace.url}cdn-cgi/trace`).query(4, never)).toMatchObject({
      ok: false,
      kind: 'warp',
      reason: "this host's traffic goes through Cloudflare WARP (warp=on)",
    });
    const detection = await detectPublicIp({
      family: 4,
      sources: [http(`${trace.url}cdn-cgi/trace`), ...plain.map((s) => http(s.url))],
      quorum: 2,
      clock: new ManualClock(),
    });
    expect(detection).toMatchObject({ kind: 'unverified', vetoed: 'warp' });
  });

  it('hung-trace/costs-at-most-the-settle-window/then-the-majority-wins', async () => {
    const trace = await serve(() => ({ hang: true }));
    const plain = [await serve(TRUTH_V4), await serve(TRUTH_V4), await serve(TRUTH_V4)];
    const clock = new ManualClock();
    let done = false;
    const pending = detectPublicIp({
      family: 4,
      sources: [http(`${trace.url}cdn-cgi/trace`, 10_000), ...plain.map((s) => http(s.url, 10_000))],
      quorum: 2,
      clock,
    }).then((d) => {
      done = true;
      return d;
    });
    // The three plain answers are in and the wait for the trace has begun.
    await until(() => clock.pending === 1 && trace.hits === 1);
    await clock.advance(499);
    expect(done).toBe(false);
    await clock.advance(1);
    const detection = await pending;
    expect(detection).toMatchObject({ kind: 'verified', ip: TRUTH_V4 });
    expect(await trace.waitForSocketsClosed(2000)).toBe(true);
  });

  it('hung-trace/never-waits-past-http_timeout_ms', async () => {
    const trace = await serve(() => ({ hang: true }));
    const plain = [await serve(TRUTH_V4), await serve(TRUTH_V4), await serve(TRUTH_V4)];
    const clock = new ManualClock();
    let done = false;
    const pending = detectPublicIp({
      family: 4,
      sources: [
        new HttpIpSource({ url: `${trace.url}cdn-cgi/trace`, timeoutMs: 200, clock }),
        ...plain.map((s) => new HttpIpSource({ url: s.url, timeoutMs: 200, clock })),
      ],
      quorum: 2,
      clock,
      settleMs: 5000,
    }).then((d) => {
      done = true;
      return d;
    });
    // The trace's request deadline and the wait for it are both armed.
    await until(() => clock.pending === 2 && trace.hits === 1);
    await clock.advance(199);
    expect(done).toBe(false);
    await clock.advance(1);
    const detection = await pending;
    expect(detection).toMatchObject({ kind: 'verified', ip: TRUTH_V4 });
    expect(detection.answers).toContainEqual(
      expect.objectContaining({ source: `${trace.url}cdn-cgi/trace`, kind: 'timeout' }),
    );
  });

  it('one-plain-of-five-hung/traces-answered/decides-at-once', async () => {
    const traces = [
      await serve(traceBody(TRUTH_V4, '127.0.0.1')),
      await serve(traceBody(TRUTH_V4, '127.0.0.1')),
    ];
    const plain = [await serve(TRUTH_V4), await serve(TRUTH_V4)];
    const hung = await serve(() => ({ hang: true }));
    const clock = new ManualClock();
    const detection = await detectPublicIp({
      family: 4,
      sources: [
        ...traces.map((s) => http(`${s.url}cdn-cgi/trace`, 10_000)),
        ...[...plain, hung].map((s) => http(s.url, 10_000)),
      ],
      quorum: 2,
      clock,
    });
    // Decided without the clock moving: a hung plain source costs nothing.
    expect(detection).toMatchObject({ kind: 'verified', ip: TRUTH_V4 });
    expect(clock.pending).toBe(0);
    expect(await hung.waitForSocketsClosed(2000)).toBe(true);
  });

  it('warp-egress-answer/rejected-as-cloudflare', async () => {
    const s = await serve('104.28.207.12');
    expect(await http(s.url).query(4, never)).toMatchObject({ ok: false, kind: 'cloudflare' });
  });

  it('agent/veto-keeps-the-last-verified-address/one-warning/no-write', async () => {
    let warp = false;
    const trace = await serve(() =>
      traceBody(warp ? '81.2.69.99' : '81.2.69.1', '127.0.0.1', { warp: warp ? 'on' : 'off' }),
    );
    const plain = await Promise.all(
      [1, 2, 3].map(() => serve(() => (warp ? { body: '81.2.69.99', delayMs: 100 } : { body: '81.2.69.1' }))),
    );
    world = await makeWorld({
      records: ['home.example.com'],
      overrides: { ip_sources: [`${trace.url}cdn-cgi/trace`, ...plain.map((s) => s.url)] },
    });
    const w = world;
    await w.agent.reconciler.runCycle({ reason: 'test' });
    expect(w.cf.records({ name: 'home.example.com' })[0]?.content).toBe('81.2.69.1');

    warp = true;
    w.sink.clear();
    w.cf.clearLog();
    for (let i = 0; i < 2; i++) {
      await w.clock.advance(61_000);
      const result = await w.agent.reconciler.runCycle({ reason: 'test' });
      expect(result.ipVerified).toBe(false);
    }
    expect(w.cf.requests.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(w.cf.records({ name: 'home.example.com' })[0]?.content).toBe('81.2.69.1');
    expect(w.agent.state.state.public_ip).toMatchObject({ ipv4: '81.2.69.1', verified: false });
    expect(w.agent.state.state.public_ip.error).toContain('Cloudflare WARP (warp=on)');
    const warnings = w.sink.lines().filter((l) => l['level'] === 'warn');
    expect(warnings).toHaveLength(1);
    expect(String(warnings[0]?.['msg'])).toContain('turn WARP off on this host');
  });
});

describe('source labels: no secret from a source URL is shown', () => {
  it('http-source/named-without-credentials-or-query/request-still-uses-them', async () => {
    const s = await serve('81.2.69.1');
    const url = `http://user:pa%24s@127.0.0.1:${s.port}/ip?key=SECRET#frag`;
    const source = http(url);
    expect(source.id).toBe(`http://127.0.0.1:${s.port}/ip`);
    expect(await source.query(4, never)).toEqual({ ok: true, source: source.id, ip: '81.2.69.1' });
    expect(s.requests[0]?.url).toBe('/ip?key=SECRET');
    expect(s.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('user:pa$s').toString('base64')}`);
  });

  it('redirect-location/shown-without-credentials-or-query', async () => {
    const s = await serve(() => ({
      status: 302,
      headers: { location: 'https://u:SECRET@ip.example.net/ip?key=SECRET' },
    }));
    expect(await http(s.url).query(4, never)).toMatchObject({
      ok: false,
      reason: 'answered HTTP 302 (redirect to https://ip.example.net/ip: configure the final URL)',
    });
  });

  it('detector/any-source-id-is-labelled-once', async () => {
    const { logger, text } = logSink();
    const custom = (id: string, ip: string): IpSource => ({
      id,
      query: async (): Promise<SourceAnswer> => ({ ok: true, source: id, ip }),
    });
    const detection = await detectPublicIp({
      family: 4,
      sources: [
        custom('https://a.example/ip?key=SECRET', '81.2.69.1'),
        custom('https://b.example/ip', '81.2.69.1'),
      ],
      quorum: 2,
      logger,
    });
    expect(detection).toMatchObject({
      kind: 'verified',
      agreeing: ['https://a.example/ip', 'https://b.example/ip'],
    });
    expect(JSON.stringify(detection)).not.toContain('SECRET');
    expect(text()).not.toContain('SECRET');
  });

  it('full-path/event-state-file-status-logs-and-check/SECRET-never-shown', async () => {
    let answers = ['81.2.69.1', '81.2.69.1', '81.2.69.1'];
    const a = await serve(() => answers[0] ?? '');
    const b = await serve(() => answers[1] ?? '');
    const c = await serve(() => answers[2] ?? '');
    const sources = [
      `http://user:SECRET@127.0.0.1:${a.port}/ip?key=SECRET`,
      `http://127.0.0.1:${b.port}/ip?token=SECRET&format=text`,
      `http://127.0.0.1:${c.port}/ip#SECRET`,
    ];
    const labels = [a, b, c].map((s) => `http://127.0.0.1:${s.port}/ip`);
    world = await makeWorld({ records: ['home.example.com'], overrides: { ip_sources: sources } });
    const w = world;
    const events: AgentEvent[] = [];
    w.agent.events.on('test', (e) => {
      events.push(e);
    });

    await w.agent.reconciler.runCycle({ reason: 'test' });
    expect(a.requests[0]?.url).toBe('/ip?key=SECRET');
    // Two of three make the majority; each source is named by its label.
    const changed = events.find((e) => e.type === 'ip_changed');
    const named = changed?.type === 'ip_changed' ? changed.sources : [];
    expect(named.length).toBeGreaterThanOrEqual(2);
    expect(labels).toEqual(expect.arrayContaining(named));
    expect(w.agent.status().public_ip.sources_agreeing).toEqual(named);

    // A cycle without agreement names every source in the state's error.
    answers = ['81.2.69.7', '81.2.69.8', '81.2.69.1'];
    await w.clock.advance(61_000);
    await w.agent.reconciler.runCycle({ reason: 'test' });
    for (const label of labels) expect(w.agent.state.state.public_ip.error).toContain(label);
    const status = JSON.stringify(w.agent.status());
    await w.agent.state.persist({ force: true });
    const file = await readFile(join(w.stateDir, 'state.json'), 'utf8');

    const out: string[] = [];
    answers = ['81.2.69.1', '81.2.69.1', '81.2.69.1'];
    const code = await runCheck(w.config, { out: (l) => out.push(l), logger: w.sink.logger });
    expect(out.join('\n')).toMatch(
      /Public IP: IPv4 81\.2\.69\.1 \(agreed by http:\/\/127\.0\.0\.1:\d+\/ip, /,
    );
    expect(code).not.toBe(2);

    for (const [where, shown] of [
      ['events', JSON.stringify(events)],
      ['status document', status],
      ['state.json', file],
      ['logs', w.sink.text()],
      ['check output', out.join('\n')],
    ] as const) {
      expect(shown, where).not.toContain('SECRET');
      expect(shown, where).not.toContain('user:');
    }
  });
});
