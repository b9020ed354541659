/**
 * One zod schema per configuration key (SPEC §2): each takes the raw value from a file or the
 * environment, coerces it, and rejects it with a `<fault> — <fix>` message that never quotes a
 * secret. Rules that tie keys together live in schema.ts. Pure: zod only.
 */
import { z } from 'zod';
import type { SecretKey } from '../redact.js';
import {
  bool,
  filePath,
  int,
  list,
  mqttText,
  oneOf,
  refine,
  text,
  textTo,
  topic,
  ttl,
  url,
} from './builders.js';
import type { Config, RecordConfig } from './defaults.js';
import {
  coerceList,
  coerceText,
  count,
  envName,
  isIpv4,
  isIpv6,
  isPort,
  isResolverTrace,
  MQTT_MAX_BYTES,
  show,
  showUrl,
  toHostName,
  urlProblem,
  utf8Bytes,
} from './values.js';

// ───────────────────────── secrets ─────────────────────────

const PLACEHOLDERS: readonly RegExp[] = [
  /^your[\s_-]?(?:[a-z0-9]+[\s_-]?)*(?:token|key)$/i,
  /^change[\s_-]?me$/i,
  /^replace[\s_-]?me$/i,
  /^token$/i,
  /^placeholder$/i,
  /^x+$/i,
  /^<.*>$/s,
  /^(?:\.\.\.|…)$/,
];

/** True for values that are obviously not a real token (`your_token`, `changeme`, `xxxx`, `<token>`). */
export function isPlaceholderSecret(value: string): boolean {
  const v = value.trim();
  return PLACEHOLDERS.some((re) => re.test(v));
}

type TokenKey = 'cloudflare_api_token' | 'ha_token' | 'http_token';

const TOKEN_FIX: Record<TokenKey, string> = {
  cloudflare_api_token:
    'paste an API token created at dash.cloudflare.com → My Profile → API Tokens (Zone·DNS·Edit), or remove the key to run in dry-run',
  ha_token: 'paste a long-lived access token created in Home Assistant (your profile → Security)',
  http_token: 'choose a long random value (e.g. the output of openssl rand -hex 24), or remove the key',
};

function isTokenKey(key: SecretKey): key is TokenKey {
  return key in TOKEN_FIX;
}

/**
 * What is wrong with a secret, never quoting it. Tokens are checked for placeholders and pasting
 * mistakes; passwords only for emptiness, unexpanded variables and MQTT's length limit.
 */
function secretProblem(key: SecretKey, value: string): string | undefined {
  if (value === '') return `is empty — set it, or remove the key`;
  if (/^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/.test(value)) {
    return `looks like an unexpanded variable — files are not expanded: paste the value, or set ${envName(key)} or ${envName(key)}_FILE in the environment`;
  }
  if (key === 'mqtt_password' && utf8Bytes(value) > MQTT_MAX_BYTES) {
    return `is longer than MQTT allows (${count(MQTT_MAX_BYTES)} bytes) — check that it is the password alone`;
  }
  if (!isTokenKey(key)) return undefined;
  if (isPlaceholderSecret(value)) return `looks like a placeholder, not a real token — ${TOKEN_FIX[key]}`;
  if (/^bearer\s/i.test(value)) return `starts with 'Bearer ' — give the token alone, without 'Bearer '`;
  if (/\s/.test(value)) return `contains spaces or line breaks — give the token alone, on one line`;
  if (key === 'cloudflare_api_token' && /^[0-9a-f]{37}$/.test(value)) {
    return 'looks like a Global API Key, which is not supported — create an API token with Zone·DNS·Edit permission instead';
  }
  return undefined;
}

function secret(key: SecretKey) {
  return z.preprocess(
    coerceText,
    z
      .string({ error: () => `is not text — put the value in quotes` })
      .superRefine(refine((s) => secretProblem(key, s))),
  );
}

function hostNameField(fix: string, options: { wildcard: boolean; minLabels: number }) {
  return textTo(fix, (s, fail) => {
    const result = toHostName(s, { wildcard: options.wildcard });
    if (!result.ok) return fail(`${show(s)} is not a valid host name: it ${result.reason} — ${fix}`);
    const bare = result.name.replace(/^\*\./, '');
    if (bare.split('.').length < options.minLabels)
      return fail(`${show(s)} is not a full domain name — ${fix}`);
    return result.name;
  });
}

