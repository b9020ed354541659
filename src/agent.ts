/**
 * The composition root: builds the running agent from a validated configuration. Adapters are
 * created here and only here (with the two helpers in src/agent/: the IP sources and the MQTT
 * start-up), then handed to the services. Wiring only: what a command does lives in
 * src/command-handlers.ts, every decision in the services and the core. `main.ts` adds process
 * concerns (signals, exit codes); nothing but main, cli, check and demo imports this file.
 */
import type { Dispatcher } from 'undici';
import { buildSources } from './agent/ip-sources.js';
import { buildMqtt } from './agent/mqtt-startup.js';
import { type Clock, type Random, systemClock, systemRandom } from './clock.js';
import { commandHandlers } from './command-handlers.js';
import type { CommandHandlers } from './commands.js';
import type { Config } from './config/schema.js';
import { CloudflareClient } from './dns/cloudflare/client.js';
import type { DnsProvider, DohResolver } from './dns/dns-provider.js';
import { DohClient } from './dns/doh.js';
import { errorMessage } from './errors.js';
import { EventBus } from './events.js';
import type { MqttBridge } from './ha/bridge.js';
import { detectPublicIp } from './ip/detector.js';
import type { IpFamily, IpSource } from './ip/ip-source.js';
import { watchLocalAddresses } from './ip/local-source.js';
import type { Logger } from './log.js';
import type { EmbeddedBroker } from './mqtt/broker.js';
import type { MqttConnection } from './mqtt/client.js';
import { Heartbeat } from './notify/heartbeat.js';
import { Webhook } from './notify/webhook.js';
import { type CycleResult, Reconciler } from './reconciler/reconciler.js';
import { Scheduler } from './scheduler.js';
import { StateHolder } from './state/holder.js';
import { freshState, type PersistedState, persistedStateSchema } from './state/schema.js';
import { JsonFileStore, type StateStore } from './state/store.js';
import { buildStatus, type StatusDocument } from './status.js';
import type { MqttTarget } from './supervisor.js';
import { VERSION } from './version.js';

export interface AgentOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  random?: Random;
  /** Used for every outbound HTTP request (tests pass loopback-only agents). */
  dispatcher?: Dispatcher;
  /** Overrides the state file store (tests); by default a JsonFileStore in state_dir. */
  store?: StateStore<PersistedState> | null;
  /** Overrides adapters (tests, `check`). */
  provider?: DnsProvider | null;
  doh?: DohResolver;
  sources?: { 4: IpSource[]; 6: IpSource[] };
  /** false: no MQTT at all (check); a target: skip the Supervisor/embedded resolution (tests). */
  mqtt?: false | MqttTarget;
  /** Environment for add-on detection (SUPERVISOR_TOKEN); defaults to process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Minimum gap between triggered DNS cycles (default 5 s, DEFAULT_TRIGGER_GAP_MS; tests pass 0). */
  triggerGapMs?: number;
}

export class Agent {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly events: EventBus;
  readonly reconciler: Reconciler;
  readonly scheduler: Scheduler;
  readonly provider: DnsProvider | null;
  /** Command handlers the MQTT bridge calls (src/command-handlers.ts). */
  readonly commands: CommandHandlers;
  #state: StateHolder | null = null;
  readonly #store: StateStore<PersistedState> | null;
  readonly #heartbeat: Heartbeat | null;
  readonly #webhook: Webhook | null;
  readonly #cycleAbort = new AbortController();
  readonly #stopWatch = new AbortController();
  #lastCycle: CycleResult | null = null;
  #started = false;
  #startedAt: number;
  readonly #options: AgentOptions;
  #broker: EmbeddedBroker | null = null;
  #mqtt: MqttConnection | null = null;
  #bridge: MqttBridge | null = null;
  #stopped: Promise<void> | null = null;

