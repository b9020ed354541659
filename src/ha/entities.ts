/**
 * The catalogue of what ddns-watchdog shows in Home Assistant (SPEC §6 table), as plain data.
 * Pure: which entities exist is computed from a few options; nothing here knows topics or MQTT.
 * `ha/discovery.ts` turns these definitions into the device-based discovery payload.
 *
 * Keys are stable forever: they become `unique_id` (`<node_id>_<key>`) and the suggested entity id,
 * so renaming one orphans the user's entity (its history, its place on dashboards).
 * Names never repeat the device name: Home Assistant shows "<device name> <entity name>" itself.
 *
 * Value templates read `<base>/state` (the §6 state document). A JSON `null` renders as the text
 * `None`, which Home Assistant's MQTT sensor, binary sensor and switch all map to "unknown"
 * (`PAYLOAD_NONE` in homeassistant/components/mqtt/const.py, checked before any numeric or
 * timestamp parsing). So a plain `{{ value_json.a.b }}` is the right template for numbers,
 * timestamps and text alike; see docs/home-assistant.md for the evidence and the alternatives.
 */
import type { CommandName } from '../commands.js';
import type { Config } from '../config/schema.js';
import { HEALTH_STATES } from '../domain/health.js';
import { EVENT_TYPES, type EventType, WATCHDOG_EVENT_TYPES } from '../events.js';
import { DNS_STATUS_VALUES } from '../status.js';

export type EntityPlatform = 'sensor' | 'binary_sensor' | 'button' | 'switch';
export type EntityCategory = 'config' | 'diagnostic';

interface EntityBase {
  /** Stable key: `unique_id` is `<node_id>_<key>`. */
  readonly key: string;
  /** Entity name, shown after the device name. */
  readonly name: string;
  readonly icon?: string;
  readonly entity_category?: EntityCategory;
}

export interface SensorEntity extends EntityBase {
  readonly platform: 'sensor';
  readonly device_class?: 'enum' | 'timestamp' | 'duration';
  readonly unit_of_measurement?: string;
  readonly state_class?: 'measurement' | 'total_increasing';
  /** Every value the agent can publish (enum sensors only). */
  readonly options?: readonly string[];
  readonly value_template: string;
}

export interface BinarySensorEntity extends EntityBase {
  readonly platform: 'binary_sensor';
  readonly device_class: 'connectivity';
  readonly value_template: string;
  readonly payload_on: 'ON';
  readonly payload_off: 'OFF';
}

export interface ButtonEntity extends EntityBase {
  readonly platform: 'button';
  readonly device_class?: 'restart';
  readonly command: CommandName;
  readonly payload_press: 'PRESS';
}

export interface SwitchEntity extends EntityBase {
  readonly platform: 'switch';
  readonly value_template: string;
  readonly command: CommandName;
  readonly payload_on: 'ON';
  readonly payload_off: 'OFF';
}

export type EntityDef = SensorEntity | BinarySensorEntity | ButtonEntity | SwitchEntity;

export interface EntityOptions {
  /** `ip_version`: which Public IP sensors exist. */
  readonly ipVersion: Config['ip_version'];
  /** A plug is configured (`plug_type` is not `none`): the Reboot router button exists. */
  readonly hasPlug: boolean;
  /**
   * The router/WAN watchdog (probes, health, uptime, recovery) runs, so its entities and device
   * triggers exist. Default true; the agent passes false while that service is not built, so Home
   * Assistant shows no sensor that would stay unknown forever and no switch that cannot switch.
   */
  readonly watchdog?: boolean;
}

/** Entities that only the router/WAN watchdog feeds. */
export const WATCHDOG_ENTITY_KEYS: readonly string[] = [
  'health',
  'last_power_cycle',
  'availability_24h',
  'availability_7d',
  'availability_30d',
  'router_latency',
  'wan_latency',
  'router',
  'internet',
  'power_cycles',
  'probe',
  'reboot',
  'recovery',
];

/** `{{ value_json.<path> }}`: renders `None` (→ unknown in HA) when the value is JSON null. */
export function stateValue(path: string): string {
  return `{{ value_json.${path} }}`;
}

/** ON / OFF from a boolean that may be null; null renders `None` (→ unknown). */
export function onOffOrNone(path: string): string {
  const v = `value_json.${path}`;
  return `{{ none if ${v} is none else ('ON' if ${v} else 'OFF') }}`;
}

