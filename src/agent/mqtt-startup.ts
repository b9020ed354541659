/**
 * The agent's MQTT start-up (part of the composition root; only src/agent.ts calls it), in two
 * steps: `connectMqtt` finds the broker (the configured mqtt_url, the Home Assistant Supervisor's
 * Mosquitto add-on, or the embedded broker, see src/supervisor.ts), starts the embedded one when
 * that is the answer, and builds the MQTT connection (not started: the agent builds the smart plug
 * on it first); `buildBridge` builds the Home Assistant bridge, once the agent knows whether a plug
 * was built. Without a broker DNS and the watchdog keep running: the reason is logged with what
 * to set. Never: publish or subscribe itself (the bridge and the plug drivers do).
 */
import type { Dispatcher } from 'undici';
import type { Clock, Random } from '../clock.js';
import type { CommandHandlers } from '../commands.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import type { EventBus } from '../events.js';
import { MqttBridge } from '../ha/bridge.js';
import { discoveryOptionsFromConfig } from '../ha/discovery.js';
import type { Logger } from '../log.js';
import type { EmbeddedBroker } from '../mqtt/broker.js';
import { MqttConnection } from '../mqtt/client.js';
import { MAX_PACKET_BYTES } from '../mqtt/packet-guard.js';
import type { StateHolder } from '../state/holder.js';
import type { StatusDocument } from '../status.js';
import { type MqttTarget, resolveMqttTarget } from '../supervisor.js';
import { SUPPORT_URL, VERSION } from '../version.js';

export interface MqttStartupOptions {
  config: Config;
  /** A known target skips the Supervisor / embedded-broker resolution (tests). */
  target?: MqttTarget;
  /** Environment for add-on detection (SUPERVISOR_TOKEN). */
  env: Readonly<Record<string, string | undefined>>;
  /** For the Supervisor API request (tests pass loopback-only agents). */
  dispatcher?: Dispatcher;
  /** The agent's logger: the connection logs as module `mqtt`. */
  logger: Logger;
}

/** What `connectMqtt` built; the agent starts the connection after the bridge, and stops both. */
export interface MqttLink {
  /** The embedded broker when this process runs it. */
  broker: EmbeddedBroker | null;
  connection: MqttConnection;
}

export interface BridgeStartupOptions {
  config: Config;
  connection: MqttConnection;
  /** The router/WAN watchdog runs: publish its entities and device triggers. */
  watchdog: boolean;
  /** A plug driver was built: publish the Reboot router button. */
  hasPlug: boolean;
  events: EventBus;
  state: StateHolder;
  status: () => StatusDocument;
  commands: CommandHandlers;
  clock: Clock;
  random: Random;
  /** The agent's logger: the bridge logs as module `ha`. */
  logger: Logger;
}

/** Finds or starts the broker and builds the connection (not started); null (logged) without one. */
export async function connectMqtt(o: MqttStartupOptions): Promise<MqttLink | null> {
  const { config } = o;
  const log = o.logger.child({ module: 'mqtt' });
  let target: MqttTarget;
  try {
    target =
      o.target ??
      (await resolveMqttTarget({
        config,
        env: o.env,
        logger: log,
        ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
      }));
  } catch (err) {
    log.error(
      { err: errorMessage(err) },
      `Could not find the MQTT broker: ${errorMessage(err)}. DNS keeps running; set mqtt_url to connect to a broker.`,
    );
    return null;
  }
  let broker: EmbeddedBroker | null = null;
  let url: string;
  let username = config.mqtt_username;
  let password = config.mqtt_password;
  if (target.kind === 'embedded') {
    try {
      // aedes is loaded only when this process runs the broker: a faster start with an external
      // one (docs/benchmarks.md).
      const { startEmbeddedBroker } = await import('../mqtt/broker.js');
      broker = await startEmbeddedBroker({
        host: target.host,
        port: target.port,
        ...(username ? { username } : {}),
        ...(password ? { password } : {}),
        logger: log,
      });
    } catch (err) {
      log.error(
        { err: errorMessage(err) },
        `Could not start the embedded MQTT broker: ${errorMessage(err)}. DNS keeps running; set mqtt_url to use another broker, or embedded_broker_port to use another port.`,
      );
      return null;
    }
    url = broker.url;
  } else {
    url = target.url;
    username = target.username;
    password = target.password;
  }
  const connection = new MqttConnection({
    url,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    ...(config.mqtt_ca_file ? { caFile: config.mqtt_ca_file } : {}),
    clientId: config.mqtt_client_id,
    availabilityTopic: `${config.mqtt_base_topic}/availability`,
    // The embedded broker (aedes) speaks MQTT 3.1.1 only: skip the refused MQTT 5 attempt. It
    // closes the connection of a client that sends a packet over its cap: never send one.
    ...(target.kind === 'embedded' && !broker?.reused
      ? { protocolVersion: 4 as const, maxOutgoingBytes: MAX_PACKET_BYTES }
      : {}),
    logger: log,
  });
  return { broker, connection };
}

/** The Home Assistant bridge over the connection (not started). */
export function buildBridge(o: BridgeStartupOptions): MqttBridge {
  return new MqttBridge({
    mqtt: o.connection,
    discovery: {
      ...discoveryOptionsFromConfig(o.config, { version: VERSION, supportUrl: SUPPORT_URL }),
      watchdog: o.watchdog,
      hasPlug: o.hasPlug,
      enabled: o.config.discovery,
    },
    events: o.events,
    state: o.state,
    status: o.status,
    commands: o.commands,
    clock: o.clock,
    random: o.random,
    logger: o.logger.child({ module: 'ha' }),
  });
}