const RECORD_NAME_FIX = 'use a full host name such as home.example.com (a leading *. is allowed)';
const ZONE_FIX = 'use the zone as shown in the Cloudflare dashboard, e.g. example.com';

export const RECORD_KEYS = ['name', 'proxied', 'ttl', 'zone'] as const;

/** One item of `records`: a host name, or `{name, proxied?, ttl?, zone?}`. */
export const recordSchema: z.ZodType<RecordConfig> = z.preprocess(
  (v) => {
    if (typeof v === 'string') return { name: v };
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      // null and '' inside a record mean "not set", as at the top level of a file.
      return Object.fromEntries(Object.entries(v).filter(([, value]) => value !== null && value !== ''));
    }
    return v;
  },
  z.strictObject(
    {
      name: hostNameField(RECORD_NAME_FIX, { wildcard: true, minLabels: 2 }),
      proxied: bool().optional(),
      ttl: ttl().optional(),
      zone: hostNameField(ZONE_FIX, { wildcard: false, minLabels: 2 }).optional(),
    },
    {
      error: (iss) =>
        `${show(iss.input)} is not a record — give a host name, or a mapping {name, proxied, ttl, zone}`,
    },
  ),
) as z.ZodType<RecordConfig>;

/** The list itself; each item is checked on its own by `parseConfig`, so one bad item hides nothing. */
const recordsSchema = z.preprocess(
  coerceList,
  z.array(z.unknown(), {
    error: (iss) => `${show(iss.input)} is not a list — give host names as a list, or comma-separated`,
  }),
);

function ipSource(family: 'IPv4' | 'IPv6') {
  const example = family === 'IPv4' ? 'https://cloudflare.com/cdn-cgi/trace' : 'https://api6.ipify.org';
  const fix = `use an http(s) URL such as ${example}, local, or local:IFACE`;
  return textTo(fix, (s, fail) => {
    const lower = s.toLowerCase();
    if (lower === 'local') return 'local';
    if (lower.startsWith('local:')) {
      const iface = s.slice('local:'.length);
      if (!/^[A-Za-z0-9_.@:-]{1,15}$/.test(iface)) {
        return fail(
          `${show(s)} does not name a network interface — use local, or local:IFACE such as local:eth0`,
        );
      }
      return `local:${iface}`;
    }
    const problem = urlProblem(s, { schemes: ['http', 'https'], example });
    if (problem !== undefined) return fail(`${problem.replace(/ — .*$/, '')} — ${fix}`);
    if (isResolverTrace(s)) {
      return fail(
        `${showUrl(s)} answers Cloudflare error 1034 instead of your address — use https://cloudflare.com/cdn-cgi/trace`,
      );
    }
    return s;
  });
}

const WAN_TARGET_FIX = 'write an IP address and port, e.g. 1.1.1.1:443 or [2606:4700:4700::1111]:443';

const wanTarget = textTo(WAN_TARGET_FIX, (s, fail) => {
  const match = /^\[([^\]]+)\]:([^:]+)$/.exec(s) ?? /^([^:[\]]+):([^:]+)$/.exec(s);
  if (!match) return fail(`${show(s)} is not host:port — ${WAN_TARGET_FIX}`);
  const [, host = '', port = ''] = match;
  const bracketed = s.startsWith('[');
  if (bracketed ? !isIpv6(host) : !isIpv4(host)) {
    return fail(`${show(host)} is not an IP address — ${WAN_TARGET_FIX} (probes never depend on DNS)`);
  }
  if (!isPort(port)) return fail(`${show(s)} has port ${show(port)} — use a port from 1 to 65535`);
  return s;
});

const routerProbe = textTo('use icmp or tcp:PORT, e.g. tcp:80', (s, fail): Config['router_probe'] => {
  const lower = s.toLowerCase();
  if (lower === 'icmp') return 'icmp';
  const match = /^tcp:(\d+)$/.exec(lower);
  if (match && isPort(match[1] ?? '')) return `tcp:${Number(match[1])}`;
  return fail(`${show(s)} is not allowed — use icmp or tcp:PORT with a port from 1 to 65535, e.g. tcp:80`);
});

