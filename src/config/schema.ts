/**
 * Validation of the whole configuration (SPEC §2). Pure: zod and the global URL class only;
 * reading files and the environment is config/load.ts's job, and each key's schema, default and
 * documentation live in its section table (sections/*.ts, gathered by keys.ts).
 *
 * `parseConfig` takes the merged raw values (defaults are applied here, not by the caller), checks
 * every key on its own with its table's zod schema, then the rules that tie keys together,
 * and returns either the resolved `Config` or every problem, one line each:
 * `<key>: <what is wrong> — <how to fix>`. No problem line ever contains a secret's value.
 */
import type { z } from 'zod';
import { SECRET_KEYS } from '../redact.js';
import { RECORD_KEYS, type RecordConfig, recordSchema, targetsAtRouter } from './fields.js';
import {
  type ComputedKeys,
  type Config,
  type ConfigKey,
  DEFAULT_IP_SOURCES,
  DEFAULT_IP_SOURCES_V6,
  DEFAULT_WAN_TARGETS,
  DEFAULTS,
  KEY_NAMES,
  KEY_SPECS,
} from './keys.js';
import { isPlaceholderSecret } from './secrets.js';
import { suggestKey } from './suggest.js';
import { envName, show } from './values.js';

export { SECRET_KEYS, type SecretKey } from '../redact.js';
export { TOPIC_ROOM_BYTES } from './builders.js';
export { RECORD_KEYS } from './fields.js';
export {
  type Config,
  type ConfigKey,
  type ConfigKeyInfo,
  DEFAULT_IP_SOURCES,
  DEFAULT_IP_SOURCES_V6,
  DEFAULT_WAN_TARGETS,
  DEFAULTS,
  type LogLevel,
  listConfigKeys,
  type PlugType,
  type RecordConfig,
} from './keys.js';
export { isPlaceholderSecret } from './secrets.js';
export { envName, type HostNameResult, show, toHostName } from './values.js';

type Parsed = { -readonly [K in ConfigKey]?: z.output<(typeof KEY_SPECS)[K]['schema']> };

/** Every key a user can set, in documentation order. */
export const CONFIG_KEYS: readonly string[] = KEY_NAMES;

export function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(KEY_SPECS, key);
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
  for (const key of KEY_NAMES) {
    const input = raw[key];
    if (input === undefined) continue;
    const result = KEY_SPECS[key].schema.safeParse(input);
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
  // A WAN target that is the router answers whenever the router does: never wan_down.
  const targets = v.wan_targets ?? DEFAULT_WAN_TARGETS;
  for (const index of v.router_host ? targetsAtRouter(v.router_host, targets) : []) {
    problems.push(
      `${label('wan_targets', `[${index}]`)}: ${show(targets[index])} is the router itself (router_host), so the WAN could never be seen down while the router answers — probe addresses beyond the router, e.g. ${DEFAULT_WAN_TARGETS[0]}`,
    );
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
  // What no fixed default gives: worked out from other keys and the context.
  const resolved = {
    records: records.map(({ record }) => record),
    mode,
    jitter_seconds: jitter,
    ip_version: ipVersion,
    ip_sources: sources4,
    ip_sources_v6: sources6,
    ip_quorum: quorum4,
    mqtt_client_id: v.mqtt_client_id ?? `ddns-watchdog-${nodeId}`,
    plug_type: plugType,
    state_dir: v.state_dir ?? (ctx.addon ? '/data' : './data'),
    http_host: v.http_host ?? (ctx.addon ? '0.0.0.0' : DEFAULTS.http_host),
    log_format: v.log_format ?? (ctx.isTTY ? 'pretty' : 'json'),
  } satisfies { [K in ComputedKeys]: Config[K] } & Partial<Config>;

  const out: Record<string, unknown> = {};
  for (const key of KEY_NAMES) {
    const value = Object.hasOwn(resolved, key)
      ? resolved[key as keyof typeof resolved]
      : (v[key] ?? (DEFAULTS as Readonly<Record<string, unknown>>)[key]);
    if (value !== undefined) out[key] = Array.isArray(value) ? [...value] : value;
    if (key === 'ttl') out.ttl_explicit = v.ttl !== undefined;
    if (key === 'mode') out.mode_explicit = v.mode !== undefined;
    if (key === 'ip_quorum') out.ip_quorum_v6 = quorum6;
  }
  return { ok: true, config: out as Config };
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
