/**
 * Schemas for the values particular to this agent — record names and records, IP sources, probe
 * targets, listen addresses, node ids, plug payloads — used by the section tables (sections/*.ts).
 * Each coerces a raw value from a file or the environment and rejects it with a
 * `<fault> — <fix>` message. IP literals are judged by the core's parser (src/domain/ip.ts).
 * Pure: zod and the core only.
 */
import { z } from 'zod';
import { classifyIp, parseIp } from '../domain/ip.js';
import { bool, text, textTo, ttl } from './builders.js';
import { withManifest } from './manifest.js';
import {
  coerceList,
  coerceText,
  isPort,
  isResolverTrace,
  quoteHintFor,
  show,
  showUrl,
  toHostName,
  urlProblem,
} from './values.js';

export interface RecordConfig {
  /** Lower-case punycode, no trailing dot; may start with `*.`. */
  name: string;
  proxied?: boolean;
  ttl?: number;
  zone?: string;
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

/** A Cloudflare zone name, e.g. example.com. */
export const zoneName = () => hostNameField(ZONE_FIX, { wildcard: false, minLabels: 2 });

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
      zone: zoneName().optional(),
    },
    {
      error: (iss) =>
        `${show(iss.input)} is not a record — give a host name, or a mapping {name, proxied, ttl, zone}`,
    },
  ),
) as z.ZodType<RecordConfig>;

/**
 * The `records` list itself; each item is checked on its own by `parseConfig` with
 * `recordSchema`, so one bad item hides nothing. Typed as the records it becomes.
 */
export function recordList(): z.ZodType<RecordConfig[], unknown> {
  const schema = z.preprocess(
    coerceList,
    z.array(z.unknown(), {
      error: (iss) => `${show(iss.input)} is not a list — give host names as a list, or comma-separated`,
    }),
  );
  return withManifest(schema, ['str']) as unknown as z.ZodType<RecordConfig[], unknown>;
}

/** One item of `ip_sources` / `ip_sources_v6`: an http(s) URL, `local` or `local:IFACE`. */
export function ipSource(family: 'IPv4' | 'IPv6') {
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

/** The address inside optional brackets (`[::1]` → `::1`). */
function unbracket(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}

const WAN_TARGET_FIX = 'write an IP address and port, e.g. 1.1.1.1:443 or [2606:4700:4700::1111]:443';

/** One item of `wan_targets`: `IPv4:port` or `[IPv6]:port`. */
export const wanTarget = () =>
  textTo(
    WAN_TARGET_FIX,
    (s, fail) => {
      const match = /^\[([^\]]+)\]:([^:]+)$/.exec(s) ?? /^([^:[\]]+):([^:]+)$/.exec(s);
      if (!match) return fail(`${show(s)} is not host:port — ${WAN_TARGET_FIX}`);
      const [, host = '', port = ''] = match;
      const family = s.startsWith('[') ? 6 : 4;
      if (parseIp(host)?.family !== family) {
        return fail(`${show(host)} is not an IP address — ${WAN_TARGET_FIX} (probes never depend on DNS)`);
      }
      if (!isPort(port)) return fail(`${show(s)} has port ${show(port)} — use a port from 1 to 65535`);
      return s;
    },
    'str',
    { quoteHint: true },
  );

/** An address (brackets optional) as compared: canonical, an IPv4-mapped IPv6 as its IPv4. */
function probedAddress(address: string): string | undefined {
  const parsed = parseIp(unbracket(address));
  return parsed === null ? undefined : (parsed.mappedV4 ?? parsed.canonical);
}

/**
 * The indexes of the checked WAN targets whose address is the router's (in any spelling:
 * brackets, IPv6 forms, IPv4-mapped). Such a target answers whenever the router does, so the WAN
 * could never be seen down. Loopback is left out: it is never a router's address in real use, and
 * the demo and the tests run every simulated host on 127.0.0.1, a port each.
 */
