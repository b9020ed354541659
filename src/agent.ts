import { buildDns, watchLocalSources } from './agent/dns.js';
import { dnsLoop, httpTaps, startHttp } from './agent/http.js';
import { buildBridge, connectMqtt } from './agent/mqtt-startup.js';
import type { AgentOptions, StopOutcome } from './agent/options.js';
import { buildPlug, resolveRouter, startWatchdog } from './agent/watchdog.js';
import { type Clock, type Random, systemClock, systemRandom } from './clock.js';
import { commandHandlers } from './command-handlers.js';
import type { CommandHandlers } from './commands.js';
import type { Config } from './config/schema.js';
import type { DnsProvider } from './dns/dns-provider.js';
import { errorMessage } from './errors.js';
import { EventBus } from './events.js';
import type { MqttBridge } from './ha/bridge.js';
import type { Liveness } from './http/liveness.js';
import type { Metrics } from './http/metrics.js';
import type { HttpServerHandle } from './http/server.js';
import type { Logger } from './log.js';
import type { EmbeddedBroker } from './mqtt/broker.js';
import type { MqttConnection } from './mqtt/client.js';
import type { Heartbeat } from './notify/heartbeat.js';
import type { Webhook } from './notify/webhook.js';
import type { PlugDriver } from './plugs/plug-driver.js';
import type { RouterHostResolution } from './probes/gateway.js';
import type { CycleResult, Reconciler } from './reconciler/reconciler.js';
import { Scheduler } from './scheduler.js';
import { StateHolder } from './state/holder.js';
import { freshState, type PersistedState, persistedStateSchema } from './state/schema.js';
import { JsonFileStore } from './state/store.js';
import { buildStatus, type StatusDocument } from './status.js';
import { VERSION } from './version.js';
import { savedWatchdogStatus } from './watchdog/sections.js';
import type { WatchdogService } from './watchdog/service.js';

export type { AgentOptions, StopOutcome } from './agent/options.js';

/** The loops /healthz watches (src/http/liveness.ts). */
const DNS_LOOP = 'DNS';
const PROBE_LOOP = 'probe';

export class Agent {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly events: EventBus;
  readonly reconciler: Reconciler;
  readonly scheduler: Scheduler;
  /** The DNS provider the reconciler uses (counting its calls for /metrics once the agent runs). */
  readonly provider: DnsProvider | null;
  /** Command handlers both faces call (src/command-handlers.ts): the MQTT bridge and the HTTP server. */
  readonly commands: CommandHandlers;
  #state: StateHolder | null = null;
  readonly #heartbeat: Heartbeat | null;
  readonly #webhook: Webhook | null;
  readonly #cycleAbort = new AbortController();
  readonly #stopWatch = new AbortController();
  readonly #random: Random;
  readonly #env: Readonly<Record<string, string | undefined>>;
  #lastCycle: CycleResult | null = null;
  #started = false;
  #stopping = false;
  #startedAt: number;
  readonly #options: AgentOptions;
  #broker: EmbeddedBroker | null = null;
  #mqtt: MqttConnection | null = null;
  #bridge: MqttBridge | null = null;
  #plug: PlugDriver | null = null;
  #watchdog: WatchdogService | null = null;
  #metrics: Metrics | null = null;
  #liveness: Liveness | null = null;
  #http: HttpServerHandle | null = null;
  #stopped: Promise<StopOutcome> | null = null;