const ROUTER_HOST_FIX =
  "give the router's IP address, e.g. 192.168.1.1, auto for the default gateway, or none to disable router probes (probes never depend on DNS)";

/** '' = router probes off; undefined (`auto`) = the default gateway, found at run time. */
const routerHost = z.preprocess(
  coerceText,
  z
    .string({ error: (iss) => `${show(iss.input)} is not text — ${ROUTER_HOST_FIX}` })
    .transform((s, ctx): string | undefined => {
      const lower = s.normalize('NFKC').toLowerCase();
      if (s === '' || lower === 'none') return '';
      if (lower === 'auto') return undefined;
      const bare = lower.startsWith('[') && lower.endsWith(']') ? lower.slice(1, -1) : lower;
      if (isIpv4(bare) || isIpv6(bare)) return bare;
      ctx.addIssue({ code: 'custom', message: `${show(s)} is not an IP address — ${ROUTER_HOST_FIX}` });
      return z.NEVER;
    }),
);

function bindHost(example: string) {
  const fix = `use an IP address to listen on, e.g. ${example} or 0.0.0.0`;
  return textTo(fix, (s, fail) => {
    const n = s.normalize('NFKC');
    const bare = n.startsWith('[') && n.endsWith(']') ? n.slice(1, -1) : n;
    if (isIpv4(bare) || isIpv6(bare)) return bare.toLowerCase();
    const result = toHostName(n, { wildcard: false });
    if (!result.ok) return fail(`${show(s)} is not an IP address or host name — ${fix}`);
    return result.name;
  });
}

const NODE_ID_FIX = 'use letters, digits, _ and - only, e.g. ddns_watchdog';
/** node_id appears twice in some discovery topics; this keeps them within MQTT's limit. */
const NODE_ID_MAX = 64;

const HTTP = ['http', 'https'] as const;

