/**
 * The configuration's shape, defaults and validation (SPEC §2). Pure: zod and the global URL
 * class only; reading files and the environment is config/load.ts's job.
 *
 * `parseConfig` takes the merged raw values (defaults are applied here, not by the caller), checks
 * every key on its own with zod, then the rules that tie keys together, and returns either the
 * resolved `Config` or every problem, one line each: `<key>: <what is wrong> — <how to fix>`.
 * No problem line ever contains a secret's value.
 */
import { z } from 'zod';
import { suggestKey } from './suggest.js';

export interface RecordConfig {
  /** Lower-case punycode, no trailing dot; may start with `*.`. */
  name: string;
  proxied?: boolean;
  ttl?: number;
  zone?: string;
}

export type PlugType =
  | 'none'
  | 'tasmota'
  | 'shelly'
  | 'shelly_rpc'
  | 'esphome'
  | 'zigbee2mqtt'
  | 'homeassistant'
  | 'http'
  | 'mqtt';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export type Config = {
  cloudflare_api_token?: string;
  records: RecordConfig[];
  zone?: string;
  ip_version: 'ipv4' | 'ipv6' | 'both';
  ttl: number;
  /** True when the user set `ttl`: updates then also write it, not only creates. */
  ttl_explicit: boolean;
  proxied?: boolean;
  create_missing_records: boolean;
  mode: 'enforce' | 'dry-run';
  interval_seconds: number;
  jitter_seconds: number;
  min_update_interval_seconds: number;
  ip_sources: string[];
  ip_sources_v6: string[];
  ip_quorum: number;
  /** Derived, not a user key: the quorum applied to ip_sources_v6. */
  ip_quorum_v6: number;
  cloudflare_api_url: string;
  doh_url: string;
  http_timeout_ms: number;
  heartbeat_url?: string;
  webhook_url?: string;
  delete_on_stop: boolean;
  mqtt_url: string;
  mqtt_username?: string;
  mqtt_password?: string;
  mqtt_ca_file?: string;
  mqtt_client_id: string;
  mqtt_base_topic: string;
  discovery_prefix: string;
  discovery: boolean;
  node_id: string;
  device_name: string;
  embedded_broker_host: string;
  embedded_broker_port: number;
  /** undefined = read the default gateway; '' = router probing disabled. */
  router_host?: string;
  router_probe: 'icmp' | `tcp:${number}`;
  wan_targets: string[];
  probe_interval_seconds: number;
  probe_timeout_ms: number;
  recovery_enabled: boolean;
  plug_type: PlugType;
  plug_topic?: string;
  plug_url?: string;
  plug_entity_id?: string;
  plug_off_url?: string;
  plug_on_url?: string;
  plug_method: string;
  plug_command_topic?: string;
  plug_payload_off: string;
  plug_payload_on: string;
  plug_state_topic?: string;
  plug_username?: string;
  plug_password?: string;
  ha_url?: string;
  ha_token?: string;
  power_off_seconds: number;
  wan_down_after_seconds: number;
  boot_grace_seconds: number;
  max_power_cycles: number;
  power_cycle_window_hours: number;
  recover_when_router_down: boolean;
  state_dir: string;
  http_port: number;
  log_level: LogLevel;
  log_format: 'pretty' | 'json';
};

export const SECRET_KEYS = ['cloudflare_api_token', 'mqtt_password', 'plug_password', 'ha_token'] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

export const DEFAULT_IP_SOURCES: readonly string[] = [
  'https://cloudflare.com/cdn-cgi/trace',
  'https://api.cloudflare.com/cdn-cgi/trace',
  'https://api.ipify.org',
  'https://icanhazip.com',
  'https://ifconfig.me/ip',
];
export const DEFAULT_IP_SOURCES_V6: readonly string[] = [
  'https://cloudflare.com/cdn-cgi/trace',
  'https://api6.ipify.org',
  'https://ipv6.icanhazip.com',
];
export const DEFAULT_WAN_TARGETS: readonly string[] = ['1.1.1.1:443', '8.8.8.8:443', '9.9.9.9:443'];

/**
 * Fixed defaults. Keys missing here have no default (unset) or a derived one: `mode`,
 * `ip_quorum`, `ip_quorum_v6`, `jitter_seconds` (capped at half the interval), `mqtt_client_id`,
 * `state_dir`, `log_format`, `router_host`.
 */
