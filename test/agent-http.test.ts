/**
 * The HTTP server inside the running agent (http_port > 0), end to end on loopback: the same world
 * as test/agent-watchdog.test.ts (broker, router, TLS WAN targets, Tasmota, fake Cloudflare) with
 * the agent's HTTP face on a free port. The Prometheus text is read by a real parser
 * (prom2javascript), the live stream by reading the raw SSE text.
 */
import { get as httpGet, type IncomingMessage } from 'node:http';
import {
  getMetricsFromIterator,
  type PromData,
  type PromHistogramData,
  type PromMetrics,
} from 'prom2javascript';
import { request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { apiResultOf } from '../src/agent/metrics.js';
import { CloudflareApiError, type CloudflareFailureKind } from '../src/errors.js';
import { makeTestPki, type TestPki } from './fakes/tls-server.js';
import { freePort } from './helpers/net.js';
import { makeWatchdogWorld, until, type WatchdogWorld } from './helpers/world.js';

let pki: TestPki;
beforeAll(async () => {
  pki = await makeTestPki();
});

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const TOKEN = 'http-test-token-4d8e2a6c';

async function world(
  o: { token?: string; triggerGapMs?: number; plug?: boolean } = {},
): Promise<WatchdogWorld & { url: string }> {
  const port = await freePort();
  const w = await makeWatchdogWorld(pki, {
    overrides: {
      http_port: port,
      http_host: '127.0.0.1',
      ...(o.token ? { http_token: o.token } : {}),
      ...(o.plug === false ? { plug_type: 'none', recovery_enabled: false } : {}),
    },
    ...(o.triggerGapMs !== undefined ? { triggerGapMs: o.triggerGapMs } : {}),
  });
  cleanups.push(() => w.close());
  await until(() => w.agent.http !== null, 'the HTTP server');
  return Object.assign(w, { url: w.agent.http!.url });
}

async function call(
  url: string,
  path: string,
  init: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; text: string; json: () => Record<string, unknown> }> {
  const res = await request(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.method === 'POST' ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, json: () => JSON.parse(text) };
}

const post = (url: string, name: string, body: string) =>
  call(url, `/api/command/${name}`, { method: 'POST', body });

async function scrape(url: string, headers: Record<string, string> = {}): Promise<PromMetrics> {
  const res = await call(url, '/metrics', { headers });
  expect(res.status).toBe(200);
  return getMetricsFromIterator(res.text.split('\n')[Symbol.iterator]());
}

function sample(m: PromMetrics, name: string, labels: Record<string, string> = {}): number {
  const f = m[name];
  if (!f) throw new Error(`metric ${name} is missing`);
  const s = (f.data as PromData[]).find((d) => Object.entries(labels).every(([k, v]) => d.labels[k] === v));
  if (!s) throw new Error(`${name} has no sample with ${JSON.stringify(labels)}`);
  return s.value;
}

function sum(m: PromMetrics, name: string, labels: Record<string, string> = {}): number {
  const f = m[name];
  if (!f) throw new Error(`metric ${name} is missing`);
  return (f.data as PromData[])
    .filter((d) => Object.entries(labels).every(([k, v]) => d.labels[k] === v))
    .reduce((a, d) => a + d.value, 0);
}

function histogramCount(m: PromMetrics, name: string, labels: Record<string, string>): number {
  const f = m[name];
  if (!f) throw new Error(`metric ${name} is missing`);
  const h = (f.data as PromHistogramData[]).find((d) =>
    Object.entries(labels).every(([k, v]) => d.labels[k] === v),
  );
  if (!h) throw new Error(`${name} has no histogram with ${JSON.stringify(labels)}`);
  return h.count;
}

async function ready(w: WatchdogWorld): Promise<void> {
  await w.roundsUntil(() => w.agent.watchdog?.health === 'ready', 'health ready', 4);
}

/** A live `/events` stream: every `event:`/`data:` message as it arrives. */
async function openEvents(url: string): Promise<{
  messages: Array<{ event: string; data: Record<string, unknown> }>;
  close: () => void;
}> {
  const messages: Array<{ event: string; data: Record<string, unknown> }> = [];
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    httpGet(`${url}/events`, resolve).on('error', reject);
  });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
  let buffer = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data) messages.push({ event, data: JSON.parse(data) });
      end = buffer.indexOf('\n\n');
    }
  });
  return { messages, close: () => res.destroy() };
}

