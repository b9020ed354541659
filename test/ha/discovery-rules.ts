/**
 * Checkers for what ddns-watchdog publishes to Home Assistant, written from SPEC §6 and from Home
 * Assistant's own rules (docs/home-assistant.md says where each rule comes from). They are independent
 * of src/ha/discovery.ts on purpose: the unit tests run them on the builder's output and the MQTT
 * integration tests run them on the payload really published.
 *
 * Each violation is one line, `[rule] where: what`, so a test can look for the rule it broke.
 */
import { DNS_STATUS_VALUES, HEALTH_VALUES, RECOVERY_STATE_VALUES } from '../../src/status.js';

export interface DiscoveryCheckOptions {
  discoveryPrefix: string;
  nodeId: string;
  baseTopic: string;
  /** Every value the code can publish for `health` and `dns.status`: the enum options must cover them. */
  /** Values the code can publish; `health` is omitted when the watchdog (and its Health sensor) is off. */
  publishedValues: { health?: readonly string[]; dnsStatus: readonly string[] };
  /** When given, every event type must have a device trigger. */
  eventTypes?: readonly string[];
}

type Json = Record<string, unknown>;

const ENTITY_PLATFORMS = new Set(['sensor', 'binary_sensor', 'button', 'switch']);
const PLATFORMS = new Set([...ENTITY_PLATFORMS, 'device_automation']);
/** Device classes these checks know, per platform (the subset of HA's lists that SPEC §6 needs). */
const DEVICE_CLASSES: Record<string, ReadonlySet<string>> = {
  sensor: new Set(['enum', 'timestamp', 'date', 'duration']),
  binary_sensor: new Set(['connectivity', 'problem', 'running']),
  button: new Set(['identify', 'restart', 'update']),
  switch: new Set(['outlet', 'switch']),
};
/** homeassistant/components/sensor/const.py NON_NUMERIC_DEVICE_CLASSES (+ uptime in newer cores). */
const NON_NUMERIC_SENSOR_CLASSES = new Set(['enum', 'timestamp', 'date', 'uptime']);
const STATE_CLASSES = new Set(['measurement', 'measurement_angle', 'total', 'total_increasing']);
const ENTITY_CATEGORIES = new Set(['config', 'diagnostic']);
/** homeassistant/core.py valid_entity_id: `<domain>.<object_id>`, lower case, no `__`, no edge `_`. */
const ENTITY_ID = /^(?!.+__)(?!_)[\da-z_]+(?<!_)\.(?!_)[\da-z_]+(?<!_)$/;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmptyString(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0;
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
}

/** Availability entries in force for a component: its own, else the device payload's shared ones. */
function effectiveAvailability(comp: Json, root: Json): Array<{ topic: unknown; on: unknown; off: unknown }> {
  const from = (o: Json) => {
    const list: Array<{ topic: unknown; on: unknown; off: unknown }> = [];
    if (Array.isArray(o.availability)) {
      for (const a of o.availability) {
        if (isObject(a)) {
          list.push({
            topic: a.topic,
            on: a.payload_available ?? 'online',
            off: a.payload_not_available ?? 'offline',
          });
        }
      }
    }
    if (o.availability_topic !== undefined) {
      list.push({
        topic: o.availability_topic,
        on: o.payload_available ?? 'online',
        off: o.payload_not_available ?? 'offline',
      });
    }
    return list;
  };
  const own = from(comp);
  return own.length > 0 ? own : from(root);
}

