import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Config } from '../src/config/schema.js';
import { HEALTH_STATES } from '../src/domain/health.js';
import { EVENT_TYPES } from '../src/events.js';
import {
  buildDeviceDiscovery,
  buildDeviceRemoval,
  buildRemovals,
  type ComponentConfig,
  type DeviceDiscoveryPayload,
  type DiscoveryConfig,
  type DiscoveryOptions,
  defaultEntityId,
  discoveryOptionsFromConfig,
  serializeDiscovery,
} from '../src/ha/discovery.js';
import {
  ALL_ENTITY_KEYS,
  deviceTriggers,
  entityCatalogue,
  onOffOrNone,
  stateValue,
} from '../src/ha/entities.js';
import { freshRecordState, freshState } from '../src/state/schema.js';
import { buildStatus, DNS_STATUS_VALUES } from '../src/status.js';
import { checkDiscovery, checkStateDocument, type DiscoveryCheckOptions } from './ha/discovery-rules.js';

const SUPPORT_URL = 'https://github.com/ddns-watchdog/ddns-watchdog';

/** The defaults of SPEC §2 (ip_version ipv4, plug_type none) with version 0.1.0. */
const DEFAULTS: DiscoveryOptions = {
  discoveryPrefix: 'homeassistant',
  nodeId: 'ddns_watchdog',
  baseTopic: 'ddns-watchdog',
  deviceName: 'DDNS Watchdog',
  ipVersion: 'ipv4',
  hasPlug: false,
  version: '0.1.0',
  supportUrl: SUPPORT_URL,
};

function checkOptions(opts: DiscoveryOptions): DiscoveryCheckOptions {
  return {
    discoveryPrefix: opts.discoveryPrefix,
    nodeId: opts.nodeId,
    baseTopic: opts.baseTopic,
    publishedValues: { health: HEALTH_STATES, dnsStatus: DNS_STATUS_VALUES },
    eventTypes: EVENT_TYPES,
  };
}

const trigger = (type: string) => ({
  platform: 'device_automation',
  automation_type: 'trigger',
  topic: 'ddns-watchdog/event',
  type,
  subtype: 'ddns_watchdog',
  payload: type,
  value_template: '{{ value_json.type }}',
  qos: 1,
});