export function targetsAtRouter(routerHost: string, targets: readonly string[]): number[] {
  const router = probedAddress(routerHost);
  if (router === undefined || classifyIp(router) === 'loopback') return [];
  const at: number[] = [];
  targets.forEach((target, index) => {
    if (probedAddress(target.slice(0, target.lastIndexOf(':'))) === router) at.push(index);
  });
  return at;
}

export type RouterProbe = 'icmp' | `tcp:${number}`;

/** `icmp` or `tcp:PORT`. */
export const routerProbe = () =>
  textTo('use icmp or tcp:PORT, e.g. tcp:80', (s, fail): RouterProbe => {
    const lower = s.toLowerCase();
    if (lower === 'icmp') return 'icmp';
    const match = /^tcp:(\d+)$/.exec(lower);
    if (match && isPort(match[1] ?? '')) return `tcp:${Number(match[1])}`;
    return fail(`${show(s)} is not allowed — use icmp or tcp:PORT with a port from 1 to 65535, e.g. tcp:80`);
  });

const ROUTER_HOST_FIX =
  "give the router's IP address, e.g. 192.168.1.1, auto for the default gateway, or none to disable router probes (probes never depend on DNS)";

/** '' = router probes off; undefined (`auto`) = the default gateway, found at run time. */
export const routerHost = () =>
  withManifest(
    z.preprocess(
      coerceText,
      z
        .string({
          error: (iss) => `${show(iss.input)} is not text — ${ROUTER_HOST_FIX}${quoteHintFor(iss.input)}`,
        })
        .transform((s, ctx): string | undefined => {
          const lower = s.normalize('NFKC').toLowerCase();
          if (s === '' || lower === 'none') return '';
          if (lower === 'auto') return undefined;
          const bare = unbracket(lower);
          if (parseIp(bare) !== null) return bare;
          ctx.addIssue({ code: 'custom', message: `${show(s)} is not an IP address — ${ROUTER_HOST_FIX}` });
          return z.NEVER;
        }),
    ),
    'str',
  );

/** An address to listen on: an IP literal (brackets optional) or a host name. */
export function bindHost(example: string) {
  const fix = `use an IP address to listen on, e.g. ${example} or 0.0.0.0`;
  return textTo(
    fix,
    (s, fail) => {
      const bare = unbracket(s.normalize('NFKC'));
      if (parseIp(bare) !== null) return bare.toLowerCase();
      const result = toHostName(s.normalize('NFKC'), { wildcard: false });
      if (!result.ok) return fail(`${show(s)} is not an IP address or host name — ${fix}`);
      return result.name;
    },
    'str',
    { quoteHint: true },
  );
}

const NODE_ID_FIX = 'use letters, digits, _ and - only, e.g. ddns_watchdog';
/** node_id appears twice in some discovery topics; this keeps them within MQTT's limit. */
const NODE_ID_MAX = 64;

export const nodeId = () =>
  text(NODE_ID_FIX, (s) => {
    if (!/^[A-Za-z0-9_-]+$/.test(s)) {
      return `${show(s)} has characters other than letters, digits, _ and - — ${NODE_ID_FIX}`;
    }
    if (s.length > NODE_ID_MAX) return `is longer than ${NODE_ID_MAX} characters — ${NODE_ID_FIX}`;
    return undefined;
  });

/** A Home Assistant entity id such as switch.router_plug. */
export const entityId = () =>
  text('give a Home Assistant entity id, e.g. switch.router_plug', (s) =>
    /^[a-z_][a-z0-9_]*\.[a-z0-9_]+$/.test(s)
      ? undefined
      : `${show(s)} is not an entity id — give a Home Assistant entity id, e.g. switch.router_plug`,
  );

/** An MQTT payload: any text, even empty; a YAML true/false becomes its word. */
export const payload = (example: string) =>
  withManifest(
    z.preprocess(
      (v) => (typeof v === 'boolean' ? String(v) : coerceText(v)),
      z.string({ error: (iss) => `${show(iss.input)} is not text — give the payload, e.g. ${example}` }),
    ),
    'str',
  );