/** Every violation of SPEC §6 and of Home Assistant's discovery rules in a device discovery message. */
export function checkDiscovery(topic: string, payload: unknown, options: DiscoveryCheckOptions): string[] {
  const v: string[] = [];
  const add = (rule: string, where: string, what: string) => v.push(`[${rule}] ${where}: ${what}`);
  const { nodeId, baseTopic } = options;

  const expectedTopic = `${options.discoveryPrefix}/device/${nodeId}/config`;
  if (topic !== expectedTopic) add('topic', 'topic', `is ${topic}, expected ${expectedTopic}`);
  if (!/^[A-Za-z0-9_-]+$/.test(nodeId))
    add('topic', 'node_id', `${nodeId} has characters outside [a-zA-Z0-9_-]`);

  if (!isObject(payload)) {
    add('payload', 'payload', 'is not a JSON object');
    return v;
  }

  if ('object_id' in payload)
    add('object-id', 'payload', 'has the deprecated object_id; use default_entity_id');

  const device = payload.device;
  let deviceName = '';
  if (!isObject(device)) add('device', 'device', 'is missing');
  else {
    if (!Array.isArray(device.identifiers) || device.identifiers.length === 0) {
      add('device', 'device.identifiers', 'is missing or empty');
    } else if (!device.identifiers.every(nonEmptyString)) {
      add('device', 'device.identifiers', 'holds something other than non-empty strings');
    }
    for (const key of ['name', 'manufacturer', 'model', 'sw_version'] as const) {
      if (!nonEmptyString(device[key])) add('device', `device.${key}`, 'is missing or empty');
    }
    if (typeof device.name === 'string') deviceName = device.name;
  }

  const origin = payload.origin;
  if (!isObject(origin)) add('origin', 'origin', 'is missing');
  else {
    for (const key of ['name', 'sw_version', 'support_url'] as const) {
      if (!nonEmptyString(origin[key])) add('origin', `origin.${key}`, 'is missing or empty');
    }
    if (typeof origin.support_url === 'string' && !/^https?:\/\//.test(origin.support_url)) {
      add('origin', 'origin.support_url', `${origin.support_url} is not an http(s) URL`);
    }
  }

  if (payload.qos !== 1) add('qos', 'qos', `is ${String(payload.qos)}, expected 1 (SPEC §6)`);

  const components = payload.components;
  if (!isObject(components) || Object.keys(components).length === 0) {
    add('components', 'components', 'is missing or empty');
    return v;
  }

  const uniqueIds = new Map<string, string>();
  const triggers = new Map<string, string>();
  const prefix = `${nodeId}_`;
  const stateTopic = `${baseTopic}/state`;
  const availabilityTopic = `${baseTopic}/availability`;
  const commandPrefix = `${baseTopic}/command/`;

  for (const [id, comp] of Object.entries(components)) {
    if (!isObject(comp)) {
      add('components', id, 'is not an object');
      continue;
    }
    const platform = comp.platform;
    if (typeof platform !== 'string' || !PLATFORMS.has(platform)) {
      add(
        'platform',
        id,
        `platform ${String(platform)} is missing or not one of ${[...PLATFORMS].join(', ')}`,
      );
      continue;
    }
    // A component reduced to its platform is HA's "remove this component" message: nothing else to check.
    if (Object.keys(comp).length === 1) continue;
    if ('object_id' in comp) add('object-id', id, 'has the deprecated object_id; use default_entity_id');
    if (!id.startsWith(prefix) || !/^[a-z0-9_]+$/.test(id.slice(prefix.length))) {
      add('unique-id', id, `component id is not <node_id>_<key> with node_id ${nodeId} and a snake_case key`);
    }
    if (comp.qos !== undefined && comp.qos !== 1) add('qos', id, `qos is ${String(comp.qos)}, expected 1`);
    if (comp.icon !== undefined && !(typeof comp.icon === 'string' && /^mdi:[a-z0-9-]+$/.test(comp.icon))) {
      add('icon', id, `icon ${String(comp.icon)} is not mdi:<name>`);
    }

    if (platform === 'device_automation') {
      if (comp.automation_type !== 'trigger') add('trigger', id, 'automation_type is not trigger');
      if (comp.topic !== `${baseTopic}/event`)
        add('trigger', id, `topic is ${String(comp.topic)}, not ${baseTopic}/event`);
      if (!nonEmptyString(comp.type)) add('trigger', id, 'type is missing');
      if (!nonEmptyString(comp.subtype)) add('trigger', id, 'subtype is missing');
      if (comp.payload !== comp.type) add('trigger', id, `payload ${String(comp.payload)} differs from type`);
      if (comp.value_template !== '{{ value_json.type }}') {
        add('trigger', id, 'value_template is not {{ value_json.type }}');
      }
      const pair = `${String(comp.type)}/${String(comp.subtype)}`;
      const other = triggers.get(pair);
      if (other !== undefined)
        add('trigger', id, `type and subtype ${pair} repeat those of ${other} (HA keeps one)`);
      triggers.set(pair, id);
      continue;
    }

    // Entities.
    const uniqueId = comp.unique_id;
    if (!nonEmptyString(uniqueId))
      add('unique-id', id, 'unique_id is missing (required in device discovery)');
    else {
      if (uniqueId !== id) add('unique-id', id, `unique_id ${uniqueId} differs from the component id`);
      const other = uniqueIds.get(uniqueId);
      if (other !== undefined) add('unique-id', id, `unique_id ${uniqueId} is also used by ${other}`);
      uniqueIds.set(uniqueId, id);
    }

    const expectedEntityId = `${platform}.${slug(id)}`;
    const entityId = comp.default_entity_id;
    if (!nonEmptyString(entityId)) add('default-entity-id', id, 'default_entity_id is missing');
    else if (!ENTITY_ID.test(entityId)) add('default-entity-id', id, `${entityId} is not a valid entity id`);
    else if (!entityId.startsWith(`${platform}.`)) {
      add('default-entity-id', id, `${entityId} does not start with its platform ${platform}.`);
    } else if (entityId !== expectedEntityId)
      add('default-entity-id', id, `${entityId} is not ${expectedEntityId}`);

    const name = comp.name;
    if (!nonEmptyString(name)) add('name', id, 'name is missing');
    else if (deviceName !== '' && name.toLowerCase().startsWith(deviceName.toLowerCase())) {
      add('name', id, `name "${name}" repeats the device name "${deviceName}"`);
    }

    const category = comp.entity_category;
    if (category !== undefined && !(typeof category === 'string' && ENTITY_CATEGORIES.has(category))) {
      add('entity-category', id, `entity_category ${String(category)} is not config or diagnostic`);
    }
    if (category === 'config' && (platform === 'sensor' || platform === 'binary_sensor')) {
      add('entity-category', id, `a ${platform} cannot have entity_category config (HA refuses to add it)`);
    }

    const deviceClass = comp.device_class;
    if (
      deviceClass !== undefined &&
      !(typeof deviceClass === 'string' && DEVICE_CLASSES[platform]?.has(deviceClass))
    ) {
      add('device-class', id, `device_class ${String(deviceClass)} is not one for a ${platform}`);
    }

    const availability = effectiveAvailability(comp, payload);
    if (
      !availability.some((a) => a.topic === availabilityTopic && a.on === 'online' && a.off === 'offline')
    ) {
      add('availability', id, `does not use ${availabilityTopic} with online/offline`);
    }

    if (platform === 'sensor') {
      const unit = comp.unit_of_measurement;
      const stateClass = comp.state_class;
      const nonNumeric = typeof deviceClass === 'string' && NON_NUMERIC_SENSOR_CLASSES.has(deviceClass);
      if (nonNumeric && unit !== undefined)
        add('unit', id, `${String(deviceClass)} sensors cannot have a unit`);
      if (deviceClass === 'enum') {
        if (!Array.isArray(comp.options) || comp.options.length === 0)
          add('enum', id, 'enum sensor without options');
        if (stateClass !== undefined) add('enum', id, 'enum sensor cannot have a state_class');
      } else if (comp.options !== undefined) add('enum', id, 'options are only allowed on enum sensors');
      if (deviceClass === 'duration' && unit !== 'ms')
        add('duration', id, `duration unit is ${String(unit)}, not ms`);
      if (stateClass !== undefined) {
        if (typeof stateClass !== 'string' || !STATE_CLASSES.has(stateClass)) {
          add('state-class', id, `state_class ${String(stateClass)} is not a Home Assistant state class`);
        } else if (nonNumeric) add('state-class', id, `state_class ${stateClass} on a non-numeric sensor`);
      }
    }

    if (platform === 'sensor' || platform === 'binary_sensor' || platform === 'switch') {
      const st = comp.state_topic ?? payload.state_topic;
      if (st !== stateTopic) add('state-topic', id, `state topic is ${String(st)}, not ${stateTopic}`);
      const tpl = comp.value_template;
      if (!(typeof tpl === 'string' && tpl.includes('value_json.'))) {
        add('value-template', id, 'value_template does not read value_json');
      } else if (/\|\s*(float|int)\b/.test(tpl)) {
        // `| float` / `| int` (with or without a default) turn JSON null into a number: unknown must stay unknown.
        add(
          'value-template',
          id,
          'value_template converts with | float / | int (null would become a number)',
        );
      }
    }

    if (platform === 'binary_sensor' || platform === 'switch') {
      if ((comp.payload_on ?? 'ON') !== 'ON' || (comp.payload_off ?? 'OFF') !== 'OFF') {
        add('payload', id, 'payload_on/payload_off are not ON/OFF');
      }
    }

    if (platform === 'button' || platform === 'switch') {
      const ct = comp.command_topic;
      if (!(typeof ct === 'string' && ct.startsWith(commandPrefix) && ct.length > commandPrefix.length)) {
        add('command-topic', id, `command_topic ${String(ct)} is not under ${commandPrefix}`);
      }
      if (comp.retain === true)
        add('command-topic', id, 'commands must not be retained (the agent drops them)');
      if (platform === 'button' && (comp.payload_press ?? 'PRESS') !== 'PRESS') {
        add('payload', id, 'payload_press is not PRESS');
      }
    }
  }

  const enumCoverage = (key: string, values: readonly string[]) => {
    const id = `${nodeId}_${key}`;
    const comp = components[id];
    if (!isObject(comp)) {
      add('enum-coverage', id, 'is missing');
      return;
    }
    if (comp.device_class !== 'enum') add('enum-coverage', id, 'is not an enum sensor');
    const options = Array.isArray(comp.options) ? comp.options : [];
    const missing = values.filter((value) => !options.includes(value));
    if (missing.length > 0) add('enum-coverage', id, `options miss ${missing.join(', ')}`);
  };
  if (options.publishedValues.health) enumCoverage('health', options.publishedValues.health);
  enumCoverage('dns_status', options.publishedValues.dnsStatus);

  if (options.eventTypes !== undefined) {
    const types = new Set([...triggers.keys()].map((pair) => pair.split('/')[0]));
    for (const type of options.eventTypes) {
      if (!types.has(type)) add('trigger-coverage', type, 'has no device trigger');
    }
  }
  return v;
}

