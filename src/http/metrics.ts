/**
 * Prometheus metrics (`GET /metrics`, SPEC §2, docs/http.md). prom-client stays inside this file:
 * services get the small typed `Metrics` facade below (methods such as `cycle('ok')`), so they
 * never import prom-client, and a test can read what they counted through `render()`.
 *
 * Every metric lives in its own Registry (never prom-client's global one), so two agents in one
 * process (tests, the demo) never mix their numbers. Label values are closed sets: a label can
 * never grow without bound over months of uptime.
 */
import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type { Registry } from 'prom-client';
import { HEALTH_VALUES, type Health, type StatusDocument } from '../status.js';
import { VERSION } from '../version.js';

/** How a DNS cycle ended: `ok` = the IP was verified and every record ended in sync (or dry-run). */
export type CycleResult = 'ok' | 'failed';
/** Cloudflare API operations, one per client method. */
export type ApiEndpoint =
  | 'list_zones'
  | 'list_records'
  | 'create_record'
  | 'patch_record'
  | 'delete_record'
  | 'batch'
  | 'verify_token';
/** How a Cloudflare API call ended: a 2xx, a 4xx other than 429, a 429, a 5xx, no answer in time, or no connection. */
export type ApiResult = 'ok' | 'client_error' | 'rate_limited' | 'server_error' | 'timeout' | 'network_error';
export type DnsWriteAction = 'create' | 'update' | 'delete';
export type IpFamilyLabel = 'ipv4' | 'ipv6';
export type ProbeTarget = 'router' | 'wan';
/** `ok`: the plug was switched off and on again; `failed`: the plug did not obey; `skipped`: policy said no. */
export type PowerCycleResult = 'ok' | 'failed' | 'skipped';

export const CYCLE_RESULTS: readonly CycleResult[] = ['ok', 'failed'];
export const DNS_WRITE_ACTIONS: readonly DnsWriteAction[] = ['create', 'update', 'delete'];
export const IP_FAMILIES: readonly IpFamilyLabel[] = ['ipv4', 'ipv6'];
export const PROBE_TARGETS: readonly ProbeTarget[] = ['router', 'wan'];
export const POWER_CYCLE_RESULTS: readonly PowerCycleResult[] = ['ok', 'failed', 'skipped'];

/**
 * Probe latency buckets in seconds: a LAN router answers in well under 10 ms, a TLS handshake to
 * a WAN target in tens to hundreds of ms; `probe_timeout_ms` is at most 30 s.
 */
export const PROBE_LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** The metric names this module exports (the Grafana dashboard and the tests check against it). */
export const METRIC_NAMES = [
  'ddns_watchdog_build_info',
  'ddns_watchdog_dns_cycles_total',
  'ddns_watchdog_cloudflare_api_calls_total',
  'ddns_watchdog_dns_writes_total',
  'ddns_watchdog_ip_changes_total',
  'ddns_watchdog_probes_total',
  'ddns_watchdog_probe_latency_seconds',
  'ddns_watchdog_health',
  'ddns_watchdog_availability_ratio',
  'ddns_watchdog_power_cycles_total',
  'ddns_watchdog_mqtt_connected',
  'ddns_watchdog_http_connections_refused_total',
] as const;

/** What services record. Every method is cheap and never throws. */
export interface Metrics {
  /** A DNS reconcile cycle finished. */
  cycle(result: CycleResult): void;
  /** One Cloudflare API request finished (retries count once each). */
  apiCall(endpoint: ApiEndpoint, result: ApiResult): void;
  /** A DNS record was written (not counted in dry-run, where nothing is written). */
  dnsWrite(action: DnsWriteAction): void;
  /** The verified public IP of a family changed. */
  ipChange(family: IpFamilyLabel): void;
  /** One probe of a target finished; `latencySeconds` is observed when it succeeded. */
  probe(target: ProbeTarget, ok: boolean, latencySeconds?: number | null): void;
  /** The health state now (one of the §6 values; the others read 0). */
  health(state: Health): void;
  /** A power cycle ran, failed, or was skipped by policy. */
  powerCycle(result: PowerCycleResult): void;
  /** The MQTT client connected (true) or lost the broker (false). */
  mqttConnected(connected: boolean): void;
  /** The HTTP server refused a connection: too many were open at once (load shedding). */
  httpConnectionRefused(): void;
  /** Refreshes what the §6 state document also says (health, availability); called on each scrape. */
  observeState(doc: StatusDocument): void;
  /** The Prometheus text exposition of everything above. */
  render(): Promise<string>;
  /** The Content-Type of `render()`'s text. */
  readonly contentType: string;
}

export interface MetricsOptions {
  /** Also export Node's process metrics (`process_*`, `nodejs_*`). Default true. */
  processMetrics?: boolean;
  /** Shown in `ddns_watchdog_build_info{version}`. Default: this package's version. */
  version?: string;
}

const AVAILABILITY_WINDOWS = [
  ['24h', 'availability_24h'],
  ['7d', 'availability_7d'],
  ['30d', 'availability_30d'],
] as const;

/**
 * prom-client, loaded by the first createMetrics() (the agent builds metrics only with http_port),
 * so that an agent without the HTTP server never loads it: a faster start (docs/benchmarks.md).
 */
let promClient: typeof PromClient | undefined;

