/**
 * The ready-made views in docs/views/ (issue 10.3, docs/views.md) hold only names the agent really
 * produces: the Lovelace dashboard names entity ids from the real discovery payload, the blueprint
 * listens on the agent's real event topic for event types its device triggers announce (and detects "exhausted" the way the watchdog
 * service really says it), and the Grafana dashboard queries metrics a real /metrics scrape has.
 */
import { readFileSync } from 'node:fs';
import { getMetricsFromIterator, type PromMetrics } from 'prom2javascript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse, type ScalarTag } from 'yaml';
import { parseConfig } from '../src/config/schema.js';
import {
  buildDeviceDiscovery,
  type ComponentConfig,
  discoveryOptionsFromConfig,
  eventTopic,
} from '../src/ha/discovery.js';
import { createMetrics, METRIC_NAMES } from '../src/http/metrics.js';
import { type HttpServerHandle, startHttpServer } from '../src/http/server.js';
import { ManualClock } from './fakes/clock.js';
import { opensslAvailable } from './fakes/mosquitto.js';
import { makeTestPki, type TestPki } from './fakes/tls-server.js';
import { logSink } from './helpers/log-sink.js';
import { call, sampleState } from './http/harness.js';
import { makeAgent, makeWorld, type World } from './watchdog/harness.js';

const VIEWS = new URL('../docs/views/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, VIEWS), 'utf8');

/** The discovery payload of a real configuration: defaults, a Tasmota plug, the watchdog on. */
function realComponents(): { nodeId: string; components: Record<string, ComponentConfig> } {
  const parsed = parseConfig(
    { plug_type: 'tasmota', plug_topic: 'router_plug' },
    { addon: false, isTTY: false },
  );
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const options = discoveryOptionsFromConfig(parsed.config, {
    version: '1.2.3',
    supportUrl: 'https://x.test',
  });
  const message = buildDeviceDiscovery({ ...options, watchdog: true });
  return { nodeId: options.nodeId, components: message.payload.components };
}

// ───────────────────────── Lovelace ─────────────────────────

/** Every entity id a Lovelace config names: `entity`, `entity_id` and `entities` entries, anywhere. */
function lovelaceEntityIds(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) lovelaceEntityIds(item, out);
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'entity' || key === 'entity_id') {
        for (const id of [value].flat()) if (typeof id === 'string') out.add(id);
      }
      if (key === 'entities' && Array.isArray(value)) {
        for (const item of value) if (typeof item === 'string') out.add(item);
      }
      lovelaceEntityIds(value, out);
    }
  }
  return out;
}

/** Every string anywhere in the document that looks like one of our entity ids. */
function strings(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const item of node) strings(item, out);
  else if (node !== null && typeof node === 'object') for (const v of Object.values(node)) strings(v, out);
  return out;
}

