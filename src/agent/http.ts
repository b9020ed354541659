/**
 * The agent's HTTP face (part of the composition root; only src/agent.ts calls it): the server of
 * src/http/ started on `http_port`/`http_host`/`http_token`, handed what it shows — liveness of the
 * DNS and probe loops, the metrics, the §6 state document (the one MQTT publishes), the status
 * page's files, commands through the same parser and handlers as MQTT, and a live stream of every
 * state change and every event. Never: run a command or build a state of its own.
 */
import type { Clock } from '../clock.js';
import { runCommandPayload } from '../command-handlers.js';
import type { CommandHandlers } from '../commands.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { EventBus } from '../events.js';
import { loadPageAssets } from '../http/assets.js';
import { Liveness, type LoopOptions } from '../http/liveness.js';
import { createMetrics, type Metrics } from '../http/metrics.js';
import type { HttpServerHandle, RunCommand, StaticAsset, SubscribeEvents } from '../http/server.js';
import type { Logger } from '../log.js';
import type { StateHolder } from '../state/holder.js';
import type { StatusDocument } from '../status.js';
import { meterEvents } from './metrics.js';

export interface HttpStartupOptions {
  config: Config;
  /** Add-on mode (SUPERVISOR_TOKEN set): only the Ingress proxy is served. */
  addon: boolean;
  clock: Clock;
  /** The agent's logger (the server logs as module `http`). */
  logger: Logger;
  liveness: Liveness;
  metrics: Metrics;
  /** The §6 state document, as published on `<base>/state`. */
  status: () => StatusDocument;
  state: StateHolder;
  events: EventBus;
  commands: CommandHandlers;
  /** Whether MQTT is connected now (read at each scrape). */
  mqttConnected: () => boolean;
  /** The status page's files; undefined: read from the build (dist/web), none when it is missing. */
  assets?: ReadonlyMap<string, StaticAsset> | null | undefined;
}

let subscriptions = 0;

/** The metrics (fed from the event bus from now on) and the liveness the HTTP server reports. */
export function httpTaps(clock: Clock, events: EventBus): { metrics: Metrics; liveness: Liveness } {
  const metrics = createMetrics();
  meterEvents(events, metrics);
  return { metrics, liveness: new Liveness(clock) };
}

/** The DNS loop as /healthz watches it: its interval at most, and slack for a slow cycle. */
export function dnsLoop(config: Config): LoopOptions {
  return {
    intervalMs: (config.interval_seconds + config.jitter_seconds) * 1000,
    // A cycle waits on many requests, each under its own deadline.
    slackMs: Math.max(60_000, 30 * config.http_timeout_ms),
  };
}

/**
 * Every state change (coalesced per tick, like the MQTT state publish) and every event, to the
 * server's live stream. Each subscription has its own owner name on the bus.
 */
export function liveStream(o: {
  state: StateHolder;
  events: EventBus;
  status: () => StatusDocument;
}): SubscribeEvents {
  return (listener) => {
    const owner = `sse-${++subscriptions}`;
    let pending = false;
    const offState = o.state.subscribe(() => {
      if (pending) return;
      pending = true;
      queueMicrotask(() => {
        pending = false;
        listener({ event: 'state', data: o.status() });
      });
    });
    o.events.on(owner, (event) => listener({ event: 'event', data: event }));
    return () => {
      offState();
      o.events.off(owner);
    };
  };
}

/** The status page's files, or undefined (said once) when the build has none. */
async function pageAssets(log: Logger): Promise<ReadonlyMap<string, StaticAsset> | undefined> {
  try {
    return await loadPageAssets();
  } catch (err) {
    log.info({ err: errorMessage(err) }, errorMessage(err));
    return undefined;
  }
}

/**
 * Starts the HTTP server; null when it could not listen (said, with what to change: DNS and the
 * watchdog run on without it).
 */
export async function startHttp(o: HttpStartupOptions): Promise<HttpServerHandle | null> {
  const { config } = o;
  const log = o.logger.child({ module: 'http' });
  const assets = o.assets === undefined ? await pageAssets(log) : (o.assets ?? undefined);
  const metrics: Metrics = {
    ...o.metrics,
    observeState: (doc) => {
      o.metrics.observeState(doc);
      o.metrics.mqttConnected(o.mqttConnected());
    },
  };
  const commands: RunCommand = (name, payload) =>
    runCommandPayload(o.commands, name, Buffer.from(payload, 'utf8'), { logger: log, via: 'http' });
  // The server's modules are loaded only with http_port: a faster start without (docs/benchmarks.md).
  const { startHttpServer } = await import('../http/server.js');
  try {
    return await startHttpServer({
      host: config.http_host,
      port: config.http_port,
      token: config.http_token,
      addon: o.addon,
      logger: o.logger,
      clock: o.clock,
      probes: o.liveness,
      state: o.status,
      metrics,
      commands,
      events: liveStream(o),
      ...(assets ? { assets } : {}),
    });
  } catch (err) {
    log.error(
      { err: errorMessage(err) },
      `${errorMessage(err)} DNS and the watchdog keep running without the HTTP server (no /healthz, /metrics or status page).`,
    );
    return null;
  }
}