export const DEFAULTS = {
  records: [] as RecordConfig[],
  ip_version: 'ipv4',
  ttl: 60,
  create_missing_records: true,
  interval_seconds: 60,
  jitter_seconds: 5,
  min_update_interval_seconds: 60,
  ip_sources: DEFAULT_IP_SOURCES,
  ip_sources_v6: DEFAULT_IP_SOURCES_V6,
  cloudflare_api_url: 'https://api.cloudflare.com/client/v4',
  doh_url: 'https://cloudflare-dns.com/dns-query',
  http_timeout_ms: 5000,
  delete_on_stop: false,
  mqtt_url: '',
  mqtt_base_topic: 'ddns-watchdog',
  discovery_prefix: 'homeassistant',
  discovery: true,
  node_id: 'ddns_watchdog',
  device_name: 'DDNS Watchdog',
  embedded_broker_host: '127.0.0.1',
  embedded_broker_port: 1883,
  router_probe: 'icmp',
  wan_targets: DEFAULT_WAN_TARGETS,
  probe_interval_seconds: 15,
  probe_timeout_ms: 2000,
  recovery_enabled: false,
  plug_type: 'none',
  plug_method: 'GET',
  plug_payload_off: 'OFF',
  plug_payload_on: 'ON',
  power_off_seconds: 30,
  wan_down_after_seconds: 180,
  boot_grace_seconds: 600,
  max_power_cycles: 3,
  power_cycle_window_hours: 24,
  recover_when_router_down: false,
  http_port: 0,
  log_level: 'info',
} as const;

/** `cloudflare_api_token` → `CLOUDFLARE_API_TOKEN`. */
export function envName(key: string): string {
  return key.toUpperCase();
}

// ───────────────────────── showing values in problem lines ─────────────────────────

const MAX_SHOWN = 60;

/** A non-secret value as the user would recognise it, quoted and cut short. */
export function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const flat = value.replace(/\p{Cc}/gu, ' ');
    return `'${flat.length > MAX_SHOWN ? `${flat.slice(0, MAX_SHOWN)}…` : flat}'`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

const SECRET_QUERY_PARAM = /pass|token|secret|key|auth|sig/i;

/**
 * A URL safe to print: a password in it, and the values of query parameters that look secret
 * (`password=`, `token=`, `api_key=`…) become `***`. Returns the input unchanged when there is
 * nothing to hide or it is not a URL.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return raw;
  }
  let changed = false;
  if (url.password !== '') {
    url.password = '***';
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_QUERY_PARAM.test(name)) {
      url.searchParams.set(name, '***');
      changed = true;
    }
  }
  return changed ? url.href : raw;
}

/** A URL's scheme and host only (the path of a ping or webhook URL is itself a secret). */
export function urlOrigin(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    return `${url.protocol}//${url.host}/…`;
  } catch {
    return undefined;
  }
}

/** A URL for a problem line: redacted, and with `hidePath` only its scheme and host. */
function showUrl(raw: string, hidePath = false): string {
  if (hidePath) {
    const origin = urlOrigin(raw);
    return origin === undefined ? 'the value' : show(origin);
  }
  return show(redactUrl(raw));
}

// ───────────────────────── coercions shared by files and the environment ─────────────────────────

const BOOLEAN_WORDS = new Map<string, boolean>([
  ['true', true],
  ['false', false],
  ['1', true],
  ['0', false],
  ['yes', true],
  ['no', false],
  ['on', true],
  ['off', false],
]);

/** true/false/1/0/yes/no/on/off in any case → boolean; anything else unchanged (and rejected later). */
export function coerceBoolean(value: unknown): unknown {
  if (typeof value === 'string') return BOOLEAN_WORDS.get(value.trim().toLowerCase()) ?? value;
  return value;
}

/** A strictly numeric string → number ("60", "-1", "2.5"); "60s", "0x10", "1e3" stay strings. */
export function coerceNumber(value: unknown): unknown {
  if (typeof value === 'string') {
    const t = value.trim();
    if (/^[+-]?\d+(?:\.\d+)?$/.test(t)) return Number(t);
  }
  return value;
}

/** A comma- (or whitespace-) separated string → trimmed items; empty items dropped. */
export function coerceList(value: unknown): unknown {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter((s) => s !== '');
  if (Array.isArray(value)) {
    return value
      .map((item) => (typeof item === 'string' ? item.trim() : item))
      .filter((item) => item !== '' && item !== null && item !== undefined);
  }
  return value;
}

function coerceText(value: unknown): unknown {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return value.trim();
  return value;
}

// ───────────────────────── host names, IP literals, URLs ─────────────────────────

export type HostNameResult = { ok: true; name: string } | { ok: false; reason: string };

/**
 * An RFC 1035/1123 host name in lower-case punycode, without the trailing dot. IDNs are converted
 * (`bücher.example` → `xn--bcher-kva.example`). With `wildcard`, a leading `*.` label is kept.
 */
