/**
 * The default `router_host` (SPEC §2): the host's gateway. In the add-on (SUPERVISOR_TOKEN set)
 * it comes from the Supervisor's `GET /network/info` — the add-on's own routing table only shows
 * the `hassio` bridge; elsewhere from the routing table (`/proc/net/route`). A gateway that is a
 * container bridge is not the router and is not taken: the answer is `none` with a message the
 * service says once. The parsers are pure; `resolveRouterHost` does the reading. Never: log.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import type { Dispatcher } from 'undici';
import { parseIp } from '../domain/ip.js';
import { errorMessage } from '../errors.js';
import { fetchSupervisorNetworkInfo, type SupervisorNetworkInfo } from '../supervisor.js';

export interface DefaultRoute {
  iface: string;
  gateway: string;
  metric: number;
}

/** `0101A8C0` (a little-endian host's u32) → `192.168.1.1`; null when not 8 hex digits. */
export function hexToIpv4(hex: string, littleEndian = true): string | null {
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) return null;
  const bytes = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
  return (littleEndian ? bytes.reverse() : bytes).join('.');
}

const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;

/**
 * The default route in `/proc/net/route` text: destination and mask 0, flags UP and GATEWAY, the
 * lowest metric (the first on a tie). Null when there is none or the text is not that table.
 */
export function parseProcNetRoute(text: string, littleEndian = true): DefaultRoute | null {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  const col = (name: string) => header.indexOf(name);
  const [iIface, iDest, iGw, iFlags, iMetric, iMask] = [
    col('Iface'),
    col('Destination'),
    col('Gateway'),
    col('Flags'),
    col('Metric'),
    col('Mask'),
  ];
  if ([iIface, iDest, iGw, iFlags, iMask].some((i) => i < 0)) return null;
  let best: DefaultRoute | null = null;
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    const flags = Number.parseInt(f[iFlags] ?? '', 16);
    if (f[iDest] !== '00000000' || f[iMask] !== '00000000' || Number.isNaN(flags)) continue;
    if ((flags & RTF_UP) === 0 || (flags & RTF_GATEWAY) === 0) continue;
    const gateway = hexToIpv4(f[iGw] ?? '', littleEndian);
    if (gateway === null || gateway === '0.0.0.0') continue;
    const metric = iMetric >= 0 ? Number(f[iMetric] ?? '0') || 0 : 0;
    if (best === null || metric < best.metric) best = { iface: f[iIface] ?? '', gateway, metric };
  }
  return best;
}

interface Bridge {
  base: readonly [number, number, number, number];
  prefix: number;
  label: string;
  /** Only a bridge when this process runs in a container (a router may use these addresses). */
  containerOnly: boolean;
}

/**
 * Container networks whose gateway is the host, not the router: Docker's default bridge, the
 * Supervisor's `hassio` network, and — only when running inside a container — the rest of
 * Docker's default address pool (172.18.0.0–172.31.255.255), where docker compose puts its networks.
 */
const BRIDGES: readonly Bridge[] = [
  { base: [172, 17, 0, 0], prefix: 16, label: "Docker's default bridge 172.17.0.0/16", containerOnly: false },
  {
    base: [172, 30, 32, 0],
    prefix: 23,
    label: "the Supervisor's hassio network 172.30.32.0/23",
    containerOnly: false,
  },
  {
    base: [172, 16, 0, 0],
    prefix: 12,
    label: "a Docker network from Docker's default pool 172.17.0.0–172.31.255.255",
    containerOnly: true,
  },
];

function inPrefix(bytes: readonly number[], base: readonly number[], prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const i = bit >> 3;
    const mask = 0x80 >> (bit & 7);
    if (((bytes[i] ?? 0) & mask) !== ((base[i] ?? 0) & mask)) return false;
  }
  return true;
}

/**
 * Which container bridge `ip` belongs to, or null. `inContainer` widens the check to Docker's
 * whole default pool (172.16.0.0/16 itself stays a possible router address).
 */
export function containerBridgeOf(ip: string, inContainer: boolean): string | null {
  const parsed = parseIp(ip);
  if (parsed?.family !== 4) return null;
  for (const b of BRIDGES) {
    if (b.containerOnly && (!inContainer || parsed.bytes[1] === 16)) continue;
    if (inPrefix(parsed.bytes, b.base, b.prefix)) return b.label;
  }
  return null;
}

