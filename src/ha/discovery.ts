/**
 * Pure builders for Home Assistant's device-based MQTT discovery (HA ≥ 2024.11, SPEC §6):
 * one retained payload on `<discovery_prefix>/device/<node_id>/config` holding the device, the
 * origin, the availability topic and every component (entities and device triggers).
 *
 * Keys are written in one fixed order, so `JSON.stringify` of two payloads built from the same
 * options is byte-identical: the bridge compares the text and skips unchanged republishes.
 * Versions come in through the options (no file reads here: this module does no I/O).
 * docs/home-assistant.md records which Home Assistant behaviour each choice rests on.
 */
import type { Config } from '../config/schema.js';
import { type DeviceTriggerDef, deviceTriggers, type EntityDef, entityCatalogue } from './entities.js';

export interface DiscoveryOptions {
  /** `discovery_prefix` */
  readonly discoveryPrefix: string;
  /** `node_id`: letters, digits, `_` and `-` (validated by the config schema). */
  readonly nodeId: string;
  /** `mqtt_base_topic` */
  readonly baseTopic: string;
  /** `device_name` */
  readonly deviceName: string;
  readonly ipVersion: Config['ip_version'];
  /** `plug_type` is not `none`. */
  readonly hasPlug: boolean;
  /** The router/WAN watchdog runs (default true): its entities and triggers are published. */
  readonly watchdog?: boolean;
  /** The agent's version (device `sw_version` and origin `sw_version`). */
  readonly version: string;
  /** Origin `support_url`. */
  readonly supportUrl: string;
}

/** The configuration keys (SPEC §2) discovery depends on; the validated `Config` satisfies it. */
export interface DiscoveryConfig {
  readonly discovery_prefix: string;
  readonly node_id: string;
  readonly mqtt_base_topic: string;
  readonly device_name: string;
  readonly ip_version: Config['ip_version'];
  readonly plug_type: string;
}

/** The options from the validated configuration plus the build's version and support URL. */
export function discoveryOptionsFromConfig(
  config: DiscoveryConfig,
  build: { version: string; supportUrl: string },
): DiscoveryOptions {
  return {
    discoveryPrefix: config.discovery_prefix,
    nodeId: config.node_id,
    baseTopic: config.mqtt_base_topic,
    deviceName: config.device_name,
    ipVersion: config.ip_version,
    hasPlug: config.plug_type !== 'none',
    version: build.version,
    supportUrl: build.supportUrl,
  };
}

export const ORIGIN_NAME = 'ddns-watchdog';
export const MANUFACTURER = 'ddns-watchdog';
export const MODEL = 'DDNS and WAN watchdog';
export const PAYLOAD_AVAILABLE = 'online';
export const PAYLOAD_NOT_AVAILABLE = 'offline';
/** SPEC §6: QoS 1 everywhere. */
export const DISCOVERY_QOS = 1;

export interface DeviceBlock {
  identifiers: string[];
  name: string;
  manufacturer: string;
  model: string;
  sw_version: string;
}

export interface OriginBlock {
  name: string;
  sw_version: string;
  support_url: string;
}

export interface AvailabilityEntry {
  topic: string;
  payload_available: string;
  payload_not_available: string;
}

/** One component of the device payload: `platform` first, then its options (plain JSON). */
export type ComponentConfig = { platform: string } & Record<string, unknown>;

/** A component reduced to its platform: Home Assistant removes that component (HA docs). */
export interface RemovedComponent {
  platform: string;
}

export interface DeviceDiscoveryPayload {
  device: DeviceBlock;
  origin: OriginBlock;
  availability: AvailabilityEntry[];
  qos: number;
  components: Record<string, ComponentConfig>;
}

export interface DiscoveryMessage {
  topic: string;
  payload: DeviceDiscoveryPayload;
}

/** An empty retained payload on the device topic: Home Assistant removes the device and all its components. */
export interface DeviceRemovalMessage {
  topic: string;
  payload: '';
}

export function discoveryTopic(discoveryPrefix: string, nodeId: string): string {
  return `${discoveryPrefix}/device/${nodeId}/config`;
}

export function stateTopic(baseTopic: string): string {
  return `${baseTopic}/state`;
}

export function availabilityTopic(baseTopic: string): string {
  return `${baseTopic}/availability`;
}

export function eventTopic(baseTopic: string): string {
  return `${baseTopic}/event`;
}

export function commandTopic(baseTopic: string, command: string): string {
  return `${baseTopic}/command/${command}`;
}

/** Component id and `unique_id`: `<node_id>_<key>`. */
export function componentId(nodeId: string, key: string): string {
  return `${nodeId}_${key}`;
}

/**
 * `default_entity_id` (replaces the deprecated `object_id` since HA 2025.10): `<platform>.<object id>`.
 * Entity ids are lower case `[a-z0-9_]` without doubled, leading or trailing `_`, so a node id such
 * as `My-Agent` becomes `my_agent`; the default `ddns_watchdog` is unchanged.
 */
export function defaultEntityId(platform: string, nodeId: string, key: string): string {
  const objectId = `${nodeId}_${key}`
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
  return `${platform}.${objectId}`;
}

/** The stable device identifier; never changes with the device name. */
export function deviceIdentifier(nodeId: string): string {
  return `ddns_watchdog_${nodeId}`;
}