export function toHostName(input: string, options: { wildcard: boolean }): HostNameResult {
  let name = input.trim();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name === '') return { ok: false, reason: 'is empty' };
  let prefix = '';
  if (options.wildcard && name.startsWith('*.')) {
    prefix = '*.';
    name = name.slice(2);
  }
  if (name.includes('*')) {
    return {
      ok: false,
      reason: options.wildcard ? 'has a * that is not a whole first label (*.example.com)' : 'contains *',
    };
  }
  for (const ch of name) {
    if (ch.charCodeAt(0) < 128 && !/[A-Za-z0-9.-]/.test(ch)) {
      return { ok: false, reason: ch === ' ' ? 'contains a space' : `contains '${ch}'` };
    }
  }
  const labels = name.split('.');
  const last = labels[labels.length - 1] ?? '';
  if (/^(?:\d+|0x[0-9a-f]*)$/i.test(last))
    return { ok: false, reason: 'looks like an IP address, not a name' };
  let ascii: string;
  try {
    ascii = new URL(`http://${name}`).hostname;
  } catch {
    return { ok: false, reason: 'is not a valid internationalised (IDN) name' };
  }
  if (ascii.endsWith('.')) ascii = ascii.slice(0, -1);
  if (ascii.length > 253) return { ok: false, reason: 'is longer than 253 characters' };
  for (const label of ascii.split('.')) {
    if (label === '') return { ok: false, reason: 'has an empty label (two dots in a row)' };
    if (label.length > 63) return { ok: false, reason: 'has a label longer than 63 characters' };
    if (!/^[a-z0-9-]+$/.test(label))
      return { ok: false, reason: 'contains characters a host name cannot hold' };
    if (label.startsWith('-') || label.endsWith('-')) {
      return { ok: false, reason: 'has a label that starts or ends with a hyphen' };
    }
  }
  return { ok: true, name: prefix + ascii };
}

const IPV4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

export function isIpv6(text: string): boolean {
  if (!text.includes(':') || !/^[0-9a-fA-F:.]+$/.test(text)) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}

function isPort(text: string): boolean {
  if (!/^\d{1,5}$/.test(text)) return false;
  const port = Number(text);
  return port >= 1 && port <= 65535;
}

function schemeList(schemes: readonly string[]): string {
  const items = schemes.map((s) => `${s}://`);
  return items.length <= 1
    ? (items[0] ?? '')
    : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function urlProblem(
  raw: string,
  schemes: readonly string[],
  example: string,
  hidePath: boolean,
): string | undefined {
  const shown = showUrl(raw, hidePath);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${shown} is not a URL — write it in full, e.g. ${example}`;
  }
  if (!raw.includes('://')) return `${shown} has no scheme — write it in full, e.g. ${example}`;
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (!schemes.includes(scheme))
    return `${shown} uses ${scheme}:// — use ${schemeList(schemes)}, e.g. ${example}`;
  if (url.hostname === '') return `${shown} has no host — e.g. ${example}`;
  return undefined;
}

const CLOUDFLARE_RESOLVER_HOSTS = new Set([
  '1.1.1.1',
  '1.0.0.1',
  '[2606:4700:4700::1111]',
  '[2606:4700:4700::1001]',
]);

function isResolverTrace(raw: string): boolean {
  try {
    const url = new URL(raw);
    return CLOUDFLARE_RESOLVER_HOSTS.has(url.hostname) && url.pathname.startsWith('/cdn-cgi/trace');
  } catch {
    return false;
  }
}

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

const TOKEN_FIX: Record<'cloudflare_api_token' | 'ha_token', string> = {
  cloudflare_api_token:
    'paste an API token created at dash.cloudflare.com → My Profile → API Tokens (Zone·DNS·Edit), or remove the key to run in dry-run',
  ha_token: 'paste a long-lived access token created in Home Assistant (your profile → Security)',
};

/** What is wrong with a secret, never quoting it. Passwords are only checked for emptiness and unexpanded variables. */
function secretProblem(key: SecretKey, value: string): string | undefined {
  if (value === '') return `is empty — set it, or remove the key`;
  if (/^\$\{?[A-Za-z_][A-Za-z0-9_]*\}?$/.test(value)) {
    return `looks like an unexpanded variable — files are not expanded: paste the value, or set ${envName(key)} or ${envName(key)}_FILE in the environment`;
  }
  if (key !== 'cloudflare_api_token' && key !== 'ha_token') return undefined;
  if (isPlaceholderSecret(value)) return `looks like a placeholder, not a real token — ${TOKEN_FIX[key]}`;
  if (/^bearer\s/i.test(value)) return `starts with 'Bearer ' — give the token alone, without 'Bearer '`;
  if (/\s/.test(value)) return `contains spaces or line breaks — give the token alone, on one line`;
  if (key === 'cloudflare_api_token' && /^[0-9a-f]{37}$/.test(value)) {
    return 'looks like a Global API Key, which is not supported — create an API token with Zone·DNS·Edit permission instead';
  }
  return undefined;
}

// ───────────────────────── field schemas ─────────────────────────

type Problem = string | undefined;

function refine(check: (value: string) => Problem) {
  return (value: string, ctx: z.RefinementCtx): void => {
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  };
}

function missingOr(input: unknown, otherwise: string): string {
  return input === undefined ? 'is missing' : otherwise;
}

/** A non-empty text value; `check` returns a whole "what — fix" message. */
function text(fix: string, check?: (value: string) => Problem) {
  return z.preprocess(
    coerceText,
    z
      .string({ error: (iss) => `${missingOr(iss.input, `${show(iss.input)} is not text`)} — ${fix}` })
      .superRefine(refine((s) => (s === '' ? `is empty — ${fix}` : check?.(s)))),
  );
}

class FieldFailure extends Error {}

/** A string that may turn into something else (normalised) or fail. */
function textTo<T>(fix: string, convert: (value: string, fail: (message: string) => never) => T) {
  return z.preprocess(
    coerceText,
    z
      .string({ error: (iss) => `${missingOr(iss.input, `${show(iss.input)} is not text`)} — ${fix}` })
      .transform((s, ctx): T => {
        try {
          return convert(s, (message) => {
            throw new FieldFailure(message);
          });
        } catch (err) {
          if (!(err instanceof FieldFailure)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message });
          return z.NEVER;
        }
      }),
  );
}

