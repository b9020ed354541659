/**
 * The MQTT face of the agent (SPEC §6): publishes Home Assistant discovery, the retained state
 * document and events, re-publishes after Home Assistant's birth message, and turns command
 * topics into calls on the services it is handed. Never: call Cloudflare or plugs directly.
 */
import type { Clock, Random } from '../clock.js';
import { runParsedCommand } from '../command-handlers.js';
import { type CommandHandlers, type CommandResult, parseCommand, responseTopicProblem } from '../commands.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../log.js';
import type { IncomingMessage, PublishOptions } from '../mqtt/client.js';
import type { StateHolder } from '../state/holder.js';
import type { StatusDocument } from '../status.js';
import {
  buildDeviceDiscovery,
  buildDeviceRemoval,
  type DeviceRemovalMessage,
  type DiscoveryMessage,
  type DiscoveryOptions,
  serializeDiscovery,
} from './discovery.js';

/** The part of MqttConnection the bridge uses (tests may pass a real connection or a recorder). */
export interface MqttPort {
  readonly connected: boolean;
  publish(topic: string, payload: string | Buffer, opts?: PublishOptions): void;
  subscribe(filter: string, handler: (m: IncomingMessage) => void): void;
  onConnect(listener: () => void): () => void;
}

export interface BridgeOptions {
  mqtt: MqttPort;
  discovery: DiscoveryOptions & { enabled: boolean };
  events: EventBus;
  state: StateHolder;
  status: () => StatusDocument;
  commands: CommandHandlers;
  clock: Clock;
  random: Random;
  logger: Logger;
  /** Home Assistant's birth message is answered after a random delay in [min, max] ms. */
  birthDelayMs?: { min: number; max: number };
}

/** How long the echo of our own clearing of a retained command is expected. */
const CLEAR_ECHO_MS = 10_000;

export class MqttBridge {
  readonly #o: BridgeOptions;
  readonly #base: string;
  #lastState: string | null = null;
  #statePending = false;
  #offConnect: (() => void) | null = null;
  #offState: (() => void) | null = null;
  readonly #stop = new AbortController();
  #birthTimer: Promise<void> | null = null;
  /** Command topics whose retained message we just cleared → until when to ignore the echo. */
  readonly #clearing = new Map<string, number>();

  constructor(options: BridgeOptions) {
    this.#o = options;
    this.#base = options.discovery.baseTopic;
  }

  start(): void {
    const { mqtt, events, state, discovery } = this.#o;
    mqtt.subscribe(`${this.#base}/command/+`, (m) => void this.#onCommand(m));
    mqtt.subscribe(`${discovery.discoveryPrefix}/status`, (m) => this.#onHaStatus(m));
    this.#offConnect = mqtt.onConnect(() => {
      this.publishDiscovery();
      this.publishState(true);
    });
    this.#offState = state.subscribe(() => this.#scheduleState());
    events.on('mqtt', (event) => {
      mqtt.publish(`${this.#base}/event`, JSON.stringify(event), { retain: false, qos: 1 });
    });
    if (mqtt.connected) {
      this.publishDiscovery();
      this.publishState(true);
    }
  }

  stop(): void {
    this.#stop.abort();
    this.#offConnect?.();
    this.#offState?.();
    this.#o.events.off('mqtt');
  }