describe('docs/views/lovelace.yaml', () => {
  const dashboard = parse(read('lovelace.yaml')) as { views: Array<{ cards: Array<{ type: string }> }> };
  const { components } = realComponents();
  const created = new Set(
    Object.values(components)
      .map((c) => c.default_entity_id)
      .filter((id): id is string => typeof id === 'string'),
  );

  it('lovelace/parses/as a dashboard with one view of cards', () => {
    expect(dashboard.views).toHaveLength(1);
    const types = dashboard.views[0]!.cards.map((c) => c.type);
    for (const type of ['tile', 'glance', 'entities', 'history-graph', 'horizontal-stack']) {
      expect(types, type).toContain(type);
    }
  });

  it('lovelace/entity ids/every one is created by the discovery payload', () => {
    const named = lovelaceEntityIds(dashboard);
    expect(named.size).toBeGreaterThan(10);
    const unknown = [...named].filter((id) => !created.has(id));
    expect(unknown, `not in the discovery payload: ${unknown.join(', ')}`).toEqual([]);
    // No entity id of ours hides under another key either.
    const ours = strings(dashboard).filter((s) =>
      /^(sensor|binary_sensor|button|switch)\.ddns_watchdog_/.test(s),
    );
    expect(ours.filter((id) => !created.has(id))).toEqual([]);
  });

  it('lovelace/entity ids/shows health, the IP, DNS, connectivity, latencies, the buttons and the switch', () => {
    const named = lovelaceEntityIds(dashboard);
    for (const id of [
      'sensor.ddns_watchdog_health',
      'sensor.ddns_watchdog_public_ipv4',
      'sensor.ddns_watchdog_dns_status',
      'binary_sensor.ddns_watchdog_router',
      'binary_sensor.ddns_watchdog_internet',
      'sensor.ddns_watchdog_router_latency',
      'sensor.ddns_watchdog_wan_latency',
      'sensor.ddns_watchdog_availability_24h',
      'button.ddns_watchdog_sync',
      'button.ddns_watchdog_probe',
      'button.ddns_watchdog_reboot',
      'switch.ddns_watchdog_recovery',
    ]) {
      expect(named, id).toContain(id);
    }
  });

  it('lovelace/reboot button/asks for confirmation before pressing', () => {
    const text = JSON.stringify(dashboard);
    const reboot = strings(dashboard).filter((s) => s === 'button.ddns_watchdog_reboot');
    expect(reboot.length).toBeGreaterThan(0);
    const stack = dashboard.views[0]!.cards.find((c) => c.type === 'horizontal-stack') as unknown as {
      cards: Array<{ entity: string; tap_action: { confirmation?: { text: string } } }>;
    };
    const card = stack.cards.find((c) => c.entity === 'button.ddns_watchdog_reboot');
    expect(card?.tap_action.confirmation?.text).toMatch(/router/);
    expect(text).toContain('perform-action');
  });
});

// ───────────────────────── the blueprint ─────────────────────────

/** Home Assistant's `!input name` tag, kept as a reference the test can check. */
class InputRef {
  constructor(readonly name: string) {}
}
const inputTag: ScalarTag = {
  tag: '!input',
  resolve: (value: string) => new InputRef(value),
  identify: (value) => value instanceof InputRef,
};

interface Blueprint {
  blueprint: {
    domain: string;
    input: Record<string, { selector: Record<string, unknown>; default?: unknown }>;
    description: string;
  };
  triggers: Array<Record<string, unknown>>;
  variables: Record<string, unknown>;
  actions: unknown[];
}

function inputRefs(node: unknown, out: InputRef[] = []): InputRef[] {
  if (node instanceof InputRef) out.push(node);
  else if (Array.isArray(node)) for (const item of node) inputRefs(item, out);
  else if (node !== null && typeof node === 'object') for (const v of Object.values(node)) inputRefs(v, out);
  return out;
}

const blueprint = parse(read('blueprint-notify.yaml'), { customTags: [inputTag] }) as Blueprint;