/** The whole default payload, written out: the contract Home Assistant users depend on. */
const DEFAULT_PAYLOAD = {
  device: {
    identifiers: ['ddns_watchdog_ddns_watchdog'],
    name: 'DDNS Watchdog',
    manufacturer: 'ddns-watchdog',
    model: 'DDNS and WAN watchdog',
    sw_version: '0.1.0',
  },
  origin: { name: 'ddns-watchdog', sw_version: '0.1.0', support_url: SUPPORT_URL },
  availability: [
    { topic: 'ddns-watchdog/availability', payload_available: 'online', payload_not_available: 'offline' },
  ],
  qos: 1,
  components: {
    ddns_watchdog_public_ipv4: {
      platform: 'sensor',
      name: 'Public IPv4',
      unique_id: 'ddns_watchdog_public_ipv4',
      default_entity_id: 'sensor.ddns_watchdog_public_ipv4',
      icon: 'mdi:ip-network',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.public_ip.ipv4 }}',
      qos: 1,
    },
    ddns_watchdog_dns_status: {
      platform: 'sensor',
      name: 'DNS status',
      unique_id: 'ddns_watchdog_dns_status',
      default_entity_id: 'sensor.ddns_watchdog_dns_status',
      icon: 'mdi:dns',
      device_class: 'enum',
      options: ['in_sync', 'out_of_sync', 'updating', 'error', 'dry_run', 'disabled'],
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.dns.status }}',
      qos: 1,
    },
    ddns_watchdog_health: {
      platform: 'sensor',
      name: 'Health',
      unique_id: 'ddns_watchdog_health',
      default_entity_id: 'sensor.ddns_watchdog_health',
      icon: 'mdi:heart-pulse',
      device_class: 'enum',
      options: [
        'probing',
        'ready',
        'degraded',
        'wan_down',
        'router_down',
        'self_down',
        'intercepted',
        'recovering',
      ],
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.health }}',
      qos: 1,
    },
    ddns_watchdog_last_dns_update: {
      platform: 'sensor',
      name: 'Last DNS update',
      unique_id: 'ddns_watchdog_last_dns_update',
      default_entity_id: 'sensor.ddns_watchdog_last_dns_update',
      icon: 'mdi:update',
      device_class: 'timestamp',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.dns.last_change }}',
      qos: 1,
    },
    ddns_watchdog_started: {
      platform: 'sensor',
      name: 'Started',
      unique_id: 'ddns_watchdog_started',
      default_entity_id: 'sensor.ddns_watchdog_started',
      icon: 'mdi:clock-start',
      entity_category: 'diagnostic',
      device_class: 'timestamp',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.uptime.started_at }}',
      qos: 1,
    },
    ddns_watchdog_last_power_cycle: {
      platform: 'sensor',
      name: 'Last power cycle',
      unique_id: 'ddns_watchdog_last_power_cycle',
      default_entity_id: 'sensor.ddns_watchdog_last_power_cycle',
      icon: 'mdi:power-cycle',
      device_class: 'timestamp',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.recovery.last_power_cycle }}',
      qos: 1,
    },
    ddns_watchdog_availability_24h: {
      platform: 'sensor',
      name: 'Availability 24h',
      unique_id: 'ddns_watchdog_availability_24h',
      default_entity_id: 'sensor.ddns_watchdog_availability_24h',
      icon: 'mdi:percent',
      entity_category: 'diagnostic',
      unit_of_measurement: '%',
      state_class: 'measurement',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.uptime.availability_24h }}',
      qos: 1,
    },
    ddns_watchdog_availability_7d: {
      platform: 'sensor',
      name: 'Availability 7d',
      unique_id: 'ddns_watchdog_availability_7d',
      default_entity_id: 'sensor.ddns_watchdog_availability_7d',
      icon: 'mdi:percent',
      entity_category: 'diagnostic',
      unit_of_measurement: '%',
      state_class: 'measurement',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.uptime.availability_7d }}',
      qos: 1,
    },
    ddns_watchdog_availability_30d: {
      platform: 'sensor',
      name: 'Availability 30d',
      unique_id: 'ddns_watchdog_availability_30d',
      default_entity_id: 'sensor.ddns_watchdog_availability_30d',
      icon: 'mdi:percent',
      entity_category: 'diagnostic',
      unit_of_measurement: '%',
      state_class: 'measurement',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.uptime.availability_30d }}',
      qos: 1,
    },
    ddns_watchdog_router_latency: {
      platform: 'sensor',
      name: 'Router latency',
      unique_id: 'ddns_watchdog_router_latency',
      default_entity_id: 'sensor.ddns_watchdog_router_latency',
      icon: 'mdi:timer-outline',
      entity_category: 'diagnostic',
      device_class: 'duration',
      unit_of_measurement: 'ms',
      state_class: 'measurement',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.probes.router.latency_ms }}',
      qos: 1,
    },
    ddns_watchdog_wan_latency: {
      platform: 'sensor',
      name: 'WAN latency',
      unique_id: 'ddns_watchdog_wan_latency',
      default_entity_id: 'sensor.ddns_watchdog_wan_latency',
      icon: 'mdi:timer-outline',
      entity_category: 'diagnostic',
      device_class: 'duration',
      unit_of_measurement: 'ms',
      state_class: 'measurement',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.probes.wan.latency_ms }}',
      qos: 1,
    },
    ddns_watchdog_router: {
      platform: 'binary_sensor',
      name: 'Router',
      unique_id: 'ddns_watchdog_router',
      default_entity_id: 'binary_sensor.ddns_watchdog_router',
      device_class: 'connectivity',
      state_topic: 'ddns-watchdog/state',
      value_template:
        "{{ none if value_json.probes.router.ok is none else ('ON' if value_json.probes.router.ok else 'OFF') }}",
      payload_on: 'ON',
      payload_off: 'OFF',
      qos: 1,
    },
    ddns_watchdog_internet: {
      platform: 'binary_sensor',
      name: 'Internet',
      unique_id: 'ddns_watchdog_internet',
      default_entity_id: 'binary_sensor.ddns_watchdog_internet',
      device_class: 'connectivity',
      state_topic: 'ddns-watchdog/state',
      value_template:
        "{{ none if value_json.probes.wan.ok is none else ('ON' if value_json.probes.wan.ok else 'OFF') }}",
      payload_on: 'ON',
      payload_off: 'OFF',
      qos: 1,
    },
    ddns_watchdog_power_cycles: {
      platform: 'sensor',
      name: 'Power cycles',
      unique_id: 'ddns_watchdog_power_cycles',
      default_entity_id: 'sensor.ddns_watchdog_power_cycles',
      icon: 'mdi:counter',
      entity_category: 'diagnostic',
      state_class: 'total_increasing',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.recovery.power_cycles_total }}',
      qos: 1,
    },
    ddns_watchdog_sync: {
      platform: 'button',
      name: 'Sync DNS now',
      unique_id: 'ddns_watchdog_sync',
      default_entity_id: 'button.ddns_watchdog_sync',
      icon: 'mdi:cloud-sync',
      command_topic: 'ddns-watchdog/command/sync',
      payload_press: 'PRESS',
      retain: false,
      qos: 1,
    },
    ddns_watchdog_probe: {
      platform: 'button',
      name: 'Probe now',
      unique_id: 'ddns_watchdog_probe',
      default_entity_id: 'button.ddns_watchdog_probe',
      icon: 'mdi:radar',
      command_topic: 'ddns-watchdog/command/probe',
      payload_press: 'PRESS',
      retain: false,
      qos: 1,
    },
    ddns_watchdog_recovery: {
      platform: 'switch',
      name: 'Auto recovery',
      unique_id: 'ddns_watchdog_recovery',
      default_entity_id: 'switch.ddns_watchdog_recovery',
      icon: 'mdi:autorenew',
      entity_category: 'config',
      state_topic: 'ddns-watchdog/state',
      value_template: "{{ 'ON' if value_json.recovery.enabled else 'OFF' }}",
      command_topic: 'ddns-watchdog/command/recovery',
      payload_on: 'ON',
      payload_off: 'OFF',
      retain: false,
      qos: 1,
    },
    ddns_watchdog_event_ip_changed: trigger('ip_changed'),
    ddns_watchdog_event_dns_updated: trigger('dns_updated'),
    ddns_watchdog_event_dns_update_failed: trigger('dns_update_failed'),
    ddns_watchdog_event_health_changed: trigger('health_changed'),
    ddns_watchdog_event_wan_down: trigger('wan_down'),
    ddns_watchdog_event_wan_restored: trigger('wan_restored'),
    ddns_watchdog_event_power_cycle_started: trigger('power_cycle_started'),
    ddns_watchdog_event_power_cycle_finished: trigger('power_cycle_finished'),
    ddns_watchdog_event_power_cycle_skipped: trigger('power_cycle_skipped'),
  },
};

