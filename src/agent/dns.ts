/**
 * The DNS side's adapters and the reconciler on them (part of the composition root; only
 * src/agent.ts calls it): the Cloudflare client (metered for /metrics), the DoH client, the IP
 * sources and their detection, the heartbeat and the webhook. Tests and `check` may hand in their
 * own provider, resolver or sources. Never: run a cycle (the scheduler does).
 */
import type { Dispatcher } from 'undici';
import type { Clock, Random } from '../clock.js';
import type { Config } from '../config/schema.js';
import { CloudflareClient } from '../dns/cloudflare/client.js';
import type { DnsProvider, DohResolver } from '../dns/dns-provider.js';
import { DohClient } from '../dns/doh.js';
import type { EventBus } from '../events.js';
import type { Metrics } from '../http/metrics.js';
import { detectPublicIp } from '../ip/detector.js';
import type { IpFamily, IpSource } from '../ip/ip-source.js';
import { watchLocalAddresses } from '../ip/local-source.js';
import type { Logger } from '../log.js';
import { Heartbeat } from '../notify/heartbeat.js';
import { Webhook } from '../notify/webhook.js';
import { Reconciler } from '../reconciler/reconciler.js';
import type { StateHolder } from '../state/holder.js';
import { buildSources } from './ip-sources.js';
import { meteredProvider } from './metrics.js';

export interface DnsStartupOptions {
  config: Config;
  logger: Logger;
  clock: Clock;
  random: Random;
  dispatcher?: Dispatcher | undefined;
  /** Overrides (tests, `check`): undefined builds the real one; null = no provider. */
  provider?: DnsProvider | null | undefined;
  doh?: DohResolver | undefined;
  sources?: { 4: IpSource[]; 6: IpSource[] } | undefined;
  state: StateHolder;
  events: EventBus;
  /** The metrics API calls are counted into, once there are any. */
  metrics: () => Metrics | null;
}

export interface DnsParts {
  /** The provider the reconciler uses, metered; null without a token (DoH only, dry-run). */
  provider: DnsProvider | null;
  reconciler: Reconciler;
  heartbeat: Heartbeat | null;
  webhook: Webhook | null;
}

export function buildDns(o: DnsStartupOptions): DnsParts {
  const { config, logger, clock } = o;
  const http = { timeoutMs: config.http_timeout_ms, ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}) };
  const inner =
    o.provider !== undefined
      ? o.provider
      : config.cloudflare_api_token
        ? new CloudflareClient({
            apiUrl: config.cloudflare_api_url,
            token: config.cloudflare_api_token,
            clock,
            logger: logger.child({ module: 'cloudflare' }),
            ...http,
          })
        : null;
  const provider = inner && meteredProvider(inner, o.metrics);
  const doh = o.doh ?? new DohClient({ url: config.doh_url, ...http });
  const sources = o.sources ?? {
    4: buildSources(config.ip_sources, http),
    6: buildSources(config.ip_sources_v6, http),
  };
  const ipLogger = logger.child({ module: 'ip' });
  const detect = (family: IpFamily, signal?: AbortSignal) =>
    detectPublicIp({
      family,
      sources: sources[family],
      quorum: family === 4 ? config.ip_quorum : config.ip_quorum_v6,
      ...(signal ? { signal } : {}),
      logger: ipLogger,
    });
  const reconciler = new Reconciler({
    config,
    provider,
    doh,
    detect,
    state: o.state,
    events: o.events,
    clock,
    random: o.random,
    logger: logger.child({ module: 'dns' }),
  });
  const heartbeat = config.heartbeat_url
    ? new Heartbeat({ url: config.heartbeat_url, logger: logger.child({ module: 'heartbeat' }), ...http })
    : null;
  const webhook = config.webhook_url
    ? new Webhook({ url: config.webhook_url, logger: logger.child({ module: 'webhook' }), ...http })
    : null;
  if (webhook) o.events.on('webhook', (event) => webhook.send(event));
  return { provider, reconciler, heartbeat, webhook };
}

/** With a `local` IP source: a change of this host's addresses runs a DNS cycle at once. */
export function watchLocalSources(o: {
  config: Config;
  clock: Clock;
  logger: Logger;
  signal: AbortSignal;
  trigger: () => unknown;
}): void {
  const { config } = o;
  if (![...config.ip_sources, ...config.ip_sources_v6].some((s) => s === 'local' || s.startsWith('local:'))) {
    return;
  }
  watchLocalAddresses({
    clock: o.clock,
    intervalMs: 10_000,
    signal: o.signal,
    onChange: () => {
      o.logger.info('A local address changed; running a DNS cycle now.');
      void o.trigger();
    },
  });
}