describe('docs/views/blueprint-notify.yaml', () => {
  const { components } = realComponents();
  const announced = Object.entries(components).filter(([, c]) => c.platform === 'device_automation');

  it('blueprint/parses/as an automation blueprint whose !input tags all name declared inputs', () => {
    expect(blueprint.blueprint.domain).toBe('automation');
    const refs = inputRefs(blueprint);
    expect(refs.length).toBeGreaterThan(3);
    for (const ref of refs) expect(Object.keys(blueprint.blueprint.input), ref.name).toContain(ref.name);
  });

  it('blueprint/event topic input/defaults to the topic a default agent publishes its events on', () => {
    const parsed = parseConfig({}, { addon: false, isTTY: false });
    if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
    expect(blueprint.blueprint.input.event_topic?.default).toBe(eventTopic(parsed.config.mqtt_base_topic));
    expect(blueprint.blueprint.input.event_topic?.default).toBe('ddns-watchdog/event');
  });

  it('blueprint/triggers/are MQTT triggers on that topic matching event types the device announces', () => {
    expect(blueprint.triggers.map((t) => t.payload)).toEqual([
      'wan_down',
      'power_cycle_started',
      'power_cycle_skipped',
    ]);
    for (const t of blueprint.triggers) {
      expect(t.trigger).toBe('mqtt');
      expect(t.topic).toEqual(new InputRef('event_topic'));
      // The same event types the device triggers fire on (so the agent really sends them) …
      const match = announced.find(([, c]) => c.payload === t.payload);
      expect(match, `no device trigger fires on ${String(t.payload)}`).toBeDefined();
      // … read from the same field: the event's JSON `type`, guarded for a payload that is not JSON.
      expect(String(match![1].value_template)).toBe('{{ value_json.type }}');
      expect(t.value_template).toMatch(/value_json\.type if value_json is defined and value_json is mapping/);
    }
    expect(blueprint.triggers.map((t) => t.id)).toEqual(['wan_down', 'power_cycle_started', 'exhausted']);
    // Nothing in it depends on the node id (it used to name device-trigger discovery ids).
    expect(read('blueprint-notify.yaml')).not.toMatch(/discovery_id|device_id|ddns_watchdog_event/);
  });

  it('blueprint/description/says how exhausted is detected', () => {
    expect(blueprint.blueprint.description).toMatch(/no `exhausted` event type/);
    expect(blueprint.blueprint.description).toContain('`power_cycle_skipped`');
    expect(blueprint.blueprint.description).toContain(String(blueprint.variables.exhausted_marker));
  });
});

// The watchdog service is what announces power_cycle_skipped: drive it to each kind of skip and
// check that the blueprint's marker picks out the spent budget and nothing else.
describe.skipIf(!opensslAvailable())('blueprint/exhausted marker against the watchdog service', () => {
  let pki: TestPki;
  let world: World | null = null;
  let stop: (() => Promise<void>) | null = null;
  const marker = String(blueprint.variables.exhausted_marker);

  beforeAll(async () => {
    pki = await makeTestPki();
  });
  afterEach(async () => {
    await stop?.();
    stop = null;
    await world?.close();
    world = null;
  });

  async function skippedReasons(config: Record<string, unknown>): Promise<string[]> {
    world = await makeWorld(pki);
    world.setWan('down');
    const agent = await makeAgent(pki, world, {
      plug: 'self_timed',
      config: { probe_interval_seconds: 60, ...config },
    });
    stop = () => agent.svc.stop();
    await agent.rounds(6);
    return agent.of('power_cycle_skipped').map((e) => e.reason);
  }

  it('blueprint/exhausted/the spent budget reason carries the marker', async () => {
    const reasons = await skippedReasons({ max_power_cycles: 0 });
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain(marker);
  });

  it('blueprint/exhausted/Auto recovery off is not taken for exhausted', async () => {
    const reasons = await skippedReasons({ recovery_enabled: false });
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).not.toContain(marker);
  });

  it('blueprint/exhausted/dry-run is not taken for exhausted', async () => {
    const reasons = await skippedReasons({ mode: 'dry-run', mode_explicit: true });
    expect(reasons.length).toBeGreaterThan(0);
    for (const reason of reasons) expect(reason).not.toContain(marker);
  });
});

// ───────────────────────── Grafana ─────────────────────────

const PROMQL_WORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'inf',
  'nan',
]);

/**
 * The metric names a PromQL expression reads: identifiers left after dropping strings, label
 * matchers, ranges and label lists, that are neither a function call nor a keyword.
 */
/** How Grafana names the data source input in an exported dashboard. */
const DS_INPUT = '$' + '{DS_PROMETHEUS}';