const REBOOT_COMPONENT = {
  platform: 'button',
  name: 'Reboot router',
  unique_id: 'ddns_watchdog_reboot',
  default_entity_id: 'button.ddns_watchdog_reboot',
  entity_category: 'config',
  device_class: 'restart',
  command_topic: 'ddns-watchdog/command/reboot',
  payload_press: 'PRESS',
  retain: false,
  qos: 1,
};

/** Marks a key to delete in `put`. */
const DELETE = Symbol('delete');

/** Sets (or deletes) the value at `path` inside a JSON object, creating nothing on the way. */
function put(root: unknown, path: readonly string[], value: unknown): void {
  let node = root as Record<string, unknown>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string, unknown>;
  const last = path.at(-1) as string;
  if (value === DELETE) delete node[last];
  else node[last] = value;
}

function defaultPayload(): DeviceDiscoveryPayload {
  return buildDeviceDiscovery(DEFAULTS).payload;
}

describe('device discovery payload', () => {
  it('default config: exact payload on homeassistant/device/ddns_watchdog/config, byte for byte', () => {
    const message = buildDeviceDiscovery(DEFAULTS);
    expect(message.topic).toBe('homeassistant/device/ddns_watchdog/config');
    expect(message.payload).toEqual(DEFAULT_PAYLOAD);
    // Key order too: the bridge compares the serialized text to skip unchanged republishes.
    expect(serializeDiscovery(message)).toBe(JSON.stringify(DEFAULT_PAYLOAD));
  });

  it('the validated Config fits what discovery reads (checked by tsc)', () => {
    expectTypeOf<Config>().toExtend<DiscoveryConfig>();
  });

  it('builds the options from the snake_case config keys', () => {
    const opts = discoveryOptionsFromConfig(
      {
        discovery_prefix: 'homeassistant',
        node_id: 'ddns_watchdog',
        mqtt_base_topic: 'ddns-watchdog',
        device_name: 'DDNS Watchdog',
        ip_version: 'ipv4',
        plug_type: 'none',
      },
      { version: '0.1.0', supportUrl: SUPPORT_URL },
    );
    expect(opts).toEqual(DEFAULTS);
    expect(
      discoveryOptionsFromConfig(
        {
          discovery_prefix: 'ha',
          node_id: 'n',
          mqtt_base_topic: 'b',
          device_name: 'D',
          ip_version: 'both',
          plug_type: 'tasmota',
        },
        { version: '1', supportUrl: SUPPORT_URL },
      ).hasPlug,
    ).toBe(true);
  });

  describe.each([
    { ipVersion: 'ipv4', hasPlug: false, v4: true, v6: false },
    { ipVersion: 'ipv4', hasPlug: true, v4: true, v6: false },
    { ipVersion: 'ipv6', hasPlug: false, v4: false, v6: true },
    { ipVersion: 'ipv6', hasPlug: true, v4: false, v6: true },
    { ipVersion: 'both', hasPlug: false, v4: true, v6: true },
    { ipVersion: 'both', hasPlug: true, v4: true, v6: true },
  ] as const)('ip_version $ipVersion, plug $hasPlug', ({ ipVersion, hasPlug, v4, v6 }) => {
    const opts: DiscoveryOptions = { ...DEFAULTS, ipVersion, hasPlug };
    const { topic, payload } = buildDeviceDiscovery(opts);

    it('passes every SPEC §6 / Home Assistant rule', () => {
      expect(checkDiscovery(topic, payload, checkOptions(opts))).toEqual([]);
    });

    it('has the Public IP sensors of its families and the reboot button only with a plug', () => {
      const c = payload.components;
      expect('ddns_watchdog_public_ipv4' in c).toBe(v4);
      expect('ddns_watchdog_public_ipv6' in c).toBe(v6);
      if (hasPlug) expect(c.ddns_watchdog_reboot).toEqual(REBOOT_COMPONENT);
      else expect('ddns_watchdog_reboot' in c).toBe(false);
      const expectedEntities = ALL_ENTITY_KEYS.filter(
        (k) => (k !== 'public_ipv4' || v4) && (k !== 'public_ipv6' || v6) && (k !== 'reboot' || hasPlug),
      );
      expect(entityCatalogue({ ipVersion, hasPlug }).map((e) => e.key)).toEqual(expectedEntities);
      expect(Object.keys(c)).toHaveLength(expectedEntities.length + EVENT_TYPES.length);
    });
  });

  it('the IPv6 sensor reads public_ip.ipv6', () => {
    const c = buildDeviceDiscovery({ ...DEFAULTS, ipVersion: 'ipv6' }).payload.components;
    expect(c.ddns_watchdog_public_ipv6).toEqual({
      platform: 'sensor',
      name: 'Public IPv6',
      unique_id: 'ddns_watchdog_public_ipv6',
      default_entity_id: 'sensor.ddns_watchdog_public_ipv6',
      icon: 'mdi:ip-network-outline',
      state_topic: 'ddns-watchdog/state',
      value_template: '{{ value_json.public_ip.ipv6 }}',
      qos: 1,
    });
  });

  it('custom prefix, base topic, node id and device name flow through every topic and id', () => {
    const opts: DiscoveryOptions = {
      ...DEFAULTS,
      discoveryPrefix: 'ha-test',
      baseTopic: 'home/net/watchdog',
      nodeId: 'Edge-Box_2',
      deviceName: 'Edge box',
      hasPlug: true,
      ipVersion: 'both',
    };
    const { topic, payload } = buildDeviceDiscovery(opts);
    expect(topic).toBe('ha-test/device/Edge-Box_2/config');
    expect(checkDiscovery(topic, payload, checkOptions(opts))).toEqual([]);
    const health = payload.components['Edge-Box_2_health'];
    expect(health?.unique_id).toBe('Edge-Box_2_health');
    // Entity ids are lower case [a-z0-9_]: the node id is slugged there, and only there.
    expect(health?.default_entity_id).toBe('sensor.edge_box_2_health');
    expect(payload.components['Edge-Box_2_reboot']?.command_topic).toBe('home/net/watchdog/command/reboot');
    expect(payload.components['Edge-Box_2_event_wan_down']?.topic).toBe('home/net/watchdog/event');
    expect(payload.availability[0]?.topic).toBe('home/net/watchdog/availability');
    expect(payload.device.identifiers).toEqual(['ddns_watchdog_Edge-Box_2']);
    expect(payload.device.name).toBe('Edge box');
  });

  it('default_entity_id is <platform>.<node_id>_<key>, slugged to a valid entity id', () => {
    expect(defaultEntityId('sensor', 'ddns_watchdog', 'public_ipv4')).toBe(
      'sensor.ddns_watchdog_public_ipv4',
    );
    expect(defaultEntityId('switch', '-Odd--Node-', 'recovery')).toBe('switch.odd_node_recovery');
  });

  it('one device trigger per event type, in EVENT_TYPES order', () => {
    expect(deviceTriggers().map((t) => t.type)).toEqual([...EVENT_TYPES]);
    const triggers = Object.values(defaultPayload().components).filter(
      (c) => c.platform === 'device_automation',
    );
    expect(triggers.map((t) => t.type)).toEqual([...EVENT_TYPES]);
  });

  it('the enum options are exactly the values the state document can carry', () => {
    const c = defaultPayload().components;
    expect(c.ddns_watchdog_health?.options).toEqual([...HEALTH_STATES]);
    expect(c.ddns_watchdog_dns_status?.options).toEqual([...DNS_STATUS_VALUES]);
  });
});

