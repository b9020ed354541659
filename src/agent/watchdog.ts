/**
 * The watchdog's adapters and its start (part of the composition root; only src/agent.ts calls
 * it): the smart plug (`createPlug`, once, at start — an MQTT plug on the agent's connection), the
 * router's address (`router_host`, or the host's gateway, said once when there is none), the probe
 * set from the configuration, and the WatchdogService started on them. Never: decide health or
 * when to cycle (the service and the core do).
 */
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { EventBus } from '../events.js';
import type { Metrics } from '../http/metrics.js';
import type { Logger } from '../log.js';
import type { MqttConnection } from '../mqtt/client.js';
import { createPlug, type PlugDriver, plugMqttOver } from '../plugs/index.js';
import { type RouterHostResolution, resolveRouterHost } from '../probes/gateway.js';
import { buildProbeSet } from '../probes/round.js';
import type { StateHolder } from '../state/holder.js';
import { WatchdogService } from '../watchdog/service.js';
import { meteredProbes } from './metrics.js';

/**
 * Test-only settings of the probes, beyond the configuration (never user keys): the CA the WAN
 * targets' TLS certificates are checked against, the environment `ping` runs with, and where the
 * routing table is read.
 */
export interface ProbeTestOptions {
  /** Trusted CAs for the WAN targets' TLS handshake instead of the system's (a test CA). */
  ca?: string | Buffer | ReadonlyArray<string | Buffer>;
  /** The name sent as SNI and checked, for every WAN target. */
  servername?: string;
  /** The environment `ping` runs with (PATH to stand-ins). Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Instead of /proc/net/route. */
  routeTablePath?: string;
  /** Whether the agent runs in a container (default: /.dockerenv or /run/.containerenv exists). */
  inContainer?: boolean;
}

export interface PlugStartupOptions {
  config: Config;
  clock: Clock;
  /** The agent's MQTT connection (tasmota, esphome over MQTT, zigbee2mqtt, mqtt need it); null without MQTT. */
  mqtt: MqttConnection | null;
  dispatcher?: Dispatcher | undefined;
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
}

/**
 * The configured plug driver, or null (`plug_type: none`, or it could not be built: then said,
 * and the watchdog runs on without power cycles).
 */
export function buildPlug(o: PlugStartupOptions): PlugDriver | null {
  try {
    return createPlug(o.config, {
      clock: o.clock,
      mqtt: o.mqtt ? plugMqttOver(o.mqtt) : undefined,
      dispatcher: o.dispatcher,
      env: o.env,
    });
  } catch (err) {
    o.logger.error(
      { plug_type: o.config.plug_type, err: errorMessage(err) },
      `The smart plug could not be set up: ${errorMessage(err)}. The watchdog keeps probing and alerting, but cannot power-cycle the router until this is fixed and the agent restarted.`,
    );
    return null;
  }
}

/** Decides the router's address (never throws: every failure is `none` with a message). */
export function resolveRouter(o: {
  config: Config;
  env: Readonly<Record<string, string | undefined>>;
  dispatcher?: Dispatcher | undefined;
  probes?: ProbeTestOptions | undefined;
}): Promise<RouterHostResolution> {
  return resolveRouterHost({
    configured: o.config.router_host,
    env: o.env,
    timeoutMs: o.config.http_timeout_ms,
    ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    ...(o.probes?.routeTablePath ? { routeTablePath: o.probes.routeTablePath } : {}),
    ...(o.probes?.inContainer !== undefined ? { inContainer: o.probes.inContainer } : {}),
  });
}

/** Says once where the router probe goes; returns the address to probe ('' = none). */
function routerHostOf(router: RouterHostResolution, logger: Logger): string {
  switch (router.kind) {
    case 'configured':
      if (router.host === '')
        logger.info('The router probe is off (router_host is empty or none): only the WAN is probed.');
      return router.host;
    case 'gateway': {
      const from = router.source === 'supervisor' ? "the Supervisor's network info" : 'the routing table';
      logger.info(
        { router_host: router.host, iface: router.iface, source: router.source },
        `Probing the router at ${router.host}, the default gateway from ${from} (${router.iface}); set router_host to probe another address.`,
      );
      return router.host;
    }
    case 'none':
      logger.warn({ reason: router.reason }, router.message);
      return '';
  }
}

export interface WatchdogStartupOptions {
  config: Config;
  /** Gap between rounds run for `probe` commands (the agent's triggerGapMs option; tests pass 0). */
  probeTriggerGapMs?: number;
  router: RouterHostResolution;
  plug: PlugDriver | null;
  state: StateHolder;
  events: EventBus;
  clock: Clock;
  /** The agent's logger: the watchdog logs as module `watchdog`. */
  logger: Logger;
  /** When the agent started: its start grace counts from here. */
  startedAt: number;
  /** The WAN came back: a DNS cycle at once. */
  onWanRestored: () => unknown;
  /** Probe results and latencies go here (null without the HTTP server). */
  metrics: Metrics | null;
  /** Called once per finished probe: the watchdog loop's liveness. */
  beat: () => void;
  probes?: ProbeTestOptions | undefined;
}

/** Builds the probes and starts the watchdog on them (after the state was loaded). */
export function startWatchdog(o: WatchdogStartupOptions): WatchdogService {
  const { config } = o;
  const logger = o.logger.child({ module: 'watchdog' });
  const probes = buildProbeSet({
    routerHost: routerHostOf(o.router, logger),
    routerProbe: config.router_probe,
    wanTargets: config.wan_targets,
    timeoutMs: config.probe_timeout_ms,
    ...(o.probes?.env ? { env: o.probes.env } : {}),
    ...(o.probes?.ca !== undefined ? { ca: o.probes.ca } : {}),
    ...(o.probes?.servername ? { servername: o.probes.servername } : {}),
  });
  const service = new WatchdogService({
    config,
    probes: meteredProbes(probes, { metrics: o.metrics, beat: o.beat }),
    plug: o.plug,
    state: o.state,
    events: o.events,
    clock: o.clock,
    logger,
    onWanRestored: o.onWanRestored,
    startedAt: o.startedAt,
    ...(o.probeTriggerGapMs !== undefined ? { probeTriggerGapMs: o.probeTriggerGapMs } : {}),
  });
  service.start();
  return service;
}