  private constructor(options: AgentOptions, state: StateHolder, store: StateStore<PersistedState> | null) {
    const { config, logger } = options;
    this.config = config;
    this.logger = logger;
    this.clock = options.clock ?? systemClock;
    this.#options = options;
    this.#startedAt = this.clock.now();
    const random = options.random ?? systemRandom;
    this.#state = state;
    this.#store = store;
    this.events = new EventBus({ logger: logger.child({ module: 'events' }), now: () => this.clock.now() });
    const dispatcher = options.dispatcher;
    const http = { timeoutMs: config.http_timeout_ms, ...(dispatcher ? { dispatcher } : {}) };

    this.provider =
      options.provider !== undefined
        ? options.provider
        : config.cloudflare_api_token
          ? new CloudflareClient({
              apiUrl: config.cloudflare_api_url,
              token: config.cloudflare_api_token,
              clock: this.clock,
              logger: logger.child({ module: 'cloudflare' }),
              ...http,
            })
          : null;
    const doh = options.doh ?? new DohClient({ url: config.doh_url, ...http });
    const sources = options.sources ?? {
      4: buildSources(config.ip_sources, {
        timeoutMs: config.http_timeout_ms,
        ...(dispatcher ? { dispatcher } : {}),
      }),
      6: buildSources(config.ip_sources_v6, {
        timeoutMs: config.http_timeout_ms,
        ...(dispatcher ? { dispatcher } : {}),
      }),
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

    this.reconciler = new Reconciler({
      config,
      provider: this.provider,
      doh,
      detect,
      state,
      events: this.events,
      clock: this.clock,
      random,
      logger: logger.child({ module: 'dns' }),
    });

    this.#heartbeat = config.heartbeat_url
      ? new Heartbeat({ url: config.heartbeat_url, logger: logger.child({ module: 'heartbeat' }), ...http })
      : null;
    this.#webhook = config.webhook_url
      ? new Webhook({ url: config.webhook_url, logger: logger.child({ module: 'webhook' }), ...http })
      : null;
    if (this.#webhook) {
      const webhook = this.#webhook;
      this.events.on('webhook', (event) => webhook.send(event));
    }

    this.scheduler = new Scheduler({
      clock: this.clock,
      random,
      intervalMs: config.interval_seconds * 1000,
      jitterMs: config.jitter_seconds * 1000,
      ...(options.triggerGapMs !== undefined ? { triggerGapMs: options.triggerGapMs } : {}),
      logger: logger.child({ module: 'scheduler' }),
      run: async (reasons, records) => {
        const result = await this.reconciler.runCycle({
          reason: reasons.join(', '),
          ...(records ? { records } : {}),
          signal: this.#cycleAbort.signal,
        });
        this.#lastCycle = result;
        if (this.#heartbeat && !this.#cycleAbort.signal.aborted) {
          await this.#heartbeat.ping(result.ok ? 'success' : 'fail', {
            message: result.ok ? 'OK' : result.summary.slice(0, 5).join('; '),
          });
        }
        return { retryAt: result.retryAt };
      },
    });

    this.commands = commandHandlers({
      config,
      sync: (reason, records) => this.sync(reason, records),
      lastCycle: () => this.#lastCycle,
      // The router/WAN watchdog is not wired yet: its three commands are refused.
      watchdog: null,
    });