describe('value templates (exact text; why each renders unknown for null is in docs/home-assistant.md)', () => {
  it.each([
    ['public_ipv4', '{{ value_json.public_ip.ipv4 }}'],
    ['public_ipv6', '{{ value_json.public_ip.ipv6 }}'],
    ['dns_status', '{{ value_json.dns.status }}'],
    ['health', '{{ value_json.health }}'],
    ['last_dns_update', '{{ value_json.dns.last_change }}'],
    ['started', '{{ value_json.uptime.started_at }}'],
    ['last_power_cycle', '{{ value_json.recovery.last_power_cycle }}'],
    ['availability_24h', '{{ value_json.uptime.availability_24h }}'],
    ['availability_7d', '{{ value_json.uptime.availability_7d }}'],
    ['availability_30d', '{{ value_json.uptime.availability_30d }}'],
    ['router_latency', '{{ value_json.probes.router.latency_ms }}'],
    ['wan_latency', '{{ value_json.probes.wan.latency_ms }}'],
    [
      'router',
      "{{ none if value_json.probes.router.ok is none else ('ON' if value_json.probes.router.ok else 'OFF') }}",
    ],
    [
      'internet',
      "{{ none if value_json.probes.wan.ok is none else ('ON' if value_json.probes.wan.ok else 'OFF') }}",
    ],
    ['power_cycles', '{{ value_json.recovery.power_cycles_total }}'],
    ['recovery', "{{ 'ON' if value_json.recovery.enabled else 'OFF' }}"],
  ])('%s', (key, template) => {
    const entity = entityCatalogue({ ipVersion: 'both', hasPlug: true }).find((e) => e.key === key);
    expect(entity && 'value_template' in entity ? entity.value_template : undefined).toBe(template);
  });

  it('helpers', () => {
    expect(stateValue('a.b')).toBe('{{ value_json.a.b }}');
    expect(onOffOrNone('x')).toBe(
      "{{ none if value_json.x is none else ('ON' if value_json.x else 'OFF') }}",
    );
  });

  it('every template path exists in the state document built by buildStatus', () => {
    const doc = buildStatus({
      state: freshState(),
      mode: 'dry-run',
      version: '0.1.0',
      startedAt: 0,
      ipVersion: 'both',
    }) as unknown as Record<string, unknown>;
    for (const e of entityCatalogue({ ipVersion: 'both', hasPlug: true })) {
      if (!('value_template' in e)) continue;
      for (const [, path] of e.value_template.matchAll(/value_json\.([a-z0-9_.]+)/g)) {
        let node: unknown = doc;
        for (const part of (path ?? '').split('.')) {
          expect(node, `${e.key}: ${path}`).toBeTypeOf('object');
          expect(Object.hasOwn(node as object, part), `${e.key}: ${path}`).toBe(true);
          node = (node as Record<string, unknown>)[part];
        }
      }
    }
  });
});