function entityComponent(e: EntityDef, opts: DiscoveryOptions): ComponentConfig {
  const id = componentId(opts.nodeId, e.key);
  // Fixed key order: identity, presentation, classes, state, commands, delivery.
  const c: ComponentConfig = {
    platform: e.platform,
    name: e.name,
    unique_id: id,
    default_entity_id: defaultEntityId(e.platform, opts.nodeId, e.key),
  };
  if (e.icon !== undefined) c.icon = e.icon;
  if (e.entity_category !== undefined) c.entity_category = e.entity_category;
  if (e.platform !== 'switch' && e.device_class !== undefined) c.device_class = e.device_class;
  if (e.platform === 'sensor') {
    if (e.unit_of_measurement !== undefined) c.unit_of_measurement = e.unit_of_measurement;
    if (e.state_class !== undefined) c.state_class = e.state_class;
    if (e.options !== undefined) c.options = [...e.options];
  }
  if (e.platform !== 'button') {
    c.state_topic = stateTopic(opts.baseTopic);
    c.value_template = e.value_template;
  }
  if (e.platform === 'binary_sensor') {
    c.payload_on = e.payload_on;
    c.payload_off = e.payload_off;
  }
  if (e.platform === 'button' || e.platform === 'switch') {
    c.command_topic = commandTopic(opts.baseTopic, e.command);
    if (e.platform === 'button') c.payload_press = e.payload_press;
    else {
      c.payload_on = e.payload_on;
      c.payload_off = e.payload_off;
    }
    // Commands are never retained: the agent drops retained commands (SPEC §6).
    c.retain = false;
  }
  c.qos = DISCOVERY_QOS;
  return c;
}

function triggerComponent(t: DeviceTriggerDef, opts: DiscoveryOptions): ComponentConfig {
  return {
    platform: 'device_automation',
    automation_type: 'trigger',
    topic: eventTopic(opts.baseTopic),
    type: t.type,
    subtype: t.subtype,
    payload: t.payload,
    value_template: t.value_template,
    qos: DISCOVERY_QOS,
  };
}

/** The components for these options: entities in SPEC §6 order, then one device trigger per event type. */
export function buildComponents(opts: DiscoveryOptions): Record<string, ComponentConfig> {
  const components: Record<string, ComponentConfig> = {};
  for (const e of entityCatalogue(opts))
    components[componentId(opts.nodeId, e.key)] = entityComponent(e, opts);
  for (const t of deviceTriggers(opts))
    components[componentId(opts.nodeId, t.key)] = triggerComponent(t, opts);
  return components;
}

/**
 * The retained device discovery message. `removed` (from `buildRemovals`) appends components reduced
 * to `{platform}`, which Home Assistant takes as "remove this component"; publish that once, then the
 * message without them (HA docs, "Device discovery payload").
 */
export function buildDeviceDiscovery(
  opts: DiscoveryOptions,
  removed: Readonly<Record<string, RemovedComponent>> = {},
): DiscoveryMessage {
  const components = buildComponents(opts);
  for (const key of Object.keys(removed).sort()) {
    const r = removed[key];
    if (r !== undefined && !(key in components)) components[key] = { platform: r.platform };
  }
  return {
    topic: discoveryTopic(opts.discoveryPrefix, opts.nodeId),
    payload: {
      device: {
        identifiers: [deviceIdentifier(opts.nodeId)],
        name: opts.deviceName,
        manufacturer: MANUFACTURER,
        model: MODEL,
        sw_version: opts.version,
      },
      origin: { name: ORIGIN_NAME, sw_version: opts.version, support_url: opts.supportUrl },
      availability: [
        {
          topic: availabilityTopic(opts.baseTopic),
          payload_available: PAYLOAD_AVAILABLE,
          payload_not_available: PAYLOAD_NOT_AVAILABLE,
        },
      ],
      qos: DISCOVERY_QOS,
      components,
    },
  };
}

/**
 * Components published before and absent now, each reduced to `{platform}` (sorted by id).
 * Components that were already removal stubs are not repeated.
 */
export function buildRemovals(
  previous: Readonly<Record<string, { platform: string }>>,
  current: Readonly<Record<string, unknown>>,
): Record<string, RemovedComponent> {
  const removed: Record<string, RemovedComponent> = {};
  for (const key of Object.keys(previous).sort()) {
    const p = previous[key];
    if (p === undefined || key in current || isRemovalStub(p)) continue;
    removed[key] = { platform: p.platform };
  }
  return removed;
}

/** `discovery: false`: an empty retained payload removes the device, its entities and its triggers. */
export function buildDeviceRemoval(
  opts: Pick<DiscoveryOptions, 'discoveryPrefix' | 'nodeId'>,
): DeviceRemovalMessage {
  return { topic: discoveryTopic(opts.discoveryPrefix, opts.nodeId), payload: '' };
}

/** The bytes to publish: stable because every builder writes keys in a fixed order. */
export function serializeDiscovery(message: DiscoveryMessage | DeviceRemovalMessage): string {
  return message.payload === '' ? '' : JSON.stringify(message.payload);
}

function isRemovalStub(c: object): boolean {
  return Object.keys(c).length === 1 && 'platform' in c;
}