describe('the HTTP server in the running agent', () => {
  it('/healthz is 200 while both loops turn, whatever the WAN; 503 naming the probe loop once it stops turning', async () => {
    const w = await world();
    await ready(w);
    expect((await call(w.url, '/healthz')).json()).toEqual({ status: 'ok' });
    w.setWan('down');
    await w.rounds(4);
    expect(w.agent.watchdog?.health).toBe('wan_down');
    const down = await call(w.url, '/healthz');
    expect(down.status).toBe(200);

    // The probe loop stops turning (the DNS loop runs hourly: still fine).
    await w.agent.watchdog!.stop();
    await w.clock.advance(3 * 15_000 + 60_000 + 1_000);
    const stuck = await call(w.url, '/healthz');
    expect(stuck.status).toBe(503);
    expect(stuck.json()).toMatchObject({
      status: 'stuck',
      reason: expect.stringMatching(/^the probe loop has not run for \d+ s/),
    });
    expect(String(stuck.json().reason)).not.toMatch(/DNS loop/);
  });

  it('/metrics (a real Prometheus parser): DNS cycles, Cloudflare API calls, DNS writes, IP changes, probe latency, health, power cycles, MQTT', async () => {
    const w = await world();
    await ready(w);
    await until(() => w.agent.mqtt?.connected === true, 'MQTT connected');
    w.setIp('81.2.69.202');
    expect((await post(w.url, 'sync', '{}')).json()).toMatchObject({
      ok: true,
      message: 'DNS sync done: 1 change(s) made',
    });
    w.setWan('down');
    await w.roundsUntil(() => w.tasmota.commands.length > 0, 'the power cycle');
    await w.rounds(3); // the plug's 30 s off, and the end of the cycle
    await w.obs.waitFor(
      () => w.obs.events().some((e) => e.type === 'power_cycle_finished'),
      'power_cycle_finished',
    );

    const m = await scrape(w.url);
    expect(sample(m, 'ddns_watchdog_dns_cycles_total', { result: 'ok' })).toBe(2);
    expect(sum(m, 'ddns_watchdog_cloudflare_api_calls_total', { result: 'ok' })).toBeGreaterThanOrEqual(3);
    expect(
      sample(m, 'ddns_watchdog_cloudflare_api_calls_total', { endpoint: 'patch_record', result: 'ok' }),
    ).toBe(1);
    expect(sample(m, 'ddns_watchdog_dns_writes_total', { action: 'update' })).toBe(1);
    expect(sample(m, 'ddns_watchdog_ip_changes_total', { family: 'ipv4' })).toBe(1);
    expect(histogramCount(m, 'ddns_watchdog_probe_latency_seconds', { target: 'router' })).toBe(
      sample(m, 'ddns_watchdog_probes_total', { target: 'router', result: 'ok' }),
    );
    expect(
      histogramCount(m, 'ddns_watchdog_probe_latency_seconds', { target: 'wan' }),
    ).toBeGreaterThanOrEqual(6);
    expect(
      sample(m, 'ddns_watchdog_probes_total', { target: 'wan', result: 'failed' }),
    ).toBeGreaterThanOrEqual(6);
    expect(sample(m, 'ddns_watchdog_health', { state: 'recovering' })).toBe(1);
    expect(sample(m, 'ddns_watchdog_health', { state: 'ready' })).toBe(0);
    expect(sample(m, 'ddns_watchdog_power_cycles_total', { result: 'ok' })).toBe(1);
    expect(sample(m, 'ddns_watchdog_mqtt_connected')).toBe(1);
    expect(sample(m, 'ddns_watchdog_availability_ratio', { window: '24h' })).toBeLessThan(1);
  });

  it('/state is the document MQTT publishes', async () => {
    const w = await world();
    await ready(w);
    const fromHttp = (await call(w.url, '/state')).json();
    await w.obs.waitFor(
      () => JSON.stringify(w.obs.state()) === JSON.stringify(fromHttp),
      'the same document on MQTT',
    );
    expect(fromHttp).toMatchObject({ health: 'ready', probes: { wan: { ok: true } } });
  });

  it('POST /api/command/<name> answers as MQTT does (one parser, one set of handlers)', async () => {
    const w = await world({ plug: false });
    await ready(w);
    // [command, HTTP body, MQTT payload, HTTP status]
    const cases: Array<[string, string, string, number]> = [
      ['sync', '{"transaction":"t-1"}', '{"transaction":"t-1"}', 200],
      ['probe', '{}', 'PRESS', 200],
      ['reboot', '{}', 'PRESS', 409], // refused: no plug
      ['recovery', '{"enabled":true}', 'ON', 409], // refused: no plug
      ['sync', '{"recordz":[]}', '{"recordz":[]}', 400], // refused by the parser
    ];
    for (const [name, httpBody, mqttPayload, status] of cases) {
      const viaHttp = await post(w.url, name, httpBody);
      const viaMqtt = await w.obs.command(name, mqttPayload);
      // Probe answers carry latencies measured in two different rounds.
      const same = (a: unknown) => JSON.stringify(a).replace(/\d+(\.\d+)? ms/g, 'N ms');
      expect(same(viaHttp.json()), name).toBe(same(viaMqtt));
      expect(viaHttp.status, name).toBe(status);
    }
    expect((await post(w.url, 'reboot', '{}')).json()).toMatchObject({
      ok: false,
      message: expect.stringMatching(/no plug is configured/),
    });
  });

  it('a command that ran and failed answers 502 over HTTP (refused is 409); MQTT carries the same answer', async () => {
    const w = await world();
    await ready(w);
    await until(() => !w.agent.scheduler.running, 'the first DNS cycle');
    // The IP changes and every Cloudflare write fails: the sync runs, and does not work.
    w.setIp('81.2.69.203');
    w.cf.failNext({ method: 'PATCH', status: 500, times: 50 });
    w.cf.failNext({ method: 'POST', status: 500, times: 50 });
    const viaHttp = await post(w.url, 'sync', '{}');
    expect(viaHttp.status).toBe(502);
    expect(viaHttp.json()).toMatchObject({
      command: 'sync',
      ok: false,
      message: expect.stringMatching(/^DNS sync finished with problems: /),
    });
    // The MQTT answer has no status: the same fields, no more.
    const viaMqtt = await w.obs.command('sync', '{}');
    expect(Object.keys(viaMqtt as object).sort()).toEqual(['command', 'message', 'ok']);
    expect(viaMqtt).toMatchObject({ ok: false, message: expect.stringMatching(/finished with problems/) });
    expect(
      w.sink.lines().some((l) => /^sync command failed: DNS sync finished with problems/.test(String(l.msg))),
    ).toBe(true);
  });

  it('sync over HTTP and MQTT shares the rate limit: triggers within the gap join one DNS cycle', async () => {
    const w = await world({ triggerGapMs: 5_000 });
    await ready(w);
    await until(() => !w.agent.scheduler.running, 'the first DNS cycle');
    const cycles = w.agent.scheduler.cycles;
    expect((await post(w.url, 'sync', '{}')).json()).toMatchObject({ ok: true });
    expect(w.agent.scheduler.cycles).toBe(cycles + 1);
    // Within the gap: one from each face; both wait for the same cycle.
    const viaHttp = post(w.url, 'sync', '{}');
    const viaMqtt = w.obs.command('sync', 'PRESS');
    await until(() => w.agent.scheduler.cycles === cycles + 1 && w.clock.pending > 0, 'both triggers held');
    await new Promise((r) => setTimeout(r, 50));
    await w.clock.advance(5_000);
    const [a, b] = await Promise.all([viaHttp, viaMqtt]);
    expect(a.json()).toMatchObject({ ok: true });
    expect(b).toMatchObject({ ok: true });
    expect(w.agent.scheduler.cycles).toBe(cycles + 2);
  });

  it('SSE /events: the state first, then every event and a state push after each change', async () => {
    const w = await world();
    const live = await openEvents(w.url);
    cleanups.push(async () => live.close());
    await until(() => live.messages.length > 0, 'the first message');
    expect(live.messages[0]).toMatchObject({ event: 'state', data: { health: 'probing' } });
    await ready(w);
    await until(
      () =>
        live.messages.some(
          (m) => m.event === 'event' && m.data.type === 'health_changed' && m.data.to === 'ready',
        ),
      'the health_changed event',
    );
    await until(
      () => live.messages.some((m) => m.event === 'state' && m.data.health === 'ready'),
      'a state push with health ready',
    );
    w.setIp('81.2.69.203');
    await post(w.url, 'sync', '{}');
    await until(
      () =>
        live.messages.some(
          (m) => m.event === 'state' && (m.data.public_ip as { ipv4: string }).ipv4 === '81.2.69.203',
        ),
      'a state push with the new IP',
    );
    expect(live.messages.filter((m) => m.event === 'event').map((m) => m.data.type)).toEqual(
      expect.arrayContaining(['health_changed', 'ip_changed', 'dns_updated']),
    );
  });

  it('with http_token: /healthz stays open, the rest needs the token', async () => {
    const w = await world({ token: TOKEN });
    expect((await call(w.url, '/healthz')).status).toBe(200);
    expect((await call(w.url, '/state')).status).toBe(401);
    const bearer = { authorization: `Bearer ${TOKEN}` };
    expect((await call(w.url, '/state', { headers: bearer })).status).toBe(200);
    expect(sample(await scrape(w.url, bearer), 'ddns_watchdog_build_info', {})).toBe(1);
    expect(w.sink.text()).not.toContain(TOKEN);
  });

  it('stop closes the server', async () => {
    const w = await world();
    const url = w.url;
    await w.agent.stop({ graceMs: 0 });
    await expect(call(url, '/healthz')).rejects.toThrow();
  });
});