export type RouterHostResolution =
  /** `router_host` was set (empty = the router probe is off). */
  | { kind: 'configured'; host: string }
  /** The host's gateway, found by the agent. */
  | { kind: 'gateway'; host: string; source: 'supervisor' | 'routing_table'; iface: string }
  /** No router probe: `message` says why and what to do; say it once. */
  | { kind: 'none'; reason: string; message: string };

function none(reason: string): RouterHostResolution {
  return {
    kind: 'none',
    reason,
    message:
      `The router probe is off: ${reason}. Set router_host to the router's IP address (e.g. 192.168.1.1), ` +
      'or to none to keep it off and silence this; the WAN is still probed.',
  };
}

function judgeGateway(
  gateway: string,
  iface: string,
  source: 'supervisor' | 'routing_table',
  inContainer: boolean,
): RouterHostResolution {
  const bridge = containerBridgeOf(gateway, inContainer);
  if (bridge !== null) {
    return none(
      `the default gateway ${gateway} (${iface}) is ${bridge}, the container's host rather than the router`,
    );
  }
  return { kind: 'gateway', host: gateway, source, iface };
}

/** The router from `/proc/net/route` text. Pure. */
export function routerFromRouteTable(
  text: string,
  o: { inContainer: boolean; littleEndian?: boolean },
): RouterHostResolution {
  const route = parseProcNetRoute(text, o.littleEndian ?? true);
  if (!route) return none('the routing table (/proc/net/route) has no IPv4 default route');
  return judgeGateway(route.gateway, route.iface, 'routing_table', o.inContainer);
}

/**
 * The router from the Supervisor's network info: the primary interface's IPv4 gateway, else the
 * first connected interface that has one. Pure. (The add-on always runs in a container, but the
 * host's interfaces are not container networks, so only the two fixed bridges are refused.)
 */
export function routerFromSupervisor(info: SupervisorNetworkInfo): RouterHostResolution {
  const withGateway = info.interfaces.filter(
    (i) => i.ipv4Gateway !== null && parseIp(i.ipv4Gateway)?.family === 4,
  );
  const pick = withGateway.find((i) => i.primary) ?? withGateway.find((i) => i.connected !== false);
  if (!pick || pick.ipv4Gateway === null) {
    return none("the Supervisor's /network/info shows no IPv4 gateway on the host's interfaces");
  }
  return judgeGateway(pick.ipv4Gateway, pick.name, 'supervisor', false);
}

/** Files whose presence says "this process runs in a container" (Docker, Podman). */
export const CONTAINER_MARKERS: readonly string[] = ['/.dockerenv', '/run/.containerenv'];

export interface ResolveRouterHostOptions {
  /** The `router_host` setting: undefined = find the gateway; '' = off. */
  configured: string | undefined;
  /** SUPERVISOR_TOKEN (add-on mode) and SUPERVISOR_URL are read from here. */
  env: Readonly<Record<string, string | undefined>>;
  /** Default /proc/net/route. */
  routeTablePath?: string;
  /** Default: one of CONTAINER_MARKERS exists. */
  inContainer?: boolean;
  dispatcher?: Dispatcher;
  /** For the Supervisor request. Default 5000. */
  timeoutMs?: number;
}

/** Decides `router_host`. Never throws: every failure is `none` with a message. */
export async function resolveRouterHost(o: ResolveRouterHostOptions): Promise<RouterHostResolution> {
  if (o.configured !== undefined) return { kind: 'configured', host: o.configured };
  const token = o.env.SUPERVISOR_TOKEN?.trim();
  if (token) {
    try {
      const info = await fetchSupervisorNetworkInfo({
        token,
        env: o.env,
        timeoutMs: o.timeoutMs ?? 5000,
        ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
      });
      return routerFromSupervisor(info);
    } catch (err) {
      // The Supervisor's message ends in the same advice none() gives; keep only the cause.
      const cause = errorMessage(err).replace(/[;.]\s*(?:or\s+)?set router_host\b.*$/is, '');
      return none(`the host's gateway could not be read: ${cause}`);
    }
  }
  const path = o.routeTablePath ?? '/proc/net/route';
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code ?? errorMessage(err);
    return none(`the routing table ${path} could not be read (${code}; not Linux?)`);
  }
  const inContainer = o.inContainer ?? CONTAINER_MARKERS.some((p) => existsSync(p));
  return routerFromRouteTable(text, { inContainer, littleEndian: endianness() === 'LE' });
}
