import {
  getMetricsFromIterator,
  type PromData,
  type PromHistogramData,
  type PromMetric,
  type PromMetrics,
} from 'prom2javascript';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMetrics, METRIC_NAMES, PROBE_LATENCY_BUCKETS } from '../../src/http/metrics.js';
import { HEALTH_VALUES } from '../../src/status.js';
import { sampleState, startTestServer, type TestServer } from './harness.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

/** The Prometheus text parsed by a real parser (prom2javascript), not a regex of ours. */
function parse(text: string): Promise<PromMetrics> {
  return getMetricsFromIterator(text.split('\n')[Symbol.iterator]());
}

function family(families: PromMetrics, name: string): PromMetric {
  const f = families[name];
  if (!f) throw new Error(`metric ${name} is missing; got ${Object.keys(families).join(', ')}`);
  return f;
}

function samples(f: PromMetric): PromData[] {
  return f.data as PromData[];
}

function value(f: PromMetric, labels: Record<string, string> = {}): number {
  const sample = samples(f).find((m) => Object.entries(labels).every(([k, v]) => m.labels[k] === v));
  if (!sample) throw new Error(`no sample with ${JSON.stringify(labels)}`);
  return sample.value;
}

function histogram(f: PromMetric, labels: Record<string, string>): PromHistogramData {
  const h = (f.data as PromHistogramData[]).find((m) =>
    Object.entries(labels).every(([k, v]) => m.labels[k] === v),
  );
  if (!h) throw new Error(`no histogram with ${JSON.stringify(labels)}`);
  return h;
}

async function scrape(server: TestServer): Promise<{ families: PromMetrics; contentType: string }> {
  const res = await server.get('/metrics');
  expect(res.status).toBe(200);
  return { families: await parse(res.text), contentType: String(res.headers['content-type']) };
}