function promqlMetricNames(expr: string): string[] {
  const e = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names: string[] = [];
  for (const m of e.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const before = e[m.index - 1];
    if (before === '$' || before === '.' || (before !== undefined && /[0-9]/.test(before))) continue;
    if (/^\s*\(/.test(e.slice(m.index + m[0].length))) continue;
    if (PROMQL_WORDS.has(m[0])) continue;
    names.push(m[0]);
  }
  return names;
}

async function scrapeWhen(url: string, ready: (text: string) => boolean): Promise<PromMetrics> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const res = await call(url, '/metrics');
    expect(res.status).toBe(200);
    if (ready(res.text)) return getMetricsFromIterator(res.text.split('\n')[Symbol.iterator]());
    if (Date.now() > deadline) throw new Error(`/metrics never became ready:\n${res.text}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Panel {
  id: number;
  type: string;
  datasource: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets: Array<{ expr: string; datasource: { uid: string } }>;
}
interface Dashboard {
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  panels: Panel[];
  templating: { list: Array<{ datasource: { uid: string }; query: string | { query: string } }> };
}

describe('docs/views/grafana-dashboard.json', () => {
  const dashboard = JSON.parse(read('grafana-dashboard.json')) as Dashboard;
  let server: HttpServerHandle | undefined;
  afterAll(async () => {
    await server?.close();
  });

  it('grafana/metric names/are read from every kind of expression', () => {
    expect(
      promqlMetricNames(
        'histogram_quantile(0.95, sum by (le, target) (rate(a_bucket{x=~"$i", y="b"}[$__rate_interval]))) / b * 60',
      ),
    ).toEqual(['a_bucket', 'b']);
    expect(promqlMetricNames('max by (state) (c{instance=~"$instance"}) == 1')).toEqual(['c']);
  });

  it('grafana/datasource/is the DS_PROMETHEUS input everywhere', () => {
    expect(dashboard.__inputs).toEqual([
      expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' }),
    ]);
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of dashboard.panels) {
      expect(p.datasource.uid, p.type).toBe(DS_INPUT);
      for (const t of p.targets) expect(t.datasource.uid).toBe(DS_INPUT);
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    }
    for (const v of dashboard.templating.list) expect(v.datasource.uid).toBe(DS_INPUT);
  });

  it('grafana/queries/name only metrics a real /metrics scrape exports, and every ddns_watchdog metric', async () => {
    // The real server with the real metrics (process metrics on, as in the agent), each exercised once.
    const metrics = createMetrics();
    metrics.cycle('ok');
    metrics.apiCall('list_records', 'ok');
    metrics.dnsWrite('update');
    metrics.ipChange('ipv4');
    metrics.probe('router', true, 0.002);
    metrics.probe('wan', false, null);
    metrics.health('ready');
    metrics.powerCycle('ok');
    metrics.mqttConnected(true);
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      addon: false,
      logger: logSink().logger,
      clock: new ManualClock(),
      probes: { health: () => ({ ok: true }) },
      state: sampleState, // availability 24h and 7d: the availability gauge has samples
      metrics,
    });
    // Node's event-loop delay monitor has no sample in its first milliseconds, and prom-client
    // then writes `Nan` (Prometheus reads it; this stricter parser does not): scrape until it has one.
    const families = await scrapeWhen(server.url, (text) => !/ Nan$/m.test(text));

    const exported = (name: string): boolean => {
      if (families[name]) return true;
      const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
      const family = base === undefined ? undefined : families[base];
      return family?.type === 'histogram' || family?.type === 'summary';
    };

    const queried = new Set<string>();
    for (const p of dashboard.panels) {
      for (const t of p.targets) {
        const names = promqlMetricNames(t.expr);
        expect(names.length, `panel ${p.id}: ${t.expr}`).toBeGreaterThan(0);
        for (const n of names) queried.add(n);
      }
    }
    for (const v of dashboard.templating.list) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const name = /label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)/.exec(q)?.[1];
      expect(name, q).toBeDefined();
      queried.add(name!);
    }
    const missing = [...queried].filter((n) => !exported(n));
    expect(missing, `not exported by /metrics: ${missing.join(', ')}`).toEqual([]);
    const base = (n: string) => n.replace(/_(bucket|sum|count)$/, '');
    const covered = new Set([...queried].map(base));
    for (const name of METRIC_NAMES) expect(covered, `${name} has no panel`).toContain(name);
  });
});