function secret(key: SecretKey) {
  return z.preprocess(
    coerceText,
    z
      .string({ error: () => `is not text — put the value in quotes` })
      .superRefine(refine((s) => secretProblem(key, s))),
  );
}

function int(min: number, max: number, allowed = `a whole number from ${min} to ${max}`) {
  return z.preprocess(
    coerceNumber,
    z
      .number({ error: (iss) => `${show(iss.input)} is not a number — use ${allowed}` })
      .superRefine((n, ctx) => {
        if (!Number.isInteger(n))
          ctx.addIssue({ code: 'custom', message: `${n} is not a whole number — use ${allowed}` });
        else if (n < min || n > max)
          ctx.addIssue({ code: 'custom', message: `${n} is not allowed — use ${allowed}` });
      }),
  );
}

const TTL_ALLOWED = '1 (automatic) or a value from 60 to 86400';

function ttl() {
  return z.preprocess(
    (v) => (typeof v === 'string' && v.trim().toLowerCase() === 'auto' ? 1 : coerceNumber(v)),
    z
      .number({ error: (iss) => `${show(iss.input)} is not a number — use ${TTL_ALLOWED}` })
      .superRefine((n, ctx) => {
        if (!(n === 1 || (Number.isInteger(n) && n >= 60 && n <= 86400))) {
          ctx.addIssue({ code: 'custom', message: `${n} is not allowed — use ${TTL_ALLOWED}` });
        }
      }),
  );
}

function bool() {
  return z.preprocess(
    coerceBoolean,
    z.boolean({ error: (iss) => `${show(iss.input)} is not true or false — use true or false` }),
  );
}

function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  normalise = (s: string) => s.toLowerCase(),
) {
  const allowed = values.length === 2 ? values.join(' or ') : `one of ${values.join(', ')}`;
  return z.preprocess(
    (v) => (typeof v === 'string' ? normalise(v.trim()) : v),
    z.enum(values, { error: (iss) => `${show(iss.input)} is not allowed — use ${allowed}` }),
  );
}

function url(
  schemes: readonly string[],
  example: string,
  options: { hidePath?: boolean; trimSlash?: boolean; allowEmpty?: boolean } = {},
) {
  return textTo(`write a URL, e.g. ${example}`, (s, fail) => {
    if (s === '' && options.allowEmpty) return '';
    if (s === '') fail(`is empty — write a URL, e.g. ${example}`);
    const problem = urlProblem(s, schemes, example, options.hidePath ?? false);
    if (problem !== undefined) fail(problem);
    return options.trimSlash ? s.replace(/(?<=\/\/.+)\/+$/, '') : s;
  });
}

function list<T extends z.ZodType>(item: T, what: string, duplicateHint?: string) {
  return z.preprocess(
    coerceList,
    z
      .array(item, {
        error: (iss) => `${show(iss.input)} is not a list — give ${what} as a list, or comma-separated`,
      })
      .superRefine((items, ctx) => {
        if (duplicateHint === undefined) return;
        const seen = new Set<unknown>();
        items.forEach((value, index) => {
          if (seen.has(value)) {
            ctx.addIssue({
              code: 'custom',
              path: [index],
              message: `${show(value)} is listed twice — ${duplicateHint}`,
            });
          }
          seen.add(value);
        });
      }),
  );
}