    if (
      [...config.ip_sources, ...config.ip_sources_v6].some((s) => s === 'local' || s.startsWith('local:'))
    ) {
      watchLocalAddresses({
        clock: this.clock,
        intervalMs: 10_000,
        signal: this.#stopWatch.signal,
        onChange: () => {
          logger.info('A local address changed; running a DNS cycle now.');
          void this.scheduler.trigger('local address change');
        },
      });
    }
  }

  /** Loads state (recovering from a corrupt file) and builds the agent. */
  static async create(options: AgentOptions): Promise<Agent> {
    const { config, logger } = options;
    const store =
      options.store !== undefined
        ? options.store
        : new JsonFileStore<PersistedState>({
            dir: config.state_dir,
            schema: persistedStateSchema as never,
            fresh: freshState,
            logger: logger.child({ module: 'state' }),
          });
    const loaded = store ? await store.load() : { state: freshState(), outcome: 'new' as const };
    const clock = options.clock ?? systemClock;
    const state = new StateHolder(loaded.state, store, logger.child({ module: 'state' }), () => clock.now());
    return new Agent(options, state, store);
  }

  get state(): StateHolder {
    return this.#state!;
  }

  get lastCycle(): CycleResult | null {
    return this.#lastCycle;
  }

  /** The §6 state document, as published on `<base>/state` and served on `/state`. */
  status(): StatusDocument {
    return buildStatus({
      state: this.state.state,
      mode: this.config.mode,
      version: VERSION,
      startedAt: this.#startedAt,
      ipVersion: this.config.ip_version,
    });
  }

  /** The MQTT connection, once started (null without MQTT). */
  get mqtt(): MqttConnection | null {
    return this.#mqtt;
  }

  get bridge(): MqttBridge | null {
    return this.#bridge;
  }

  /**
   * Starts the DNS loop (first cycle at once) and the MQTT face. Resolves once MQTT is connected
   * or has been given a few seconds (it keeps retrying in the background).
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    this.#startedAt = this.clock.now();
    this.#startDns();
    if (this.#options.mqtt !== false) await this.#startMqtt();
  }

  async #startMqtt(): Promise<void> {
    const parts = await buildMqtt({
      config: this.config,
      ...(this.#options.mqtt ? { target: this.#options.mqtt } : {}),
      env: this.#options.env ?? process.env,
      ...(this.#options.dispatcher ? { dispatcher: this.#options.dispatcher } : {}),
      // The router/WAN watchdog is not built yet: publish none of its entities.
      watchdog: false,
      events: this.events,
      state: this.state,
      status: () => this.status(),
      commands: this.commands,
      clock: this.clock,
      random: this.#options.random ?? systemRandom,
      logger: this.logger,
    });
    if (!parts) return;
    this.#broker = parts.broker;
    this.#mqtt = parts.connection;
    this.#bridge = parts.bridge;
    this.#bridge.start();
    await this.#mqtt.start();
  }

  #startDns(): void {
    const { config, logger } = this;
    logger.info(
      {
        mode: config.mode,
        records: config.records.map((r) => r.name),
        ip_version: config.ip_version,
        interval_seconds: config.interval_seconds,
      },
      config.mode === 'dry-run'
        ? `Started in dry-run: DNS changes are reported, never written${config.cloudflare_api_token ? '' : ' (no cloudflare_api_token set)'}.`
        : `Started: keeping ${config.records.length} record(s) in sync every ${config.interval_seconds} s.`,
    );
    if (config.records.length === 0) {
      logger.warn('No records are configured: set records (e.g. RECORDS=home.example.com) to manage DNS.');
    }
    void this.#heartbeat?.ping('start');
    this.scheduler.start();
  }

  /** Runs a DNS cycle now (a command, the WAN coming back); resolves when it has finished. */
  sync(reason: string, records?: readonly string[]): Promise<boolean> {
    return this.scheduler.trigger(reason, records);
  }

  /**
   * Stops everything: timers, in-flight requests (abandoned after `graceMs`), optional record
   * deletion, a last state save and the heartbeat's exit ping. Never throws.
   */
  stop(options: { graceMs?: number; exitCode?: number } = {}): Promise<void> {
    this.#stopped ??= this.#stop(options.graceMs ?? 2000, options.exitCode ?? 0);
    return this.#stopped;
  }

  async #stop(graceMs: number, exitCode: number): Promise<void> {
    this.#stopWatch.abort();
    const stopping = this.scheduler.stop();
    // Give an in-flight cycle a moment to finish its writes, then abandon its requests.
    const timer = setTimeout(() => this.#cycleAbort.abort(), graceMs);
    await stopping;
    clearTimeout(timer);
    this.#cycleAbort.abort();
    try {
      // Budget (SPEC §7, exit within 5 s): cycle grace ≤ 1.5 s + deletions ≤ 1 s + MQTT stop ≤ 2 s.
      if (this.config.delete_on_stop)
        await this.reconciler.deleteManaged(AbortSignal.timeout(Math.min(graceMs, 1000)));
    } catch (err) {
      this.logger.warn({ err: errorMessage(err) }, `delete_on_stop did not finish: ${errorMessage(err)}`);
    }
    await this.#state?.persist({ force: true });
    // Last state, then `offline`, then the broker (if we run it).
    this.#bridge?.publishState(true);
    this.#bridge?.stop();
    await this.#mqtt?.stop();
    await this.#broker?.close();
    await this.#webhook?.flush();
    await this.#heartbeat?.ping('exit', { exitCode });
    void this.#store;
  }
}