/** Every entity in SPEC §6 table order. `entityCatalogue` filters it by the options. */
function allEntities(): EntityDef[] {
  return [
    {
      platform: 'sensor',
      key: 'public_ipv4',
      name: 'Public IPv4',
      icon: 'mdi:ip-network',
      value_template: stateValue('public_ip.ipv4'),
    },
    {
      platform: 'sensor',
      key: 'public_ipv6',
      name: 'Public IPv6',
      icon: 'mdi:ip-network-outline',
      value_template: stateValue('public_ip.ipv6'),
    },
    {
      platform: 'sensor',
      key: 'dns_status',
      name: 'DNS status',
      icon: 'mdi:dns',
      device_class: 'enum',
      options: [...DNS_STATUS_VALUES],
      value_template: stateValue('dns.status'),
    },
    {
      platform: 'sensor',
      key: 'health',
      name: 'Health',
      icon: 'mdi:heart-pulse',
      device_class: 'enum',
      options: [...HEALTH_STATES],
      value_template: stateValue('health'),
    },
    {
      platform: 'sensor',
      key: 'last_dns_update',
      name: 'Last DNS update',
      icon: 'mdi:update',
      device_class: 'timestamp',
      value_template: stateValue('dns.last_change'),
    },
    {
      platform: 'sensor',
      key: 'started',
      name: 'Started',
      icon: 'mdi:clock-start',
      entity_category: 'diagnostic',
      device_class: 'timestamp',
      value_template: stateValue('uptime.started_at'),
    },
    {
      platform: 'sensor',
      key: 'last_power_cycle',
      name: 'Last power cycle',
      icon: 'mdi:power-cycle',
      device_class: 'timestamp',
      value_template: stateValue('recovery.last_power_cycle'),
    },
    ...(['24h', '7d', '30d'] as const).map(
      (span): SensorEntity => ({
        platform: 'sensor',
        key: `availability_${span}`,
        name: `Availability ${span}`,
        icon: 'mdi:percent',
        entity_category: 'diagnostic',
        unit_of_measurement: '%',
        state_class: 'measurement',
        value_template: stateValue(`uptime.availability_${span}`),
      }),
    ),
    ...(
      [
        ['router', 'Router latency'],
        ['wan', 'WAN latency'],
      ] as const
    ).map(
      ([probe, name]): SensorEntity => ({
        platform: 'sensor',
        key: `${probe}_latency`,
        name,
        icon: 'mdi:timer-outline',
        entity_category: 'diagnostic',
        device_class: 'duration',
        unit_of_measurement: 'ms',
        state_class: 'measurement',
        value_template: stateValue(`probes.${probe}.latency_ms`),
      }),
    ),
    {
      platform: 'binary_sensor',
      key: 'router',
      name: 'Router',
      device_class: 'connectivity',
      value_template: onOffOrNone('probes.router.ok'),
      payload_on: 'ON',
      payload_off: 'OFF',
    },
    {
      platform: 'binary_sensor',
      key: 'internet',
      name: 'Internet',
      device_class: 'connectivity',
      value_template: onOffOrNone('probes.wan.ok'),
      payload_on: 'ON',
      payload_off: 'OFF',
    },
    {
      platform: 'sensor',
      key: 'power_cycles',
      name: 'Power cycles',
      icon: 'mdi:counter',
      entity_category: 'diagnostic',
      state_class: 'total_increasing',
      value_template: stateValue('recovery.power_cycles_total'),
    },
    {
      platform: 'button',
      key: 'sync',
      name: 'Sync DNS now',
      icon: 'mdi:cloud-sync',
      command: 'sync',
      payload_press: 'PRESS',
    },
    {
      platform: 'button',
      key: 'probe',
      name: 'Probe now',
      icon: 'mdi:radar',
      command: 'probe',
      payload_press: 'PRESS',
    },
    {
      platform: 'button',
      key: 'reboot',
      name: 'Reboot router',
      entity_category: 'config',
      device_class: 'restart',
      command: 'reboot',
      payload_press: 'PRESS',
    },
    {
      platform: 'switch',
      key: 'recovery',
      name: 'Auto recovery',
      icon: 'mdi:autorenew',
      entity_category: 'config',
      value_template: `{{ 'ON' if value_json.recovery.enabled else 'OFF' }}`,
      command: 'recovery',
      payload_on: 'ON',
      payload_off: 'OFF',
    },
  ];
}

/** Every key the catalogue can ever produce, in order (for docs and stale-config clean-up). */
export const ALL_ENTITY_KEYS: readonly string[] = allEntities().map((e) => e.key);

/** The entities that exist for these options, in SPEC §6 table order. */
export function entityCatalogue(options: EntityOptions): EntityDef[] {
  const wanted = (e: EntityDef): boolean => {
    if (options.watchdog === false && WATCHDOG_ENTITY_KEYS.includes(e.key)) return false;
    switch (e.key) {
      case 'public_ipv4':
        return options.ipVersion !== 'ipv6';
      case 'public_ipv6':
        return options.ipVersion !== 'ipv4';
      case 'reboot':
        return options.hasPlug;
      default:
        return true;
    }
  };
  return allEntities().filter(wanted);
}

/** `subtype` of every device trigger: the UI shows "<type> <subtype>" ("wan_down ddns_watchdog"). */
export const TRIGGER_SUBTYPE = 'ddns_watchdog';

/** One MQTT device trigger per §6 event type, fired by `<base>/event` when `type` matches. */
export interface DeviceTriggerDef {
  /** Stable key: the component id is `<node_id>_event_<type>`. */
  readonly key: string;
  readonly type: EventType;
  readonly subtype: typeof TRIGGER_SUBTYPE;
  /** The event `type` this trigger fires on (equals `type`). */
  readonly payload: EventType;
  readonly value_template: string;
}

export function deviceTriggers(options: { watchdog?: boolean } = {}): DeviceTriggerDef[] {
  const types =
    options.watchdog === false ? EVENT_TYPES.filter((t) => !WATCHDOG_EVENT_TYPES.includes(t)) : EVENT_TYPES;
  return types.map((type) => ({
    key: `event_${type}`,
    type,
    subtype: TRIGGER_SUBTYPE,
    payload: type,
    value_template: '{{ value_json.type }}',
  }));
}