  private constructor(options: AgentOptions, state: StateHolder) {
    const { config, logger } = options;
    this.config = config;
    this.logger = logger;
    this.clock = options.clock ?? systemClock;
    this.#options = options;
    this.#startedAt = this.clock.now();
    this.#random = options.random ?? systemRandom;
    this.#env = options.env ?? process.env;
    this.#state = state;
    this.events = new EventBus({ logger: logger.child({ module: 'events' }), now: () => this.clock.now() });
    const dns = buildDns({
      config,
      logger,
      clock: this.clock,
      random: this.#random,
      dispatcher: options.dispatcher,
      provider: options.provider,
      doh: options.doh,
      sources: options.sources,
      state,
      events: this.events,
      metrics: () => this.#metrics,
    });
    this.provider = dns.provider;
    this.reconciler = dns.reconciler;
    this.#heartbeat = dns.heartbeat;
    this.#webhook = dns.webhook;

    this.scheduler = new Scheduler({
      clock: this.clock,
      random: this.#random,
      intervalMs: config.interval_seconds * 1000,
      jitterMs: config.jitter_seconds * 1000,
      ...(options.triggerGapMs !== undefined ? { triggerGapMs: options.triggerGapMs } : {}),
      logger: logger.child({ module: 'scheduler' }),
      run: async (reasons, records) => {
        this.#liveness?.beat(DNS_LOOP);
        const result = await this.reconciler.runCycle({
          reason: reasons.join(', '),
          ...(records ? { records } : {}),
          signal: this.#cycleAbort.signal,
        });
        this.#lastCycle = result;
        this.#metrics?.cycle(result.ok ? 'ok' : 'failed');
        this.#liveness?.beat(DNS_LOOP);
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
      watchdog: () => this.#watchdog?.commands ?? null,
    });
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
    return new Agent(options, state);
  }

  get state(): StateHolder {
    return this.#state!;
  }

  get lastCycle(): CycleResult | null {
    return this.#lastCycle;
  }

  /** The §6 state document, as published on `<base>/state` and served on `/state`. */
  status(): StatusDocument {
    // Before the watchdog runs (it waits for the router's address), the saved sections speak.
    const runtime =
      this.#watchdog?.status() ??
      (this.#started
        ? savedWatchdogStatus(this.state.state, this.config, this.#startedAt, this.clock.now())
        : undefined);
    return buildStatus({
      state: this.state.state,
      mode: this.config.mode,
      version: VERSION,
      startedAt: this.#startedAt,
      ipVersion: this.config.ip_version,
      ...(runtime ? { runtime } : {}),
    });
  }

  /** The MQTT connection, once started (null without MQTT). */
  get mqtt(): MqttConnection | null {
    return this.#mqtt;
  }

  get bridge(): MqttBridge | null {
    return this.#bridge;
  }

  /** The router/WAN watchdog, once started. */
  get watchdog(): WatchdogService | null {
    return this.#watchdog;
  }

  /** The HTTP server, once listening (null with `http_port: 0` or when it could not listen). */
  get http(): HttpServerHandle | null {
    return this.#http;
  }

  /**
   * Starts the DNS loop (first cycle at once), the MQTT face, the router/WAN watchdog and the HTTP
   * server (with `http_port`). Resolves once MQTT is connected or has been given a few seconds (it
   * keeps retrying in the background) and the rest runs. A stop meanwhile ends the start early.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { config, clock } = this;
    this.#startedAt = clock.now();
    if (config.http_port > 0) {
      ({ metrics: this.#metrics, liveness: this.#liveness } = httpTaps(clock, this.events));
      this.#liveness.register(DNS_LOOP, dnsLoop(config));
    }
    this.#startDns();
    const dispatcher = this.#options.dispatcher;
    // The router's address is looked up (Supervisor, routing table) while MQTT connects.
    const router = resolveRouter({ config, env: this.#env, dispatcher, probes: this.#options.probes });
    // The watchdog does not wait for the broker to answer: after a restart mid-cycle its first act
    // is switching the plug on (SPEC §5), which an unreachable broker must not delay.
    let connecting: Promise<void> | null = null;
    if (this.#options.mqtt !== false) connecting = (await this.#startMqtt())?.connected ?? null;
    else
      this.#plug = buildPlug({ config, clock, mqtt: null, dispatcher, env: this.#env, logger: this.logger });
    if (this.#stopping) return;
    this.#startWatchdog(await router);
    if (this.#stopping) return;
    if (this.#metrics && this.#liveness) await this.#startHttpServer();
    await connecting;
  }

  async #startHttpServer(): Promise<void> {
    const { config, clock } = this;
    if (!this.#metrics || !this.#liveness) return;
    const server = await startHttp({
      config,
      addon: Boolean(this.#env.SUPERVISOR_TOKEN?.trim()),
      clock,
      logger: this.logger,
      liveness: this.#liveness,
      metrics: this.#metrics,
      status: () => this.status(),
      state: this.state,
      events: this.events,
      commands: this.commands,
      mqttConnected: () => this.#mqtt?.connected ?? false,
      assets: this.#options.pageAssets,
    });
    if (this.#stopping) await server?.close();
    else this.#http = server;
  }

  /** Finds the broker, builds the connection, the plug on it (MQTT plugs need it) and the bridge. */
  /** Resolves once the connection is built; `connected` resolves when MQTT is connected or has been given a few seconds. */
  async #startMqtt(): Promise<{ connected: Promise<void> } | null> {
    const { config, clock, logger } = this;
    const dispatcher = this.#options.dispatcher;
    const link = await connectMqtt({
      config,
      ...(this.#options.mqtt ? { target: this.#options.mqtt } : {}),
      env: this.#env,
      ...(dispatcher ? { dispatcher } : {}),
      logger,
    });
    if (this.#stopping) {
      await link?.broker?.close();
      return null;
    }
    this.#broker = link?.broker ?? null;
    this.#mqtt = link?.connection ?? null;
    this.#plug = buildPlug({ config, clock, mqtt: this.#mqtt, dispatcher, env: this.#env, logger });
    if (!this.#mqtt) return null;
    this.#bridge = buildBridge({
      config,
      connection: this.#mqtt,
      watchdog: true,
      hasPlug: this.#plug !== null,
      events: this.events,
      state: this.state,
      status: () => this.status(),
      commands: this.commands,
      clock,
      random: this.#random,
      logger,
    });
    this.#bridge.start();
    return { connected: this.#mqtt.start() };
  }

  #startWatchdog(router: RouterHostResolution): void {
    const { config } = this;
    this.#liveness?.register(PROBE_LOOP, { intervalMs: config.probe_interval_seconds * 1000 });
    this.#watchdog = startWatchdog({
      config,
      router,
      plug: this.#plug,
      state: this.state,
      events: this.events,
      clock: this.clock,
      logger: this.logger,
      startedAt: this.#startedAt,
      onWanRestored: () => this.sync('wan restored'),
      metrics: this.#metrics,
      beat: () => this.#liveness?.beat(PROBE_LOOP),
      probes: this.#options.probes,
      ...(this.#options.triggerGapMs !== undefined ? { probeTriggerGapMs: this.#options.triggerGapMs } : {}),
    });
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
    watchLocalSources({
      config,
      clock: this.clock,
      logger,
      signal: this.#stopWatch.signal,
      trigger: () => this.scheduler.trigger('local address change'),
    });
  }