/** ISO 8601 date-time with an explicit offset (`Z` or `±hh:mm`), as Home Assistant's timestamp sensors need. */
export const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})$/;

export interface StateCheckOptions {
  health?: readonly string[];
  dnsStatus?: readonly string[];
  recoveryState?: readonly string[];
}

/** Every violation of the §6 state document's shape: keys, types, timestamps, enum values. */
export function checkStateDocument(doc: unknown, options: StateCheckOptions = {}): string[] {
  const v: string[] = [];
  const add = (rule: string, where: string, what: string) => v.push(`[${rule}] ${where}: ${what}`);
  const health = options.health ?? HEALTH_VALUES;
  const dnsStatus = options.dnsStatus ?? DNS_STATUS_VALUES;
  const recoveryState = options.recoveryState ?? RECOVERY_STATE_VALUES;

  const obj = (parent: unknown, path: string): Json | undefined => {
    if (!isObject(parent)) return undefined;
    const key = path.split('.').at(-1) ?? path;
    if (!(key in parent)) {
      add('missing', path, 'is missing');
      return undefined;
    }
    const value = parent[key];
    if (!isObject(value)) {
      add('type', path, 'is not an object');
      return undefined;
    }
    return value;
  };
  /** Reads `key` of `parent`, reporting a missing key; undefined means "missing" (already reported). */
  const field = (parent: Json | undefined, path: string): { present: boolean; value: unknown } => {
    if (parent === undefined) return { present: false, value: undefined };
    const key = path.split('.').at(-1) ?? path;
    if (!(key in parent)) {
      add('missing', path, 'is missing');
      return { present: false, value: undefined };
    }
    return { present: true, value: parent[key] };
  };
  const number = (
    parent: Json | undefined,
    path: string,
    o: { nullable: boolean; min?: number; max?: number },
  ) => {
    const { present, value } = field(parent, path);
    if (!present) return;
    if (value === null) {
      if (!o.nullable) add('type', path, 'is null');
      return;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      add('type', path, `is ${JSON.stringify(value)}, not a number${o.nullable ? ' or null' : ''}`);
      return;
    }
    if ((o.min !== undefined && value < o.min) || (o.max !== undefined && value > o.max)) {
      add('range', path, `${value} is outside ${o.min ?? '-∞'}..${o.max ?? '∞'}`);
    }
  };
  const time = (parent: Json | undefined, path: string, nullable = true) => {
    const { present, value } = field(parent, path);
    if (!present) return;
    if (value === null) {
      if (!nullable) add('timestamp', path, 'is null');
      return;
    }
    if (typeof value !== 'string' || !ISO_WITH_OFFSET.test(value) || Number.isNaN(Date.parse(value))) {
      add('timestamp', path, `${JSON.stringify(value)} is not ISO 8601 with an offset`);
    }
  };
  const oneOf = (parent: Json | undefined, path: string, values: readonly string[]) => {
    const { present, value } = field(parent, path);
    if (!present) return;
    if (typeof value !== 'string' || !values.includes(value)) {
      add('enum', path, `${JSON.stringify(value)} is not one of ${values.join(', ')}`);
    }
  };
  const bool = (parent: Json | undefined, path: string, nullable: boolean) => {
    const { present, value } = field(parent, path);
    if (!present) return;
    if (!(typeof value === 'boolean' || (nullable && value === null))) {
      add('type', path, `is ${JSON.stringify(value)}, not a boolean${nullable ? ' or null' : ''}`);
    }
  };
  const text = (parent: Json | undefined, path: string, nullable: boolean) => {
    const { present, value } = field(parent, path);
    if (!present) return;
    if (!(typeof value === 'string' || (nullable && value === null))) {
      add('type', path, `is ${JSON.stringify(value)}, not a string${nullable ? ' or null' : ''}`);
    }
  };

  if (!isObject(doc)) {
    add('type', 'state', 'is not a JSON object');
    return v;
  }
  oneOf(doc, 'health', health);
  oneOf(doc, 'mode', ['enforce', 'dry-run']);
  text(doc, 'version', false);

  const pub = obj(doc, 'public_ip');
  text(pub, 'public_ip.ipv4', true);
  text(pub, 'public_ip.ipv6', true);
  bool(pub, 'public_ip.verified', false);
  const agreeing = field(pub, 'public_ip.sources_agreeing');
  if (
    agreeing.present &&
    !(Array.isArray(agreeing.value) && agreeing.value.every((s) => typeof s === 'string'))
  ) {
    add('type', 'public_ip.sources_agreeing', 'is not a list of strings');
  }
  time(pub, 'public_ip.checked_at');

  const dns = obj(doc, 'dns');
  oneOf(dns, 'dns.status', dnsStatus);
  time(dns, 'dns.last_sync');
  time(dns, 'dns.last_change');
  const records = obj(dns, 'dns.records');
  for (const [name, record] of Object.entries(records ?? {})) {
    const path = `dns.records.${name}`;
    if (!isObject(record)) {
      add('type', path, 'is not an object');
      continue;
    }
    oneOf(record, `${path}.type`, ['A', 'AAAA']);
    text(record, `${path}.content`, true);
    oneOf(record, `${path}.status`, dnsStatus);
    time(record, `${path}.last_update`);
    text(record, `${path}.error`, true);
  }

  const probes = obj(doc, 'probes');
  for (const probe of ['router', 'wan'] as const) {
    const p = obj(probes, `probes.${probe}`);
    bool(p, `probes.${probe}.ok`, true);
    number(p, `probes.${probe}.latency_ms`, { nullable: true, min: 0 });
    text(p, `probes.${probe}.failure`, true);
  }

  const uptime = obj(doc, 'uptime');
  time(uptime, 'uptime.started_at', false);
  time(uptime, 'uptime.ready_since');
  for (const span of ['24h', '7d', '30d']) {
    number(uptime, `uptime.availability_${span}`, { nullable: true, min: 0, max: 100 });
  }
  const outages = field(uptime, 'uptime.outages');
  if (outages.present) {
    if (!Array.isArray(outages.value)) add('type', 'uptime.outages', 'is not a list');
    else {
      outages.value.forEach((o, i) => {
        const path = `uptime.outages.${i}`;
        if (!isObject(o)) {
          add('type', path, 'is not an object');
          return;
        }
        time(o, `${path}.start`, false);
        time(o, `${path}.end`);
        text(o, `${path}.class`, false);
        text(o, `${path}.action`, true);
      });
    }
  }

  const recovery = obj(doc, 'recovery');
  bool(recovery, 'recovery.enabled', false);
  oneOf(recovery, 'recovery.state', recoveryState);
  number(recovery, 'recovery.power_cycles_total', { nullable: false, min: 0 });
  time(recovery, 'recovery.last_power_cycle');
  number(recovery, 'recovery.budget_remaining', { nullable: true, min: 0 });
  return v;
}