  /**
   * Publishes the device discovery config (always the full payload: this runs on connect and after
   * Home Assistant's birth message). Components published before and gone now (IPv6 turned off,
   * the plug removed) are first sent once reduced to `{platform}`, which is how Home Assistant
   * removes them. With `discovery: false` the device config is removed (empty retained payload).
   */
  publishDiscovery(): void {
    const { mqtt, discovery, state, logger } = this.#o;
    const publish = (m: DiscoveryMessage | DeviceRemovalMessage) =>
      mqtt.publish(m.topic, serializeDiscovery(m), { retain: true, qos: 1 });
    const before = JSON.stringify([state.state.ha_components ?? null, state.state.ha_topics ?? null]);
    this.#clearMovedTopics();
    if (!discovery.enabled) {
      publish(buildDeviceRemoval(discovery));
      delete state.state.ha_components;
      logger.debug('Removed the Home Assistant device (discovery is off).');
    } else {
      const next = buildDeviceDiscovery(discovery);
      const known = state.state.ha_components ?? {};
      const removed = Object.fromEntries(
        Object.entries(known)
          .filter(([key]) => !(key in next.payload.components))
          .map(([key, platform]) => [key, { platform }]),
      );
      if (Object.keys(removed).length > 0) {
        publish(buildDeviceDiscovery(discovery, removed));
        logger.info(
          { removed: Object.keys(removed) },
          `Removed ${Object.keys(removed).length} Home Assistant entit${Object.keys(removed).length === 1 ? 'y' : 'ies'} that no longer apply.`,
        );
      }
      publish(next);
      state.state.ha_components = Object.fromEntries(
        Object.entries(next.payload.components).map(([key, c]) => [key, c.platform]),
      );
      logger.debug({ topic: next.topic }, 'Published Home Assistant discovery.');
    }
    state.state.ha_topics = { discovery: buildDeviceRemoval(discovery).topic, base: this.#base };
    const after = JSON.stringify([state.state.ha_components ?? null, state.state.ha_topics ?? null]);
    if (after !== before) void state.persist();
  }

  /**
   * After a restart with another node_id or discovery_prefix, the device config retained at the
   * old topic would stay a second ("ghost") device in Home Assistant for good: it is cleared, and
   * the components known are forgotten (they belonged to that device). After another
   * mqtt_base_topic, the old retained state and availability are cleared too.
   */
  #clearMovedTopics(): void {
    const { mqtt, discovery, state, logger } = this.#o;
    const last = state.state.ha_topics;
    if (!last) return;
    const clear = (topic: string) => mqtt.publish(topic, '', { retain: true, qos: 1 });
    const current = buildDeviceRemoval(discovery).topic;
    if (last.discovery !== current) {
      clear(last.discovery);
      delete state.state.ha_components;
      logger.info(
        { old: last.discovery, new: current },
        `Removed the Home Assistant device config at ${last.discovery} (node_id or discovery_prefix changed); Home Assistant drops that device, and the entities come back under the new one.`,
      );
    }
    if (last.base !== this.#base) {
      clear(`${last.base}/state`);
      clear(`${last.base}/availability`);
      logger.info(
        { old: last.base, new: this.#base },
        `Cleared the retained state and availability under the old mqtt_base_topic ${last.base}.`,
      );
    }
  }

  /** Publishes the state document (retained) when it changed, or always with `force`. */
  publishState(force = false): void {
    const text = JSON.stringify(this.#o.status());
    if (!force && text === this.#lastState) return;
    this.#lastState = text;
    this.#o.mqtt.publish(`${this.#base}/state`, text, { retain: true, qos: 1 });
  }

  /** Many state changes in one tick make one publish. */
  #scheduleState(): void {
    if (this.#statePending) return;
    this.#statePending = true;
    queueMicrotask(() => {
      this.#statePending = false;
      this.publishState(true);
    });
  }

  #onHaStatus(m: IncomingMessage): void {
    const payload = m.payload.toString().trim();
    // A retained `online` replayed at subscribe time adds nothing: we publish on every connect.
    if (payload !== 'online' || m.retain || this.#birthTimer) return;
    const { min, max } = this.#o.birthDelayMs ?? { min: 500, max: 3000 };
    const delay = Math.round(min + this.#o.random() * (max - min));
    this.#o.logger.info(`Home Assistant came online; re-publishing discovery and state in ${delay} ms.`);
    this.#birthTimer = this.#o.clock.sleep(delay, this.#stop.signal).then(() => {
      this.#birthTimer = null;
      if (this.#stop.signal.aborted) return;
      this.publishDiscovery();
      this.publishState(true);
    });
  }

  async #onCommand(m: IncomingMessage): Promise<void> {
    const name = m.topic.slice(this.#base.length + '/command/'.length);
    if (name === 'result') return; // our own answers
    const { logger } = this.#o;
    if (m.retain) {
      // A retained command is replayed by the broker at every (re)subscribe: acting on it would
      // repeat it at every reconnect (a retained reboot would cycle the router again and again).
      // Never acted on; the agent clears it itself (an empty retained message), and ignores the
      // echo of that clear, which an MQTT 3.1.1 broker forwards as a plain empty command.
      if (m.payload.length === 0 && m.oversizeBytes === undefined) {
        // A clear (ours, echoed with its retain flag on MQTT 5, or someone else's): nothing to do.
        this.#clearing.delete(m.topic);
        return;
      }
      this.#clearing.set(m.topic, this.#o.clock.now() + CLEAR_ECHO_MS);
      this.#o.mqtt.publish(m.topic, '', { retain: true, qos: 1 });
      logger.warn(
        { topic: m.topic },
        `Ignored a retained ${name} command on ${m.topic} and cleared it: commands must never be published with the retain flag (fix the sender).`,
      );
      this.#answer(m, {
        command: name,
        ok: false,
        message: `ignored: the command was retained (and has been cleared); send commands without the retain flag`,
      });
      return;
    }
    const clearing = this.#clearing.get(m.topic);
    if (clearing !== undefined) {
      this.#clearing.delete(m.topic);
      const empty = m.payload.length === 0 && m.oversizeBytes === undefined;
      if (empty && this.#o.clock.now() <= clearing) return; // our own clear, echoed
    }
    const parsed = parseCommand(name, m.payload, m.oversizeBytes);
    const refusedReply = m.responseTopic === undefined ? null : this.#responseTopicProblem(m.responseTopic);
    if (refusedReply !== null) {
      // Not run at all: the sender asked for something the agent will not do, so it learns why
      // (on command/result) before anything happens.
      const transaction = parsed.kind === 'ok' ? parsed.value.transaction : parsed.transaction;
      logger.warn({ topic: m.topic }, `Refused the ${name} command: ${refusedReply}.`);
      this.#answer(m, {
        command: parsed.kind === 'ok' ? parsed.value.command : parsed.command,
        ok: false,
        message: refusedReply,
        ...(transaction !== undefined ? { transaction } : {}),
      });
      return;
    }
    // The same parser, handlers and log lines as the HTTP face (src/command-handlers.ts).
    const { failure: _, ...answer } = await runParsedCommand(this.#o.commands, parsed, {
      logger,
      via: 'mqtt',
    });
    this.#answer(m, answer);
  }

  #responseTopicProblem(topic: string): string | null {
    return responseTopicProblem(topic, {
      baseTopic: this.#base,
      discoveryPrefix: this.#o.discovery.discoveryPrefix,
    });
  }

  /**
   * Publishes the result on `<base>/command/result`, and on the request's MQTT 5 response topic
   * (with its correlation data) unless that topic is refused. Never retained.
   */
  #answer(m: IncomingMessage, result: CommandResult): void {
    const text = JSON.stringify(result);
    const resultTopic = `${this.#base}/command/result`;
    const rt = m.responseTopic;
    const reply = rt !== undefined && this.#responseTopicProblem(rt) === null ? rt : undefined;
    // A response topic of command/result itself gets one message, with the correlation data.
    if (reply !== resultTopic) this.#o.mqtt.publish(resultTopic, text, { retain: false, qos: 1 });
    if (reply !== undefined) {
      this.#o.mqtt.publish(reply, text, {
        retain: false,
        qos: 1,
        ...(m.correlationData ? { correlationData: m.correlationData } : {}),
      });
    }
  }
}