describe('the API call results /metrics counts (the metered DnsProvider)', () => {
  const err = (kind: CloudflareFailureKind, message: string, status?: number) =>
    new CloudflareApiError(kind, message, status === undefined ? {} : { status });
  it.each([
    ['answered/429', err('rate_limited', 'rate-limited (429)', 429), 'rate_limited'],
    ['answered/5xx', err('transient', 'server error (HTTP 502)', 502), 'server_error'],
    ['answered/401', err('auth', 'refused the token (401)', 401), 'client_error'],
    ['answered/404', err('not_found', 'gone', 404), 'client_error'],
    ['answered/2xx that does not parse', err('malformed', 'unexpected body', 200), 'server_error'],
    [
      'no answer/deadline',
      err('transient', 'Cloudflare did not answer within 5000 ms while listing'),
      'timeout',
    ],
    [
      'no answer/connection refused',
      err('transient', 'Could not reach Cloudflare while listing (ECONNREFUSED)'),
      'network_error',
    ],
    ['no answer/not a Cloudflare error', new Error('socket hang up'), 'network_error'],
    [
      'not sent/the 429 pause',
      err('rate_limited', "Cloudflare's rate limit is still in force for 30 s"),
      null,
    ],
    ['not sent/cancelled before', err('transient', 'Cancelled before listing'), null],
    ['not sent/the agent is stopping', err('transient', 'Cancelled while listing'), null],
  ])('%s → %s', (_n, error, result) => {
    expect(apiResultOf(error)).toBe(result);
  });
});