describe('checkDiscovery catches each broken rule', () => {
  type Mutation = (
    p: DeviceDiscoveryPayload & Record<string, unknown>,
    c: Record<string, ComponentConfig>,
  ) => void;
  const set =
    (id: string, key: string, value: unknown): Mutation =>
    (_p, c) => {
      const comp = c[id];
      if (comp === undefined) throw new Error(`no component ${id}`);
      if (value === undefined) delete comp[key];
      else comp[key] = value;
    };
  const root =
    (path: readonly string[], value: unknown): Mutation =>
    (p) =>
      put(p, path, value);

  const cases: Array<[string, Mutation, string, string?]> = [
    ['missing device identifiers', root(['device', 'identifiers'], []), '[device] device.identifiers'],
    ['missing device sw_version', root(['device', 'sw_version'], DELETE), '[device] device.sw_version'],
    ['missing device', root(['device'], DELETE), '[device] device: is missing'],
    ['missing origin', root(['origin'], DELETE), '[origin] origin: is missing'],
    ['origin without support_url', root(['origin', 'support_url'], DELETE), '[origin] origin.support_url'],
    ['root qos 0', root(['qos'], 0), '[qos] qos'],
    ['component qos 2', set('ddns_watchdog_health', 'qos', 2), '[qos] ddns_watchdog_health'],
    ['no components', root(['components'], {}), '[components] components'],
    [
      'unknown platform',
      set('ddns_watchdog_health', 'platform', 'sensors'),
      '[platform] ddns_watchdog_health',
    ],
    [
      'unique_id differs from the component id',
      set('ddns_watchdog_health', 'unique_id', 'health'),
      '[unique-id] ddns_watchdog_health',
    ],
    [
      'duplicate unique_id',
      set('ddns_watchdog_health', 'unique_id', 'ddns_watchdog_dns_status'),
      '[unique-id] ddns_watchdog_health: unique_id ddns_watchdog_dns_status is also used by ddns_watchdog_dns_status',
      'also',
    ],
    [
      'missing unique_id',
      set('ddns_watchdog_sync', 'unique_id', undefined),
      '[unique-id] ddns_watchdog_sync',
    ],
    [
      'component id without the node id',
      (_p, c) => {
        const comp = c.ddns_watchdog_sync as ComponentConfig;
        delete c.ddns_watchdog_sync;
        c.sync = comp;
      },
      '[unique-id] sync: component id is not <node_id>_<key>',
      'also',
    ],
    [
      'missing default_entity_id',
      set('ddns_watchdog_health', 'default_entity_id', undefined),
      '[default-entity-id] ddns_watchdog_health: default_entity_id is missing',
    ],
    [
      'default_entity_id of another platform',
      set('ddns_watchdog_health', 'default_entity_id', 'switch.ddns_watchdog_health'),
      '[default-entity-id] ddns_watchdog_health: switch.ddns_watchdog_health does not start with its platform',
    ],
    [
      'default_entity_id not a valid entity id',
      set('ddns_watchdog_health', 'default_entity_id', 'sensor.DDNS_watchdog_health'),
      '[default-entity-id] ddns_watchdog_health: sensor.DDNS_watchdog_health is not a valid entity id',
    ],
    [
      'default_entity_id with another object id',
      set('ddns_watchdog_health', 'default_entity_id', 'sensor.health'),
      '[default-entity-id] ddns_watchdog_health: sensor.health is not sensor.ddns_watchdog_health',
    ],
    [
      'deprecated object_id',
      set('ddns_watchdog_health', 'object_id', 'x'),
      '[object-id] ddns_watchdog_health',
    ],
    ['object_id at the root', root(['object_id'], 'x'), '[object-id] payload'],
    [
      'name repeats the device name',
      set('ddns_watchdog_health', 'name', 'DDNS Watchdog Health'),
      '[name] ddns_watchdog_health: name "DDNS Watchdog Health" repeats the device name',
    ],
    [
      'missing name',
      set('ddns_watchdog_health', 'name', undefined),
      '[name] ddns_watchdog_health: name is missing',
    ],
    [
      'entity_category config on a sensor',
      set('ddns_watchdog_started', 'entity_category', 'config'),
      '[entity-category] ddns_watchdog_started: a sensor cannot have entity_category config',
    ],
    [
      'entity_category config on a binary sensor',
      set('ddns_watchdog_router', 'entity_category', 'config'),
      '[entity-category] ddns_watchdog_router: a binary_sensor cannot have entity_category config',
    ],
    [
      'unknown entity_category',
      set('ddns_watchdog_sync', 'entity_category', 'system'),
      '[entity-category] ddns_watchdog_sync',
    ],
    [
      'unit on a timestamp sensor',
      set('ddns_watchdog_last_dns_update', 'unit_of_measurement', 's'),
      '[unit] ddns_watchdog_last_dns_update: timestamp sensors cannot have a unit',
    ],
    [
      'unit on an enum sensor',
      set('ddns_watchdog_health', 'unit_of_measurement', '%'),
      '[unit] ddns_watchdog_health: enum sensors cannot have a unit',
    ],
    [
      'enum without options',
      set('ddns_watchdog_dns_status', 'options', undefined),
      '[enum] ddns_watchdog_dns_status: enum sensor without options',
      'also',
    ],
    [
      'enum with a state_class',
      set('ddns_watchdog_health', 'state_class', 'measurement'),
      '[enum] ddns_watchdog_health: enum sensor cannot have a state_class',
      'also',
    ],
    [
      'options on a non-enum sensor',
      set('ddns_watchdog_public_ipv4', 'options', ['1.2.3.4']),
      '[enum] ddns_watchdog_public_ipv4: options are only allowed on enum sensors',
    ],
    [
      'enum options miss a published value',
      set(
        'ddns_watchdog_health',
        'options',
        HEALTH_STATES.filter((h) => h !== 'recovering'),
      ),
      '[enum-coverage] ddns_watchdog_health: options miss recovering',
    ],
    [
      'the health sensor is not an enum',
      set('ddns_watchdog_health', 'device_class', undefined),
      '[enum-coverage] ddns_watchdog_health: is not an enum sensor',
      'also',
    ],
    [
      'the DNS status sensor is missing',
      root(['components', 'ddns_watchdog_dns_status'], DELETE),
      '[enum-coverage] ddns_watchdog_dns_status: is missing',
    ],
    [
      'duration in seconds',
      set('ddns_watchdog_wan_latency', 'unit_of_measurement', 's'),
      '[duration] ddns_watchdog_wan_latency: duration unit is s, not ms',
    ],
    [
      'state_class on a timestamp',
      set('ddns_watchdog_started', 'state_class', 'measurement'),
      '[state-class] ddns_watchdog_started: state_class measurement on a non-numeric sensor',
    ],
    [
      'unknown state_class',
      set('ddns_watchdog_power_cycles', 'state_class', 'increasing'),
      '[state-class] ddns_watchdog_power_cycles',
    ],
    [
      'wrong state topic',
      set('ddns_watchdog_health', 'state_topic', 'ddns-watchdog/status'),
      '[state-topic] ddns_watchdog_health',
    ],
    [
      'no state topic',
      set('ddns_watchdog_recovery', 'state_topic', undefined),
      '[state-topic] ddns_watchdog_recovery',
    ],
    [
      'template not reading value_json',
      set('ddns_watchdog_health', 'value_template', '{{ value }}'),
      '[value-template] ddns_watchdog_health: value_template does not read value_json',
    ],
    [
      'template turning null into a number',
      set('ddns_watchdog_wan_latency', 'value_template', '{{ value_json.probes.wan.latency_ms | float(0) }}'),
      '[value-template] ddns_watchdog_wan_latency: value_template converts',
    ],
    ['no availability', root(['availability'], DELETE), '[availability] ddns_watchdog_public_ipv4', 'also'],
    [
      'availability with other payloads',
      root(
        ['availability'],
        [{ topic: 'ddns-watchdog/availability', payload_available: 'up', payload_not_available: 'down' }],
      ),
      '[availability] ddns_watchdog_health',
      'also',
    ],
    [
      'command topic outside <base>/command/',
      set('ddns_watchdog_sync', 'command_topic', 'ddns-watchdog/sync'),
      '[command-topic] ddns_watchdog_sync: command_topic ddns-watchdog/sync is not under ddns-watchdog/command/',
    ],
    [
      'retained commands',
      set('ddns_watchdog_recovery', 'retain', true),
      '[command-topic] ddns_watchdog_recovery: commands must not be retained',
    ],
    ['button payload', set('ddns_watchdog_probe', 'payload_press', 'GO'), '[payload] ddns_watchdog_probe'],
    [
      'switch payloads',
      set('ddns_watchdog_recovery', 'payload_on', 'true'),
      '[payload] ddns_watchdog_recovery',
    ],
    [
      'binary sensor payloads',
      set('ddns_watchdog_internet', 'payload_off', 'down'),
      '[payload] ddns_watchdog_internet',
    ],
    [
      'trigger without subtype',
      set('ddns_watchdog_event_wan_down', 'subtype', undefined),
      '[trigger] ddns_watchdog_event_wan_down: subtype is missing',
    ],
    [
      'trigger on another topic',
      set('ddns_watchdog_event_wan_down', 'topic', 'ddns-watchdog/state'),
      '[trigger] ddns_watchdog_event_wan_down: topic is ddns-watchdog/state',
    ],
    [
      'trigger payload not its type',
      set('ddns_watchdog_event_wan_down', 'payload', 'wan_restored'),
      '[trigger] ddns_watchdog_event_wan_down: payload wan_restored differs from type',
    ],
    [
      'trigger template',
      set('ddns_watchdog_event_wan_down', 'value_template', '{{ value_json.event }}'),
      '[trigger] ddns_watchdog_event_wan_down: value_template',
    ],
    [
      'trigger not a trigger',
      set('ddns_watchdog_event_wan_down', 'automation_type', 'action'),
      '[trigger] ddns_watchdog_event_wan_down: automation_type is not trigger',
    ],
    [
      'two triggers with the same type and subtype',
      (_p, c) => {
        Object.assign(c.ddns_watchdog_event_wan_restored as ComponentConfig, {
          type: 'wan_down',
          payload: 'wan_down',
        });
      },
      '[trigger] ddns_watchdog_event_wan_restored: type and subtype wan_down/ddns_watchdog repeat',
      'also',
    ],
    [
      'an event type without a trigger',
      root(['components', 'ddns_watchdog_event_power_cycle_skipped'], DELETE),
      '[trigger-coverage] power_cycle_skipped: has no device trigger',
    ],
    ['icon not from mdi', set('ddns_watchdog_health', 'icon', 'heart'), '[icon] ddns_watchdog_health'],
    [
      'device class of another platform',
      set('ddns_watchdog_router', 'device_class', 'timestamp'),
      '[device-class] ddns_watchdog_router',
    ],
  ];

  it.each(cases)('%s', (_name, mutate, expected, also) => {
    const payload = structuredClone(defaultPayload()) as DeviceDiscoveryPayload & Record<string, unknown>;
    mutate(payload, payload.components);
    const violations = checkDiscovery(
      'homeassistant/device/ddns_watchdog/config',
      payload,
      checkOptions(DEFAULTS),
    );
    // Each mutation breaks exactly its own rule, unless marked 'also' (it breaks that rule among others).
    if (also === undefined) expect(violations).toEqual([expect.stringContaining(expected)]);
    else expect(violations).toContainEqual(expect.stringContaining(expected));
  });

  it('a wrong topic', () => {
    expect(
      checkDiscovery('homeassistant/sensor/ddns_watchdog/config', defaultPayload(), checkOptions(DEFAULTS)),
    ).toEqual([expect.stringContaining('[topic] topic: is homeassistant/sensor/ddns_watchdog/config')]);
  });

  it('a payload that is not an object', () => {
    expect(checkDiscovery('homeassistant/device/ddns_watchdog/config', '', checkOptions(DEFAULTS))).toEqual([
      '[payload] payload: is not a JSON object',
    ]);
  });

  it('enum values the code publishes but the options lack', () => {
    const opts = {
      ...checkOptions(DEFAULTS),
      publishedValues: { health: [...HEALTH_STATES, 'rebooting'], dnsStatus: DNS_STATUS_VALUES },
    };
    expect(checkDiscovery(buildDeviceDiscovery(DEFAULTS).topic, defaultPayload(), opts)).toEqual([
      '[enum-coverage] ddns_watchdog_health: options miss rebooting',
    ]);
  });
});