/** Builds the metrics with their own Registry. */
export function createMetrics(options: MetricsOptions = {}): Metrics & { readonly registry: Registry } {
  promClient ??= createRequire(import.meta.url)('prom-client') as typeof PromClient;
  const { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } = promClient;
  const registry = new Registry();
  const registers = [registry];

  const buildInfo = new Gauge({
    name: 'ddns_watchdog_build_info',
    help: 'Always 1; the label says which version of ddns-watchdog is running.',
    labelNames: ['version'] as const,
    registers,
  });
  buildInfo.set({ version: options.version ?? VERSION }, 1);

  const cycles = new Counter({
    name: 'ddns_watchdog_dns_cycles_total',
    help: 'DNS reconcile cycles by result (ok: IP verified and every record in sync or dry-run; failed: anything else).',
    labelNames: ['result'] as const,
    registers,
  });
  for (const result of CYCLE_RESULTS) cycles.inc({ result }, 0);

  const apiCalls = new Counter({
    name: 'ddns_watchdog_cloudflare_api_calls_total',
    help: 'Cloudflare API requests by endpoint and result (ok, client_error, rate_limited, server_error, timeout, network_error).',
    labelNames: ['endpoint', 'result'] as const,
    registers,
  });

  const writes = new Counter({
    name: 'ddns_watchdog_dns_writes_total',
    help: 'DNS records written to Cloudflare, by action (create, update, delete).',
    labelNames: ['action'] as const,
    registers,
  });
  for (const action of DNS_WRITE_ACTIONS) writes.inc({ action }, 0);

  const ipChanges = new Counter({
    name: 'ddns_watchdog_ip_changes_total',
    help: 'Changes of the verified public IP, by family (ipv4, ipv6).',
    labelNames: ['family'] as const,
    registers,
  });
  for (const family of IP_FAMILIES) ipChanges.inc({ family }, 0);

  const probes = new Counter({
    name: 'ddns_watchdog_probes_total',
    help: 'Router and WAN probes by target and result (ok, failed).',
    labelNames: ['target', 'result'] as const,
    registers,
  });
  const latency = new Histogram({
    name: 'ddns_watchdog_probe_latency_seconds',
    help: 'Latency of successful probes in seconds: the router (ICMP or TCP) and the WAN (TCP+TLS handshake).',
    labelNames: ['target'] as const,
    buckets: PROBE_LATENCY_BUCKETS,
    registers,
  });
  for (const target of PROBE_TARGETS) {
    latency.zero({ target });
    for (const result of ['ok', 'failed']) probes.inc({ target, result }, 0);
  }

  const health = new Gauge({
    name: 'ddns_watchdog_health',
    help: 'Health state: 1 for the current state, 0 for the others (probing, ready, degraded, wan_down, router_down, self_down, intercepted, recovering).',
    labelNames: ['state'] as const,
    registers,
  });
  const setHealth = (state: Health) => {
    for (const s of HEALTH_VALUES) health.set({ state: s }, s === state ? 1 : 0);
  };
  setHealth('probing');

  const availability = new Gauge({
    name: 'ddns_watchdog_availability_ratio',
    help: 'Share of observed time the internet was usable (ready or degraded), 0..1, over the window (24h, 7d, 30d); absent until observed.',
    labelNames: ['window'] as const,
    registers,
  });

  const powerCycles = new Counter({
    name: 'ddns_watchdog_power_cycles_total',
    help: 'Router power cycles through the smart plug, by result (ok, failed, skipped by policy).',
    labelNames: ['result'] as const,
    registers,
  });
  for (const result of POWER_CYCLE_RESULTS) powerCycles.inc({ result }, 0);

  const mqtt = new Gauge({
    name: 'ddns_watchdog_mqtt_connected',
    help: '1 while connected to the MQTT broker, else 0.',
    registers,
  });
  mqtt.set(0);

  const refused = new Counter({
    name: 'ddns_watchdog_http_connections_refused_total',
    help: 'HTTP connections closed at once because more than the limit (128) were open: load shedding.',
    registers,
  });

  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  return {
    registry,
    contentType: registry.contentType,
    cycle: (result) => cycles.inc({ result }),
    apiCall: (endpoint, result) => apiCalls.inc({ endpoint, result }),
    dnsWrite: (action) => writes.inc({ action }),
    ipChange: (family) => ipChanges.inc({ family }),
    probe: (target, ok, latencySeconds) => {
      probes.inc({ target, result: ok ? 'ok' : 'failed' });
      if (
        ok &&
        typeof latencySeconds === 'number' &&
        Number.isFinite(latencySeconds) &&
        latencySeconds >= 0
      ) {
        latency.observe({ target }, latencySeconds);
      }
    },
    health: setHealth,
    powerCycle: (result) => powerCycles.inc({ result }),
    mqttConnected: (connected) => mqtt.set(connected ? 1 : 0),
    httpConnectionRefused: () => refused.inc(),
    observeState: (doc) => {
      if ((HEALTH_VALUES as readonly string[]).includes(doc.health)) setHealth(doc.health);
      for (const [window, key] of AVAILABILITY_WINDOWS) {
        const percent = doc.uptime[key];
        if (typeof percent === 'number' && Number.isFinite(percent)) {
          availability.set({ window }, Math.min(1, Math.max(0, percent / 100)));
        } else {
          availability.remove({ window });
        }
      }
    },
    render: () => registry.metrics(),
  };
}