/** One zod schema per user key, in documentation order. */
export const FIELDS = {
  // DNS
  cloudflare_api_token: secret('cloudflare_api_token'),
  records: recordsSchema,
  zone: hostNameField(ZONE_FIX, { wildcard: false, minLabels: 2 }),
  ip_version: oneOf(['ipv4', 'ipv6', 'both']),
  ttl: ttl(),
  proxied: bool(),
  create_missing_records: bool(),
  mode: oneOf(['enforce', 'dry-run'], (s) => s.toLowerCase().replace('_', '-')),
  interval_seconds: int(1, 86400),
  jitter_seconds: int(0, 43200, 'a whole number from 0 to half of interval_seconds'),
  min_update_interval_seconds: int(0, 86400),
  ip_sources: list(
    ipSource('IPv4'),
    'the sources',
    'each source counts once toward ip_quorum; remove the copy',
  ),
  ip_sources_v6: list(
    ipSource('IPv6'),
    'the sources',
    'each source counts once toward ip_quorum; remove the copy',
  ),
  ip_quorum: int(1, 10),
  cloudflare_api_url: url({
    schemes: HTTP,
    example: 'https://api.cloudflare.com/client/v4',
    trimSlash: true,
  }),
  doh_url: url({ schemes: HTTP, example: 'https://cloudflare-dns.com/dns-query' }),
  http_timeout_ms: int(100, 60000),
  heartbeat_url: url({
    schemes: HTTP,
    example: 'https://hc-ping.com/<uuid>',
    hidePath: true,
    trimSlash: true,
  }),
  webhook_url: url({ schemes: HTTP, example: 'https://example.com/hook', hidePath: true }),
  delete_on_stop: bool(),
  // MQTT
  mqtt_url: url({
    schemes: ['mqtt', 'mqtts', 'ws', 'wss'],
    example: 'mqtt://192.168.1.10:1883',
    passwordKey: 'mqtt_password',
    colonSplitsUserInfo: true,
    allowEmpty: true,
  }),
  mqtt_username: mqttText('give the user name, or remove the key'),
  mqtt_password: secret('mqtt_password'),
  mqtt_ca_file: filePath('give the path of the PEM file with the CA certificate, e.g. /ssl/ca.pem'),
  mqtt_client_id: mqttText(
    'give a short client id, e.g. ddns-watchdog-home',
    ', and many brokers accept only 23 characters',
  ),
  mqtt_base_topic: topic('use a plain topic such as ddns-watchdog'),
  discovery_prefix: topic('use homeassistant unless you changed it in Home Assistant'),
  discovery: bool(),
  node_id: text(NODE_ID_FIX, (s) => {
    if (!/^[A-Za-z0-9_-]+$/.test(s)) {
      return `${show(s)} has characters other than letters, digits, _ and - — ${NODE_ID_FIX}`;
    }
    if (s.length > NODE_ID_MAX) return `is longer than ${NODE_ID_MAX} characters — ${NODE_ID_FIX}`;
    return undefined;
  }),
  device_name: text('give a short name, e.g. DDNS Watchdog', (s) =>
    s.length > 100 ? `is longer than 100 characters — give a short name, e.g. DDNS Watchdog` : undefined,
  ),
  embedded_broker_host: bindHost('127.0.0.1'),
  embedded_broker_port: int(1, 65535, 'a port from 1 to 65535'),
  // Probes and health
  router_host: routerHost,
  router_probe: routerProbe,
  wan_targets: list(wanTarget, 'the targets', 'remove the copy'),
  probe_interval_seconds: int(1, 3600),
  probe_timeout_ms: int(50, 30000),
  // Recovery
  recovery_enabled: bool(),
  plug_type: oneOf([
    'none',
    'tasmota',
    'shelly',
    'shelly_rpc',
    'esphome',
    'zigbee2mqtt',
    'homeassistant',
    'http',
    'mqtt',
  ]),
  plug_topic: topic("give the plug's topic or name, e.g. tasmota_1A2B3C"),
  plug_url: url({
    schemes: HTTP,
    example: 'http://192.168.1.50',
    passwordKey: 'plug_password',
    trimSlash: true,
  }),
  plug_entity_id: text('give a Home Assistant entity id, e.g. switch.router_plug', (s) =>
    /^[a-z_][a-z0-9_]*\.[a-z0-9_]+$/.test(s)
      ? undefined
      : `${show(s)} is not an entity id — give a Home Assistant entity id, e.g. switch.router_plug`,
  ),
  plug_off_url: url({ schemes: HTTP, example: 'http://192.168.1.50/off', passwordKey: 'plug_password' }),
  plug_on_url: url({ schemes: HTTP, example: 'http://192.168.1.50/on', passwordKey: 'plug_password' }),
  plug_method: oneOf(['GET', 'POST', 'PUT', 'PATCH'], (s) => s.toUpperCase()),
  plug_command_topic: topic('give the topic the plug listens on, e.g. plugs/router/set'),
  plug_payload_off: z.preprocess(
    (v) => (typeof v === 'boolean' ? String(v) : coerceText(v)),
    z.string({ error: (iss) => `${show(iss.input)} is not text — give the payload, e.g. OFF` }),
  ),
  plug_payload_on: z.preprocess(
    (v) => (typeof v === 'boolean' ? String(v) : coerceText(v)),
    z.string({ error: (iss) => `${show(iss.input)} is not text — give the payload, e.g. ON` }),
  ),
  plug_state_topic: topic('give the topic the plug reports its state on, e.g. plugs/router/state'),
  plug_username: text("give the plug's user name, or remove the key"),
  plug_password: secret('plug_password'),
  ha_url: url({ schemes: HTTP, example: 'http://homeassistant.local:8123', trimSlash: true }),
  ha_token: secret('ha_token'),
  power_off_seconds: int(1, 3600),
  wan_down_after_seconds: int(10, 86400),
  boot_grace_seconds: int(0, 86400),
  max_power_cycles: int(0, 100),
  power_cycle_window_hours: int(1, 720),
  recover_when_router_down: bool(),
  // Service
  state_dir: text('give a writable directory, e.g. ./data'),
  http_port: int(0, 65535, 'a port from 1 to 65535, or 0 to turn the HTTP server off'),
  http_host: bindHost('127.0.0.1'),
  http_token: secret('http_token'),
  log_level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  log_format: oneOf(['pretty', 'json']),
} satisfies Record<string, z.ZodType>;

export type Fields = typeof FIELDS;