describe('removals', () => {
  const withPlug: DiscoveryOptions = { ...DEFAULTS, ipVersion: 'both', hasPlug: true };

  it('buildRemovals lists dropped components reduced to their platform, sorted', () => {
    const before = buildDeviceDiscovery(withPlug).payload.components;
    const after = buildDeviceDiscovery(DEFAULTS).payload.components;
    expect(buildRemovals(before, after)).toEqual({
      ddns_watchdog_public_ipv6: { platform: 'sensor' },
      ddns_watchdog_reboot: { platform: 'button' },
    });
    expect(Object.keys(buildRemovals(before, after))).toEqual([
      'ddns_watchdog_public_ipv6',
      'ddns_watchdog_reboot',
    ]);
    expect(buildRemovals(after, before)).toEqual({});
  });

  it('the removal message carries the stubs after the live components, and still passes the rules', () => {
    const before = buildDeviceDiscovery(withPlug).payload.components;
    const removed = buildRemovals(before, buildDeviceDiscovery(DEFAULTS).payload.components);
    const message = buildDeviceDiscovery(DEFAULTS, removed);
    const keys = Object.keys(message.payload.components);
    expect(keys.slice(-2)).toEqual(['ddns_watchdog_public_ipv6', 'ddns_watchdog_reboot']);
    expect(message.payload.components.ddns_watchdog_reboot).toEqual({ platform: 'button' });
    expect(checkDiscovery(message.topic, message.payload, checkOptions(DEFAULTS))).toEqual([]);
  });

  it('stubs already sent are not sent again, and a stub never replaces a live component', () => {
    const withStubs = buildDeviceDiscovery(DEFAULTS, { ddns_watchdog_reboot: { platform: 'button' } }).payload
      .components;
    expect(buildRemovals(withStubs, buildDeviceDiscovery(DEFAULTS).payload.components)).toEqual({});
    const live = buildDeviceDiscovery(DEFAULTS, { ddns_watchdog_health: { platform: 'sensor' } }).payload;
    expect(live.components.ddns_watchdog_health).toEqual(DEFAULT_PAYLOAD.components.ddns_watchdog_health);
  });

  it('discovery: false → an empty retained payload on the device topic', () => {
    const removal = buildDeviceRemoval({ discoveryPrefix: 'homeassistant', nodeId: 'ddns_watchdog' });
    expect(removal).toEqual({ topic: 'homeassistant/device/ddns_watchdog/config', payload: '' });
    expect(serializeDiscovery(removal)).toBe('');
  });
});