describe('GET /metrics', () => {
  it('metrics/fresh agent/every metric is exported with help and type in the Prometheus text format', async () => {
    t = await startTestServer();
    const { families, contentType } = await scrape(t);
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
    const types: Record<string, string> = {
      ddns_watchdog_build_info: 'gauge',
      ddns_watchdog_dns_cycles_total: 'counter',
      ddns_watchdog_cloudflare_api_calls_total: 'counter',
      ddns_watchdog_dns_writes_total: 'counter',
      ddns_watchdog_ip_changes_total: 'counter',
      ddns_watchdog_probes_total: 'counter',
      ddns_watchdog_probe_latency_seconds: 'histogram',
      ddns_watchdog_health: 'gauge',
      ddns_watchdog_availability_ratio: 'gauge',
      ddns_watchdog_power_cycles_total: 'counter',
      ddns_watchdog_mqtt_connected: 'gauge',
      ddns_watchdog_http_connections_refused_total: 'counter',
    };
    expect(Object.keys(types).sort()).toEqual([...METRIC_NAMES].sort());
    for (const name of METRIC_NAMES) {
      const f = family(families, name);
      expect(f.type, name).toBe(types[name]);
      expect(f.help.length, `${name} has a help text`).toBeGreaterThan(10);
    }
    expect(value(family(families, 'ddns_watchdog_build_info'), { version: '9.9.9-test' })).toBe(1);
    // Counters with small closed label sets start at 0, so rate() works from the first scrape.
    expect(value(family(families, 'ddns_watchdog_dns_cycles_total'), { result: 'failed' })).toBe(0);
    expect(value(family(families, 'ddns_watchdog_power_cycles_total'), { result: 'ok' })).toBe(0);
    expect(value(family(families, 'ddns_watchdog_mqtt_connected'))).toBe(0);
    expect(value(family(families, 'ddns_watchdog_http_connections_refused_total'))).toBe(0);
  });

  it('metrics/after activity/counters, histogram buckets and gauges say what the services reported', async () => {
    t = await startTestServer();
    const m = t.metrics;
    m.cycle('ok');
    m.cycle('ok');
    m.cycle('failed');
    m.apiCall('list_records', 'ok');
    m.apiCall('patch_record', 'rate_limited');
    m.apiCall('patch_record', 'rate_limited');
    m.dnsWrite('update');
    m.dnsWrite('create');
    m.ipChange('ipv4');
    m.probe('router', true, 0.003);
    m.probe('wan', true, 0.04);
    m.probe('wan', true, 0.3);
    m.probe('wan', false, null);
    m.powerCycle('ok');
    m.powerCycle('skipped');
    m.mqttConnected(true);
    const { families } = await scrape(t);

    const cycles = family(families, 'ddns_watchdog_dns_cycles_total');
    expect(value(cycles, { result: 'ok' })).toBe(2);
    expect(value(cycles, { result: 'failed' })).toBe(1);
    const api = family(families, 'ddns_watchdog_cloudflare_api_calls_total');
    expect(value(api, { endpoint: 'list_records', result: 'ok' })).toBe(1);
    expect(value(api, { endpoint: 'patch_record', result: 'rate_limited' })).toBe(2);
    const writes = family(families, 'ddns_watchdog_dns_writes_total');
    expect(value(writes, { action: 'update' })).toBe(1);
    expect(value(writes, { action: 'create' })).toBe(1);
    expect(value(writes, { action: 'delete' })).toBe(0);
    expect(value(family(families, 'ddns_watchdog_ip_changes_total'), { family: 'ipv4' })).toBe(1);
    const probes = family(families, 'ddns_watchdog_probes_total');
    expect(value(probes, { target: 'wan', result: 'ok' })).toBe(2);
    expect(value(probes, { target: 'wan', result: 'failed' })).toBe(1);

    const latency = family(families, 'ddns_watchdog_probe_latency_seconds');
    const wan = histogram(latency, { target: 'wan' });
    expect(wan.count).toBe(2); // the failed probe has no latency
    expect(wan.sum).toBeCloseTo(0.34, 6);
    expect(wan.buckets['0.025']).toBe(0);
    expect(wan.buckets['0.05']).toBe(1);
    expect(wan.buckets['0.5']).toBe(2);
    expect(wan.buckets['+Inf']).toBe(2);
    expect(Object.keys(wan.buckets)).toHaveLength(PROBE_LATENCY_BUCKETS.length + 1);
    const router = histogram(latency, { target: 'router' });
    expect(router.count).toBe(1);
    expect(router.buckets['0.0025']).toBe(0);
    expect(router.buckets['0.005']).toBe(1);

    const power = family(families, 'ddns_watchdog_power_cycles_total');
    expect(value(power, { result: 'ok' })).toBe(1);
    expect(value(power, { result: 'skipped' })).toBe(1);
    expect(value(family(families, 'ddns_watchdog_mqtt_connected'))).toBe(1);
  });

  it('metrics/health and availability/follow the state document at each scrape', async () => {
    t = await startTestServer();
    let { families } = await scrape(t);
    let health = family(families, 'ddns_watchdog_health');
    expect(samples(health).map((s) => s.labels.state)).toEqual([...HEALTH_VALUES]);
    expect(value(health, { state: 'wan_down' })).toBe(1);
    expect(samples(health).filter((s) => s.value === 1)).toHaveLength(1);
    const availability = family(families, 'ddns_watchdog_availability_ratio');
    expect(value(availability, { window: '24h' })).toBeCloseTo(0.995, 9);
    expect(value(availability, { window: '7d' })).toBeCloseTo(0.98, 9);
    expect(samples(availability).some((s) => s.labels.window === '30d')).toBe(false); // not observed yet

    const next = sampleState();
    next.health = 'ready';
    next.uptime.availability_30d = 97.25;
    t.setState(next);
    ({ families } = await scrape(t));
    health = family(families, 'ddns_watchdog_health');
    expect(value(health, { state: 'ready' })).toBe(1);
    expect(value(health, { state: 'wan_down' })).toBe(0);
    expect(value(family(families, 'ddns_watchdog_availability_ratio'), { window: '30d' })).toBeCloseTo(
      0.9725,
      9,
    );
  });

  it('metrics/state unreadable/the scrape still answers with the last values', async () => {
    t = await startTestServer({
      state: () => {
        throw new Error('state not ready');
      },
    });
    const { families } = await scrape(t);
    expect(value(family(families, 'ddns_watchdog_health'), { state: 'probing' })).toBe(1);
  });

  it('metrics/process metrics/are exported when asked for, under their usual names', async () => {
    const m = createMetrics({ processMetrics: true });
    // Node's event-loop lag reads NaN until its monitor has sampled (valid Prometheus text, but
    // prom2javascript knows only numbers and +Inf): wait for the first samples.
    const text = await vi.waitFor(
      async () => {
        const t = await m.render();
        if (/ nan$/im.test(t)) throw new Error('event-loop lag not sampled yet');
        return t;
      },
      { timeout: 5_000, interval: 20 },
    );
    const families = await parse(text);
    expect(Object.keys(families)).toEqual(
      expect.arrayContaining(['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes']),
    );
  });

  it('metrics/two instances/never share numbers (each has its own registry)', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.cycle('ok');
    const fb = await parse(await b.render());
    expect(value(family(fb, 'ddns_watchdog_dns_cycles_total'), { result: 'ok' })).toBe(0);
    const fa = await parse(await a.render());
    expect(value(family(fa, 'ddns_watchdog_dns_cycles_total'), { result: 'ok' })).toBe(1);
  });

  it('metrics/bad latency values/are not observed', async () => {
    const m = createMetrics({ processMetrics: false });
    m.probe('router', true, Number.NaN);
    m.probe('router', true, -1);
    const f = family(await parse(await m.render()), 'ddns_watchdog_probe_latency_seconds');
    expect(histogram(f, { target: 'router' }).count).toBe(0);
  });
});
