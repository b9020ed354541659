/** SPEC §2 "MQTT": the broker, and how the agent appears in Home Assistant. */
import { bool, filePath, int, mqttText, text, topic, url } from '../builders.js';
import { bindHost, nodeId } from '../fields.js';
import type { Section } from '../key-spec.js';
import { secret } from '../secrets.js';

export const MQTT = {
  id: 'mqtt',
  title: 'MQTT',
  notes: `**MQTT strings and topics.** MQTT carries strings of at most 65,535 bytes of UTF-8 without NUL.
\`mqtt_client_id\` and \`mqtt_username\` must be such strings: no NUL or other control character, no
unpaired surrogate (invalid UTF-8), at most 65,535 **bytes** (not characters: \`é\` is two).
Topic keys (\`mqtt_base_topic\`, \`discovery_prefix\`, \`plug_topic\`, \`plug_command_topic\`,
\`plug_state_topic\`) follow the same rules with room left for what the agent appends (levels such
as \`/command/result\`, \`cmnd/…/POWER\`, discovery object ids): at most 65,535 − 256 = 65,279 bytes.
They also may not hold the wildcards \`+\` or \`#\` (the agent publishes to them), start with \`$\`
(reserved for the broker, as in \`$SYS\`), or start or end with \`/\`.`,
  keys: {
    mqtt_url: {
      schema: url({
        schemes: ['mqtt', 'mqtts', 'ws', 'wss'],
        example: 'mqtt://192.168.1.10:1883',
        passwordKey: 'mqtt_password',
        colonSplitsUserInfo: true,
        allowEmpty: true,
      }),
      default: '',
      shown: 'empty',
      label: 'MQTT broker URL',
      allowed: '`mqtt://`, `mqtts://`, `ws://`, `wss://` URL, or empty',
      doc: 'Broker, e.g. `mqtt://192.168.1.10:1883`. Empty: the Supervisor’s broker in the add-on, else the embedded broker.',
    },
    mqtt_username: {
      schema: mqttText('give the user name, or remove the key'),
      label: 'MQTT user name',
      allowed: 'an MQTT string (see below)',
      doc: 'User name for the broker (keep it out of `mqtt_url`).',
    },
    mqtt_password: {
      schema: secret('mqtt_password'),
      label: 'MQTT password',
      allowed: 'text (secret), at most 65,535 bytes',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the docs show a literal ${VAR}
      doc: 'Password for the broker. Only checked for being empty or an unexpanded `${VAR}`: `changeme` may really be someone’s password.',
    },
    mqtt_ca_file: {
      schema: filePath('give the path of the PEM file with the CA certificate, e.g. /ssl/ca.pem'),
      label: 'MQTT CA file',
      allowed:
        'path (text: `123` in YAML is refused — quote it) of a readable regular file of at most 1 MiB holding a PEM certificate',
      doc: 'CA for `mqtts://`/`wss://`, e.g. `/ssl/ca.pem`. Checked at start, so `run` never fails on it later.',
    },
    mqtt_client_id: {
      schema: mqttText(
        'give a short client id, e.g. ddns-watchdog-home',
        ', and many brokers accept only 23 characters',
      ),
      computed: { by: 'parse', text: '`ddns-watchdog-<node_id>`' },
      label: 'MQTT client id',
      allowed: 'an MQTT string (see below)',
      doc: 'Many brokers accept only 23 characters; longer ids are allowed (most brokers take them) and only mentioned in the error for an id over 65,535 bytes. `+` and `#` are allowed in a client id.',
    },
    mqtt_base_topic: {
      schema: topic('use a plain topic such as ddns-watchdog'),
      default: 'ddns-watchdog',
      label: 'Base topic',
      allowed: 'a topic (see below)',
      doc: 'Prefix of every topic the agent publishes and listens on.',
    },
    discovery_prefix: {
      schema: topic('use homeassistant unless you changed it in Home Assistant'),
      default: 'homeassistant',
      label: 'Discovery prefix',
      allowed: 'as above',
      doc: 'Home Assistant discovery prefix; change it only if you changed it in Home Assistant.',
    },
    discovery: {
      schema: bool(),
      default: true,
      label: 'Home Assistant discovery',
      allowed: 'boolean',
      doc: 'Publish Home Assistant discovery, so the device and its entities appear by themselves.',
    },
    node_id: {
      schema: nodeId(),
      default: 'ddns_watchdog',
      label: 'Node id',
      allowed: 'letters, digits, `_`, `-`; at most 64 characters',
      doc: 'Device id in discovery and entity ids; give each agent on one broker its own, e.g. `ddns_home`.',
    },
    device_name: {
      schema: text('give a short name, e.g. DDNS Watchdog', (s) =>
        s.length > 100 ? `is longer than 100 characters — give a short name, e.g. DDNS Watchdog` : undefined,
      ),
      default: 'DDNS Watchdog',
      label: 'Device name',
      allowed: 'text, ≤ 100 characters',
      doc: 'Device name in Home Assistant.',
    },
    embedded_broker_host: {
      schema: bindHost('127.0.0.1'),
      default: '127.0.0.1',
      label: 'Embedded broker address',
      allowed: 'IP address or host name',
      doc: 'Where the embedded broker listens (used when `mqtt_url` is empty outside the add-on); `0.0.0.0` lets other machines connect.',
    },
    embedded_broker_port: {
      schema: int(1, 65535, 'a port from 1 to 65535'),
      default: 1883,
      manifest: 'port',
      label: 'Embedded broker port',
      allowed: '1..65535',
      doc: 'Port of the embedded broker.',
    },
  },
} satisfies Section;