describe('stable ordering', () => {
  it('two builds serialize to the same bytes', () => {
    const opts: DiscoveryOptions = { ...DEFAULTS, ipVersion: 'both', hasPlug: true };
    expect(serializeDiscovery(buildDeviceDiscovery(opts))).toBe(
      serializeDiscovery(buildDeviceDiscovery(opts)),
    );
  });

  it('root, device and component keys come in a fixed order', () => {
    const p = buildDeviceDiscovery({ ...DEFAULTS, ipVersion: 'both', hasPlug: true }).payload;
    expect(Object.keys(p)).toEqual(['device', 'origin', 'availability', 'qos', 'components']);
    expect(Object.keys(p.device)).toEqual(['identifiers', 'name', 'manufacturer', 'model', 'sw_version']);
    expect(Object.keys(p.origin)).toEqual(['name', 'sw_version', 'support_url']);
    expect(Object.keys(p.components)).toEqual([
      ...ALL_ENTITY_KEYS.map((k) => `ddns_watchdog_${k}`),
      ...EVENT_TYPES.map((t) => `ddns_watchdog_event_${t}`),
    ]);
    expect(Object.keys(p.components.ddns_watchdog_reboot ?? {})).toEqual(Object.keys(REBOOT_COMPONENT));
    expect(Object.keys(p.components.ddns_watchdog_router_latency ?? {})).toEqual(
      Object.keys(DEFAULT_PAYLOAD.components.ddns_watchdog_router_latency),
    );
  });
});

