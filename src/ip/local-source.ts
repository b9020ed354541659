/**
 * An IP source that reads this host's own interface addresses (`local` or `local:IFACE`), for
 * IPv6 or for a host that holds the public IPv4 itself; and a poller that notices when those
 * addresses change. The interface table is a function so tests can inject one.
 */
import { type NetworkInterfaceInfo, networkInterfaces } from 'node:os';
import type { Clock } from '../clock.js';
import { classifyIp, IP_CLASS_LABEL, type IpClass, parseIp } from '../domain/ip.js';
import { errorMessage } from '../errors.js';
import type { IpFamily, IpSource, SourceAnswer } from './ip-source.js';
import { CGNAT_WARNING } from './parse-body.js';

/** The shape of `os.networkInterfaces()`. */
export type InterfacesFn = () => Partial<Record<string, NetworkInterfaceInfo[]>>;

interface Candidate {
  iface: string;
  ip: string;
  family: IpFamily;
  cls: IpClass;
}

function familyOf(info: NetworkInterfaceInfo): IpFamily | null {
  // Node 18.0–18.3 reported a number here; later versions 'IPv4' / 'IPv6'.
  const f = info.family as unknown;
  if (f === 'IPv4' || f === 4) return 4;
  if (f === 'IPv6' || f === 6) return 6;
  return null;
}

/** Every non-internal address of the table (or of one interface), classified, in table order. */
function candidates(table: ReturnType<InterfacesFn>, only?: string): Candidate[] {
  const out: Candidate[] = [];
  for (const [iface, infos] of Object.entries(table)) {
    if (only !== undefined && iface !== only) continue;
    for (const info of infos ?? []) {
      const family = familyOf(info);
      if (info.internal || family === null) continue;
      // Link-local IPv6 may carry a zone ("fe80::1%eth0") on some platforms.
      const parsed = parseIp(info.address.split('%')[0] ?? '');
      if (!parsed) continue;
      out.push({ iface, ip: parsed.canonical, family, cls: classifyIp(parsed) });
    }
  }
  return out;
}

/**
 * The global addresses of the table, both families, sorted — what the watcher compares. An
 * address in Cloudflare's range (a WARP tunnel interface) is left out.
 */
export function globalAddresses(table: ReturnType<InterfacesFn>): string[] {
  return candidates(table)
    .filter((c) => c.cls === 'global')
    .map((c) => c.ip)
    .sort();
}

export interface LocalIpSourceOptions {
  /** `local` or `local:IFACE`. */
  id: string;
  interfaces?: InterfacesFn;
}

export class LocalIpSource implements IpSource {
  readonly id: string;
  readonly #iface: string | undefined;
  readonly #interfaces: InterfacesFn;

  constructor(options: LocalIpSourceOptions) {
    this.id = options.id;
    const colon = options.id.indexOf(':');
    this.#iface = colon >= 0 ? options.id.slice(colon + 1) : undefined;
    this.#interfaces = options.interfaces ?? networkInterfaces;
  }

  async query(family: IpFamily, signal: AbortSignal): Promise<SourceAnswer> {
    const fail = (
      kind: 'invalid' | 'aborted' | 'no_address' | 'cgnat',
      reason: string,
      ip?: string,
    ): SourceAnswer => ({
      ok: false,
      source: this.id,
      reason,
      kind,
      ...(ip !== undefined ? { ip } : {}),
    });
    if (signal.aborted) return fail('aborted', 'cancelled');
    const iface = this.#iface;
    if (iface === '') return fail('invalid', 'no interface named after "local:" (use local or local:eth0)');
    let table: ReturnType<InterfacesFn>;
    try {
      table = this.#interfaces();
    } catch (err) {
      return fail('no_address', `could not list this host's interfaces: ${errorMessage(err)}`);
    }
    if (iface !== undefined && !table[iface]) {
      const names = Object.keys(table).sort().join(', ') || 'none';
      return fail('invalid', `no interface named ${iface} on this host (it has: ${names})`);
    }
    const all = candidates(table, iface).filter((c) => c.family === family);
    const found = all.find((c) => c.cls === 'global');
    if (found) return { ok: true, source: this.id, ip: found.ip };
    const where = iface === undefined ? 'any interface' : iface;
    const cgnat = all.find((c) => c.cls === 'cgnat');
    if (cgnat)
      return fail('cgnat', `${cgnat.ip} on ${cgnat.iface} is a CGNAT address: ${CGNAT_WARNING}`, cgnat.ip);
    const seen = all
      .slice(0, 5)
      .map((c) => `${c.ip} on ${c.iface}: ${IP_CLASS_LABEL[c.cls]}`)
      .join('; ');
    return fail(
      'no_address',
      `no global IPv${family} address on ${where}${seen ? ` (found ${seen}${all.length > 5 ? '; …' : ''})` : ''}`,
    );
  }
}

export interface WatchLocalOptions {
  clock: Clock;
  intervalMs: number;
  /** Called with the new sorted list of global addresses whenever it differs from the last one. */
  onChange: (addresses: string[], previous: string[]) => void;
  signal: AbortSignal;
  interfaces?: InterfacesFn;
}

/**
 * Polls the interface table every `intervalMs` until `signal` aborts, and calls `onChange` when
 * the set of global addresses (both families) changes. The first reading is the baseline. A
 * failing table read counts as "no change". Resolves when stopped.
 */
export async function watchLocalAddresses(options: WatchLocalOptions): Promise<void> {
  const { clock, intervalMs, onChange, signal } = options;
  const read = options.interfaces ?? networkInterfaces;
  const snapshot = (): string[] | null => {
    try {
      return globalAddresses(read());
    } catch {
      return null;
    }
  };
  let last = snapshot() ?? [];
  while (!signal.aborted) {
    await clock.sleep(intervalMs, signal);
    if (signal.aborted) break;
    const now = snapshot();
    if (now === null || now.join(',') === last.join(',')) continue;
    const previous = last;
    last = now;
    try {
      onChange(now, previous);
    } catch {
      // The callback's own failure must not stop the watcher.
    }
  }
}