function topic(fix: string, options: { allowSlashEdges?: boolean } = {}) {
  return text(fix, (s) => {
    if (/[+#]/.test(s)) return `${show(s)} contains + or # — MQTT wildcards cannot be used here; ${fix}`;
    if (!options.allowSlashEdges && (s.startsWith('/') || s.endsWith('/'))) {
      return `${show(s)} starts or ends with / — remove the leading or trailing slash`;
    }
    return undefined;
  });
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

const recordSchema = z.preprocess(
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
);

/** The list itself; each item is checked on its own by `parseRecords`, so one bad item hides nothing. */
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
    const problem = urlProblem(s, ['http', 'https'], example, false);
    if (problem !== undefined) return fail(`${problem.replace(/ — .*$/, '')} — ${fix}`);
    if (isResolverTrace(s)) {
      return fail(
        `${show(s)} answers Cloudflare error 1034 instead of your address — use https://cloudflare.com/cdn-cgi/trace`,
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
  "give the router's IP address, e.g. 192.168.1.1, or none to disable router probes (probes never depend on DNS)";

const routerHost = z.preprocess(
  coerceText,
  z.string({ error: (iss) => `${show(iss.input)} is not text — ${ROUTER_HOST_FIX}` }).transform((s, ctx) => {
    if (s === '' || s.toLowerCase() === 'none') return '';
    const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
    if (isIpv4(bare) || isIpv6(bare)) return bare.toLowerCase();
    ctx.addIssue({ code: 'custom', message: `${show(s)} is not an IP address — ${ROUTER_HOST_FIX}` });
    return z.NEVER;
  }),
);

const bindHost = textTo('use an IP address to listen on, e.g. 127.0.0.1 or 0.0.0.0', (s, fail) => {
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  if (isIpv4(bare) || isIpv6(bare)) return bare;
  const result = toHostName(s, { wildcard: false });
  if (!result.ok) return fail(`${show(s)} is not an IP address or host name — use e.g. 127.0.0.1 or 0.0.0.0`);
  return result.name;
});

const NODE_ID_FIX = 'use letters, digits, _ and - only, e.g. ddns_watchdog';

const HTTP = ['http', 'https'] as const;

/** One zod schema per user key. Each accepts the raw value from a file or the environment. */
const FIELDS = {
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
  cloudflare_api_url: url(HTTP, 'https://api.cloudflare.com/client/v4', { trimSlash: true }),
  doh_url: url(HTTP, 'https://cloudflare-dns.com/dns-query'),
  http_timeout_ms: int(100, 60000),
  heartbeat_url: url(HTTP, 'https://hc-ping.com/<uuid>', { hidePath: true, trimSlash: true }),
  webhook_url: url(HTTP, 'https://example.com/hook', { hidePath: true }),
  delete_on_stop: bool(),
  // MQTT
  mqtt_url: url(['mqtt', 'mqtts', 'ws', 'wss'], 'mqtt://192.168.1.10:1883', { allowEmpty: true }),
  mqtt_username: text('give the user name, or remove the key'),
  mqtt_password: secret('mqtt_password'),
  mqtt_ca_file: text('give the path of a PEM file with the CA certificate'),
  mqtt_client_id: text('give a client id, e.g. ddns-watchdog-home'),
  mqtt_base_topic: topic('use a plain topic such as ddns-watchdog'),
  discovery_prefix: topic('use homeassistant unless you changed it in Home Assistant'),
  discovery: bool(),
  node_id: text(NODE_ID_FIX, (s) =>
    /^[A-Za-z0-9_-]+$/.test(s)
      ? undefined
      : `${show(s)} has characters other than letters, digits, _ and - — ${NODE_ID_FIX}`,
  ),
  device_name: text('give a short name, e.g. DDNS Watchdog', (s) =>
    s.length > 100 ? `is longer than 100 characters — give a short name, e.g. DDNS Watchdog` : undefined,
  ),
  embedded_broker_host: bindHost,
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
  plug_url: url(HTTP, 'http://192.168.1.50', { trimSlash: true }),
  plug_entity_id: text('give a Home Assistant entity id, e.g. switch.router_plug', (s) =>
    /^[a-z_][a-z0-9_]*\.[a-z0-9_]+$/.test(s)
      ? undefined
      : `${show(s)} is not an entity id — give a Home Assistant entity id, e.g. switch.router_plug`,
  ),
  plug_off_url: url(HTTP, 'http://192.168.1.50/off'),
  plug_on_url: url(HTTP, 'http://192.168.1.50/on'),
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
  ha_url: url(HTTP, 'http://homeassistant.local:8123', { trimSlash: true }),
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
  log_level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  log_format: oneOf(['pretty', 'json']),
} satisfies Record<string, z.ZodType>;

type Fields = typeof FIELDS;
export type ConfigKey = keyof Fields;
type Parsed = { -readonly [K in ConfigKey]?: z.output<Fields[K]> };

/** Every key a user can set, in documentation order. */
export const CONFIG_KEYS: readonly string[] = Object.keys(FIELDS);

export function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(FIELDS, key);
}

/** The problem line for a key that is not a config key. */
export function unknownKeyProblem(key: string, known: readonly string[] = CONFIG_KEYS): string {
  const fileSuffix = /^(.+)_file$/i.exec(key);
  if (fileSuffix && (SECRET_KEYS as readonly string[]).includes(fileSuffix[1]!.toLowerCase())) {
    const base = fileSuffix[1]!.toLowerCase();
    return `unknown key '${key}' — the _FILE form works only as an environment variable (${envName(base)}_FILE); in a file, set ${base}`;
  }
  const suggestion = suggestKey(key, known);
  return suggestion !== undefined
    ? `unknown key '${key}' — did you mean '${suggestion}'?`
    : `unknown key '${key}' — remove it (docs/configuration.md lists every key)`;
}

// ───────────────────────── parsing the whole configuration ─────────────────────────

export interface ParseContext {
  /** Running as a Home Assistant add-on (SUPERVISOR_TOKEN set). */
  addon: boolean;
  /** stdout is a terminal (log_format defaults to pretty). */
  isTTY: boolean;
  /** Where a key's value came from, shown after the key (e.g. `INTERVAL_SECONDS`). */
  origins?: Readonly<Record<string, string>>;
}

export type ParseResult = { ok: true; config: Config } | { ok: false; problems: string[] };

function pathText(key: string, path: readonly PropertyKey[], valueShown: boolean): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : `.${String(part)}`;
  // records[3].name → records[3] when the message quotes the name (a bare string item has no "name").
  if (key === 'records' && valueShown) out = out.replace(/^(\[\d+\])\.name$/, '$1');
  return out;
}

/**
 * Validate the merged raw values (from a file and the environment; absent keys are undefined)
 * and resolve every default. Collects all problems; never throws on bad input.
 */
export function parseConfig(raw: Readonly<Record<string, unknown>>, ctx: ParseContext): ParseResult {
  const problems: string[] = [];
  const label = (key: string, rest = ''): string => {
    const origin = ctx.origins?.[key];
    return origin !== undefined ? `${key}${rest} (${origin})` : `${key}${rest}`;
  };
  const add = (key: string, message: string): void => {
    problems.push(`${label(key)}: ${message}`);
  };
  const given = (key: ConfigKey): boolean => raw[key] !== undefined;
  const report = (key: string, prefix: readonly PropertyKey[], issues: readonly z.core.$ZodIssue[]): void => {
    for (const issue of issues) {
      const where = label(key, pathText(key, [...prefix, ...issue.path], issue.code !== 'invalid_type'));
      if (issue.code === 'unrecognized_keys') {
        for (const extra of issue.keys) problems.push(`${where}: ${unknownKeyProblem(extra, RECORD_KEYS)}`);
      } else {
        problems.push(`${where}: ${issue.message}`);
      }
    }
  };

  for (const key of Object.keys(raw)) {
    if (!isConfigKey(key) && raw[key] !== undefined) problems.push(unknownKeyProblem(key));
  }

  const v: Parsed = {};
  // Records are checked one by one: every bad item is reported, and the good ones are still
  // checked for duplicates and, below, for their zone.
  const records: Array<{ index: number; record: RecordConfig }> = [];
  for (const key of CONFIG_KEYS as readonly ConfigKey[]) {
    const input = raw[key];
    if (input === undefined) continue;
    const result = FIELDS[key].safeParse(input);
    if (!result.success) {
      report(key, [], result.error.issues);
      continue;
    }
    (v as Record<string, unknown>)[key] = result.data;
    if (key !== 'records') continue;
    const seen = new Set<string>();
    (result.data as unknown[]).forEach((item, index) => {
      const parsed = recordSchema.safeParse(item);
      if (!parsed.success) {
        report('records', [index], parsed.error.issues);
      } else if (seen.has(parsed.data.name)) {
        problems.push(
          `${label('records', `[${index}]`)}: '${parsed.data.name}' is listed twice — keep one entry per name (A and AAAA both follow ip_version)`,
        );
      } else {
        seen.add(parsed.data.name);
        records.push({ index, record: parsed.data });
      }
    });
  }
  for (const { index, record } of records) {
    const zone = record.zone ?? v.zone;
    if (zone !== undefined && record.name !== zone && !record.name.endsWith(`.${zone}`)) {
      problems.push(
        `${label('records', `[${index}]`)}: '${record.name}' is not inside zone '${zone}' — fix the name, or give this record its own zone`,
      );
    }
  }

  // mode: enforce with a token, else dry-run; an explicit enforce needs the token.
  const hasToken = given('cloudflare_api_token');
  const mode: Config['mode'] = v.mode ?? (hasToken ? 'enforce' : 'dry-run');
  if (v.mode === 'enforce' && !hasToken) {
    add(
      'cloudflare_api_token',
      'is not set, but mode is enforce — set cloudflare_api_token (or CLOUDFLARE_API_TOKEN_FILE), or set mode to dry-run',
    );
  }

  // jitter: 0..interval/2; the default 5 s is capped at half a short interval instead of failing.
  const interval = v.interval_seconds ?? DEFAULTS.interval_seconds;
  const intervalKnown = !given('interval_seconds') || v.interval_seconds !== undefined;
  let jitter = Math.min(DEFAULTS.jitter_seconds, Math.floor(interval / 2));
  if (v.jitter_seconds !== undefined) {
    jitter = v.jitter_seconds;
    if (intervalKnown && jitter > interval / 2) {
      add(
        'jitter_seconds',
        `${jitter} is more than half of interval_seconds (${interval}) — use 0 to ${Math.floor(interval / 2)}`,
      );
    }
  }

  // IP sources and quorum.
  const ipVersion = v.ip_version ?? DEFAULTS.ip_version;
  const useV4 = ipVersion !== 'ipv6';
  const useV6 = ipVersion !== 'ipv4';
  const sources4 = v.ip_sources ?? [...DEFAULT_IP_SOURCES];
  const sources6 = v.ip_sources_v6 ?? [...DEFAULT_IP_SOURCES_V6];
  const sourcesKnown = (key: 'ip_sources' | 'ip_sources_v6') => !given(key) || v[key] !== undefined;
  if (useV4 && sources4.length === 0 && sourcesKnown('ip_sources')) {
    add(
      'ip_sources',
      `is empty, but ip_version is ${ipVersion} — give at least one source, e.g. ${DEFAULT_IP_SOURCES[0]}`,
    );
  }
  if (useV6 && sources6.length === 0 && sourcesKnown('ip_sources_v6')) {
    add(
      'ip_sources_v6',
      `is empty, but ip_version is ${ipVersion} — give at least one source, e.g. ${DEFAULT_IP_SOURCES_V6[1]}`,
    );
  }
  const defaultQuorum = (n: number): number => (n <= 1 ? 1 : 2);
  const cap = (q: number, n: number): number => Math.max(1, Math.min(q, n));
  let quorum4 = defaultQuorum(sources4.length);
  let quorum6 = defaultQuorum(sources6.length);
  if (v.ip_quorum !== undefined) {
    const q = v.ip_quorum;
    // The explicit quorum is checked against the list it governs: ip_sources, or ip_sources_v6
    // when only IPv6 is used. With ip_version both, the IPv6 list may be shorter: capped there.
    const [listKey, list] = useV4
      ? (['ip_sources', sources4] as const)
      : (['ip_sources_v6', sources6] as const);
    if (q > list.length && list.length > 0 && sourcesKnown(listKey)) {
      add(
        'ip_quorum',
        `${q} is more than the ${list.length} source${list.length === 1 ? '' : 's'} in ${listKey} — use at most ${list.length}, or add sources`,
      );
    }
    quorum4 = cap(q, sources4.length);
    quorum6 = cap(q, sources6.length);
  }

  if (v.wan_targets !== undefined && v.wan_targets.length === 0) {
    add('wan_targets', `is empty — give at least one IP:port to probe, e.g. ${DEFAULT_WAN_TARGETS[0]}`);
  }

  // Recovery: each plug type needs its own keys.
  const plugType = v.plug_type ?? DEFAULTS.plug_type;
  const need = (key: ConfigKey, fix: string): void => {
    if (!given(key)) add(key, `is not set, but plug_type is ${plugType} — ${fix}`);
  };
  switch (plugType) {
    case 'tasmota':
      need('plug_topic', "give the plug's Tasmota topic, e.g. tasmota_1A2B3C");
      break;
    case 'esphome':
      need('plug_topic', 'give the ESPHome node and switch, e.g. router-plug/relay');
      break;
    case 'zigbee2mqtt':
      need('plug_topic', "give the plug's Zigbee2MQTT friendly name, e.g. router_plug");
      break;
    case 'shelly':
    case 'shelly_rpc':
      need('plug_url', "give the plug's address, e.g. http://192.168.1.50");
      break;
    case 'homeassistant':
      need('plug_entity_id', 'give the switch entity, e.g. switch.router_plug');
      if (!ctx.addon) {
        need('ha_url', 'give the Home Assistant address, e.g. http://homeassistant.local:8123');
        need(
          'ha_token',
          'give a long-lived access token created in Home Assistant (your profile → Security)',
        );
      }
      break;
    case 'http':
      need('plug_off_url', 'give the URL that turns the plug off');
      need('plug_on_url', 'give the URL that turns the plug on');
      break;
    case 'mqtt':
      need('plug_command_topic', 'give the topic the plug listens on, e.g. plugs/router/set');
      break;
    case 'none':
      if (v.recovery_enabled === true) {
        add(
          'recovery_enabled',
          'is true, but plug_type is none — set plug_type and its keys, or set recovery_enabled to false',
        );
      }
      break;
  }

  if (problems.length > 0) return { ok: false, problems: scrubSecrets(problems, raw) };

  const nodeId = v.node_id ?? DEFAULTS.node_id;
  const config: Config = {
    cloudflare_api_token: v.cloudflare_api_token,
    records: records.map(({ record }) => record),
    zone: v.zone,
    ip_version: ipVersion,
    ttl: v.ttl ?? DEFAULTS.ttl,
    ttl_explicit: v.ttl !== undefined,
    proxied: v.proxied,
    create_missing_records: v.create_missing_records ?? DEFAULTS.create_missing_records,
    mode,
    interval_seconds: interval,
    jitter_seconds: jitter,
    min_update_interval_seconds: v.min_update_interval_seconds ?? DEFAULTS.min_update_interval_seconds,
    ip_sources: sources4,
    ip_sources_v6: sources6,
    ip_quorum: quorum4,
    ip_quorum_v6: quorum6,
    cloudflare_api_url: v.cloudflare_api_url ?? DEFAULTS.cloudflare_api_url,
    doh_url: v.doh_url ?? DEFAULTS.doh_url,
    http_timeout_ms: v.http_timeout_ms ?? DEFAULTS.http_timeout_ms,
    heartbeat_url: v.heartbeat_url,
    webhook_url: v.webhook_url,
    delete_on_stop: v.delete_on_stop ?? DEFAULTS.delete_on_stop,
    mqtt_url: v.mqtt_url ?? DEFAULTS.mqtt_url,
    mqtt_username: v.mqtt_username,
    mqtt_password: v.mqtt_password,
    mqtt_ca_file: v.mqtt_ca_file,
    mqtt_client_id: v.mqtt_client_id ?? `ddns-watchdog-${nodeId}`,
    mqtt_base_topic: v.mqtt_base_topic ?? DEFAULTS.mqtt_base_topic,
    discovery_prefix: v.discovery_prefix ?? DEFAULTS.discovery_prefix,
    discovery: v.discovery ?? DEFAULTS.discovery,
    node_id: nodeId,
    device_name: v.device_name ?? DEFAULTS.device_name,
    embedded_broker_host: v.embedded_broker_host ?? DEFAULTS.embedded_broker_host,
    embedded_broker_port: v.embedded_broker_port ?? DEFAULTS.embedded_broker_port,
    router_host: v.router_host,
    router_probe: v.router_probe ?? DEFAULTS.router_probe,
    wan_targets: v.wan_targets ?? [...DEFAULT_WAN_TARGETS],
    probe_interval_seconds: v.probe_interval_seconds ?? DEFAULTS.probe_interval_seconds,
    probe_timeout_ms: v.probe_timeout_ms ?? DEFAULTS.probe_timeout_ms,
    recovery_enabled: v.recovery_enabled ?? DEFAULTS.recovery_enabled,
    plug_type: plugType,
    plug_topic: v.plug_topic,
    plug_url: v.plug_url,
    plug_entity_id: v.plug_entity_id,
    plug_off_url: v.plug_off_url,
    plug_on_url: v.plug_on_url,
    plug_method: v.plug_method ?? DEFAULTS.plug_method,
    plug_command_topic: v.plug_command_topic,
    plug_payload_off: v.plug_payload_off ?? DEFAULTS.plug_payload_off,
    plug_payload_on: v.plug_payload_on ?? DEFAULTS.plug_payload_on,
    plug_state_topic: v.plug_state_topic,
    plug_username: v.plug_username,
    plug_password: v.plug_password,
    ha_url: v.ha_url,
    ha_token: v.ha_token,
    power_off_seconds: v.power_off_seconds ?? DEFAULTS.power_off_seconds,
    wan_down_after_seconds: v.wan_down_after_seconds ?? DEFAULTS.wan_down_after_seconds,
    boot_grace_seconds: v.boot_grace_seconds ?? DEFAULTS.boot_grace_seconds,
    max_power_cycles: v.max_power_cycles ?? DEFAULTS.max_power_cycles,
    power_cycle_window_hours: v.power_cycle_window_hours ?? DEFAULTS.power_cycle_window_hours,
    recover_when_router_down: v.recover_when_router_down ?? DEFAULTS.recover_when_router_down,
    state_dir: v.state_dir ?? (ctx.addon ? '/data' : './data'),
    http_port: v.http_port ?? DEFAULTS.http_port,
    log_level: v.log_level ?? DEFAULTS.log_level,
    log_format: v.log_format ?? (ctx.isTTY ? 'pretty' : 'json'),
  };
  const record = config as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (record[key] === undefined) delete record[key];
  }
  return { ok: true, config };
}

/** Belt and braces: no secret value (8+ characters, not a placeholder) survives in any problem line. */
function scrubSecrets(problems: string[], raw: Readonly<Record<string, unknown>>): string[] {
  const secrets = SECRET_KEYS.map((k) => raw[k])
    .filter((s): s is string => typeof s === 'string')
    .map((s) => s.trim())
    .filter((s) => s.length >= 8 && !isPlaceholderSecret(s));
  if (secrets.length === 0) return problems;
  return problems.map((line) => secrets.reduce((text, s) => text.split(s).join('[redacted]'), line));
}