describe('state document', () => {
  const T = Date.parse('2026-03-01T12:00:00Z');

  it('buildStatus output passes checkStateDocument: fresh state', () => {
    const doc = buildStatus({
      state: freshState(),
      mode: 'dry-run',
      version: '0.1.0',
      startedAt: T,
      ipVersion: 'ipv4',
    });
    expect(checkStateDocument(doc)).toEqual([]);
  });

  it('buildStatus output passes checkStateDocument: records, probes, uptime, recovery', () => {
    const state = freshState();
    state.public_ip = {
      ipv4: '203.0.113.7',
      ipv6: '2001:db8::7',
      verified: true,
      sources_agreeing: ['http://127.0.0.1:8080/ip'],
      checked_at: T,
      error: null,
    };
    state.dns.last_sync = T;
    state.dns.last_change = T - 60_000;
    state.dns.records['vpn.example.com/A'] = {
      ...freshRecordState('vpn.example.com', 'A'),
      status: 'in_sync',
      content: '203.0.113.7',
      last_update: T - 60_000,
    };
    state.dns.records['vpn.example.com/AAAA'] = {
      ...freshRecordState('vpn.example.com', 'AAAA'),
      status: 'error',
      error: 'HTTP 403',
    };
    const doc = buildStatus({
      state,
      mode: 'enforce',
      version: '0.1.0',
      startedAt: T - 3_600_000,
      ipVersion: 'both',
      runtime: {
        health: 'degraded',
        probes: {
          router: { ok: true, latency_ms: 1.2, failure: null },
          wan: { ok: false, latency_ms: null, failure: 'timeout' },
        },
        uptime: {
          ready_since: '2026-03-01T11:00:00.000+00:00',
          availability_24h: 99.5,
          availability_7d: 100,
          availability_30d: null,
          outages: [
            {
              start: '2026-03-01T10:00:00.000+00:00',
              end: '2026-03-01T10:05:00Z',
              class: 'wan_down',
              action: null,
            },
          ],
        },
        recovery: {
          enabled: true,
          state: 'idle',
          power_cycles_total: 2,
          last_power_cycle: '2026-02-28T23:00:00.000+01:00',
          budget_remaining: 1,
        },
      },
    });
    expect(checkStateDocument(doc)).toEqual([]);
  });

  type Doc = Record<string, Record<string, unknown>>;
  const good = (): Doc =>
    structuredClone(
      buildStatus({
        state: freshState(),
        mode: 'dry-run',
        version: '0.1.0',
        startedAt: T,
        ipVersion: 'ipv4',
      }),
    ) as unknown as Doc;

  it.each<[string, string[], unknown, string]>([
    ['a missing top-level key', ['recovery'], DELETE, '[missing] recovery: is missing'],
    [
      'a missing nested key',
      ['public_ip', 'checked_at'],
      DELETE,
      '[missing] public_ip.checked_at: is missing',
    ],
    ['a timestamp without offset', ['dns', 'last_sync'], '2026-03-01T12:00:00', '[timestamp] dns.last_sync'],
    ['a timestamp that is a number', ['uptime', 'ready_since'], T, '[timestamp] uptime.ready_since'],
    ['an empty started_at', ['uptime', 'started_at'], '', '[timestamp] uptime.started_at'],
    ['a number sent as text', ['uptime', 'availability_24h'], '99.5', '[type] uptime.availability_24h'],
    ['an availability above 100 %', ['uptime', 'availability_7d'], 150, '[range] uptime.availability_7d'],
    ['a health outside the enum', ['health'], 'offline', '[enum] health'],
    ['a DNS status outside the enum', ['dns', 'status'], 'synced', '[enum] dns.status'],
    [
      'a null power cycle count',
      ['recovery', 'power_cycles_total'],
      null,
      '[type] recovery.power_cycles_total: is null',
    ],
    ['a probe ok that is text', ['probes', 'router', 'ok'], 'yes', '[type] probes.router.ok'],
    ['an unknown recovery state', ['recovery', 'state'], 'armed', '[enum] recovery.state'],
  ])('catches %s', (_name, path, value, expected) => {
    const doc = good();
    put(doc, path, value);
    expect(checkStateDocument(doc)).toEqual([expect.stringContaining(expected)]);
  });

  it('checks every record', () => {
    const state = freshState();
    state.dns.records['a.example.com/A'] = { ...freshRecordState('a.example.com', 'A'), last_update: T };
    const doc = structuredClone(
      buildStatus({ state, mode: 'enforce', version: '0.1.0', startedAt: T, ipVersion: 'ipv4' }),
    ) as unknown as { dns: { records: Record<string, Record<string, unknown>> } };
    const record = doc.dns.records['a.example.com'] as Record<string, unknown>;
    record.status = 'ok';
    record.last_update = '2026-03-01 12:00:00Z';
    expect(checkStateDocument(doc)).toEqual([
      expect.stringContaining('[enum] dns.records.a.example.com.status'),
      expect.stringContaining('[timestamp] dns.records.a.example.com.last_update'),
    ]);
  });
});

describe('watchdog entities are gated', () => {
  it('watchdog: false publishes only the DNS side (and passes every rule without a Health sensor)', async () => {
    const { buildDeviceDiscovery } = await import('../src/ha/discovery.js');
    const { WATCHDOG_ENTITY_KEYS } = await import('../src/ha/entities.js');
    const { WATCHDOG_EVENT_TYPES } = await import('../src/events.js');
    const { checkDiscovery } = await import('./ha/discovery-rules.js');
    const msg = buildDeviceDiscovery({
      discoveryPrefix: 'homeassistant',
      nodeId: 'ddns_watchdog',
      baseTopic: 'ddns-watchdog',
      deviceName: 'DDNS Watchdog',
      ipVersion: 'both',
      hasPlug: true,
      version: '0.1.0',
      supportUrl: 'https://example.invalid',
      watchdog: false,
    });
    const keys = Object.keys(msg.payload.components);
    for (const k of WATCHDOG_ENTITY_KEYS) expect(keys).not.toContain(`ddns_watchdog_${k}`);
    for (const t of WATCHDOG_EVENT_TYPES) expect(keys).not.toContain(`ddns_watchdog_event_${t}`);
    expect(keys).toEqual([
      'ddns_watchdog_public_ipv4',
      'ddns_watchdog_public_ipv6',
      'ddns_watchdog_dns_status',
      'ddns_watchdog_last_dns_update',
      'ddns_watchdog_started',
      'ddns_watchdog_sync',
      'ddns_watchdog_event_ip_changed',
      'ddns_watchdog_event_dns_updated',
      'ddns_watchdog_event_dns_update_failed',
    ]);
    expect(
      checkDiscovery(msg.topic, msg.payload, {
        discoveryPrefix: 'homeassistant',
        nodeId: 'ddns_watchdog',
        baseTopic: 'ddns-watchdog',
        publishedValues: {
          dnsStatus: ['in_sync', 'out_of_sync', 'updating', 'error', 'dry_run', 'disabled'],
        },
      }),
    ).toEqual([]);
  });
});
