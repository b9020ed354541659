/**
 * An in-process MQTT broker (aedes on 127.0.0.1, port 0) that records every PUBLISH as the broker
 * received it — topic, payload, QoS and the retain flag the sender set — so tests can assert that
 * plug commands are never retained (subscribers on MQTT 3.1.1 never see that flag on live messages).
 */
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';

export interface BrokerPublish {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  /** The publishing client's id. */
  clientId: string;
}

export interface RecordingBroker {
  url: string;
  published: BrokerPublish[];
  /** Publishes the broker received from clients on topics that `match`. */
  on(match: (topic: string) => boolean): BrokerPublish[];
  /** Every subscription the broker accepted: `clientId topicFilter`. */
  subscriptions: string[];
  close(): Promise<void>;
}

/** `port`: 0 (any free port) unless a test brings a broker back on the port of one it closed. */
export async function startRecordingBroker(port = 0): Promise<RecordingBroker> {
  const aedes = await Aedes.createBroker();
  const published: BrokerPublish[] = [];
  aedes.on('publish', (packet, client) => {
    if (!client) return; // the broker's own $SYS messages
    published.push({
      topic: packet.topic,
      payload: Buffer.from(packet.payload).toString('utf8'),
      qos: packet.qos,
      retain: packet.retain,
      clientId: client.id,
    });
  });
  const subscriptions: string[] = [];
  aedes.on('subscribe', (subs, client) => {
    for (const sub of subs) subscriptions.push(`${client?.id ?? ''} ${sub.topic}`);
  });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `mqtt://127.0.0.1:${bound}`,
    published,
    subscriptions,
    on: (match) => published.filter((p) => match(p.topic)),
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([
        new Promise<void>((resolve) => server.close(() => resolve())),
        new Promise<void>((resolve) => aedes.close(() => resolve())),
      ]);
    },
  };
}

/**
 * A plain mqtt.js client for a fake device, connected (MQTT 3.1.1, as aedes speaks). With
 * `reconnectMs` it reconnects (and subscribes again) when the broker comes back, as real devices do.
 */
export async function connectDevice(url: string, clientId: string, reconnectMs = 0): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    clientId,
    protocolVersion: 4,
    reconnectPeriod: reconnectMs,
    clean: true,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/** Subscribes and waits for the SUBACK, so nothing published afterwards is missed. */
export function subscribed(client: MqttClient, filter: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    client.subscribe(filter, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
  });
}

export function publishAsync(
  client: MqttClient,
  topic: string,
  payload: string,
  opts: { retain?: boolean } = {},
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    client.publish(topic, payload, { qos: 1, retain: opts.retain ?? false }, (err) =>
      err ? reject(err) : resolve(),
    );
  });
}

export function endClient(client: MqttClient): Promise<void> {
  return new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
}