  /** Runs a DNS cycle now (a command, the WAN coming back); resolves when it has finished. */
  sync(reason: string, records?: readonly string[]): Promise<boolean> {
    return this.scheduler.trigger(reason, records);
  }

  /**
   * Stops everything: the DNS loop and the watchdog (an agent-timed power cycle in flight switches
   * the plug on first), in-flight requests (abandoned after `graceMs`), optional record deletion,
   * the HTTP server, a last state save, `offline`, the broker and the heartbeat's exit ping.
   * Never throws.
   */
  stop(options: { graceMs?: number; exitCode?: number } = {}): Promise<StopOutcome> {
    this.#stopped ??= this.#stop(options.graceMs ?? 2000, options.exitCode ?? 0);
    return this.#stopped;
  }

  async #stop(graceMs: number, exitCode: number): Promise<StopOutcome> {
    this.#stopping = true;
    this.#stopWatch.abort();
    const stopping = this.scheduler.stop();
    const watchdog = this.#watchdog?.stop();
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
    // The plug is switched on (agent-timed cycle) while MQTT is still up; then it lets go.
    await watchdog;
    this.#plug?.close?.();
    await this.#http?.close();
    const saved = (await this.#state?.persist({ force: true })) ?? true;
    // Last state, then `offline`, then the broker (if we run it).
    this.#bridge?.publishState(true);
    this.#bridge?.stop();
    await this.#mqtt?.stop();
    await this.#broker?.close();
    await this.#webhook?.flush();
    await this.#heartbeat?.ping('exit', { exitCode });
    return { saved };
  }
}
