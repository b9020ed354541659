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

export async function startRecordingBroker(): Promise<RecordingBroker> {
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
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
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

/** A plain mqtt.js client for a fake device, connected (MQTT 3.1.1, as aedes speaks). */
export async function connectDevice(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, clean: true });
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
