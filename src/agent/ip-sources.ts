/**
 * Builds the public-IP sources from `ip_sources` / `ip_sources_v6` (part of the composition root:
 * src/agent.ts calls it, so the detector in src/ip/detector.ts only ever gets sources handed in).
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { sourceLabel } from '../domain/consensus.js';
import { ConfigError } from '../errors.js';
import { HttpIpSource } from '../ip/http-source.js';
import type { IpSource } from '../ip/ip-source.js';
import { type InterfacesFn, LocalIpSource } from '../ip/local-source.js';

export interface BuildSourcesOptions {
  timeoutMs: number;
  /** One dispatcher for every HTTP source and both families (tests, demo): not family-pinned. */
  dispatcher?: Dispatcher;
  /** One dispatcher per family; default: process-wide agents pinned to IPv4 / IPv6 sockets. */
  dispatchers?: { 4: Dispatcher; 6: Dispatcher };
  interfaces?: InterfacesFn;
  clock?: Clock;
}

/**
 * Turns configured source strings into sources: `http(s)://…` → HttpIpSource, `local` /
 * `local:IFACE` → LocalIpSource. Anything else is a ConfigError listing every bad entry.
 */
export function buildSources(urls: readonly string[], options: BuildSourcesOptions): IpSource[] {
  const problems: string[] = [];
  const sources: IpSource[] = [];
  for (const raw of urls) {
    const spec = raw.trim();
    if (spec === 'local' || spec.startsWith('local:')) {
      sources.push(
        new LocalIpSource({ id: spec, ...(options.interfaces ? { interfaces: options.interfaces } : {}) }),
      );
      continue;
    }
    let scheme = '';
    try {
      scheme = new URL(spec).protocol;
    } catch {
      scheme = '';
    }
    if (scheme !== 'http:' && scheme !== 'https:') {
      problems.push(
        `IP source ${JSON.stringify(sourceLabel(raw))} is neither an http(s) URL nor local / local:IFACE; fix ip_sources or ip_sources_v6`,
      );
      continue;
    }
    sources.push(
      new HttpIpSource({
        url: spec,
        timeoutMs: options.timeoutMs,
        ...(options.dispatchers ? { dispatchers: options.dispatchers } : {}),
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
        ...(options.clock ? { clock: options.clock } : {}),
      }),
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return sources;
}
