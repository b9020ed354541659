/**
 * MqttConnection against a real Mosquitto (MQTT 5) on 127.0.0.1: will and availability, MQTT 5
 * request/response properties, password logins, TLS with a generated CA, WebSockets. Skipped with
 * the reason in the test title when Mosquitto (or openssl, for TLS) is not installed.
 */
import { readFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttBridge } from '../src/ha/bridge.js';
import { discoveryOptionsFromConfig } from '../src/ha/discovery.js';
import { type IncomingMessage, MqttConnection, type MqttConnectionOptions } from '../src/mqtt/client.js';
import {
  mosquittoAvailable,
  mosquittoPasswdAvailable,
  mosquittoSkipReason,
  opensslAvailable,
  startMosquitto,
} from './fakes/mosquitto.js';
import { logSink } from './helpers/log-sink.js';
import { rawPublish } from './helpers/raw-mqtt.js';
import { makeWorld } from './helpers/world.js';

const AVAIL = 'dw-test/availability';
const skipAll = !mosquittoAvailable();
const skipNote = skipAll ? ` (skipped: ${mosquittoSkipReason()})` : '';
if (skipAll) console.warn(`Mosquitto tests skipped: ${mosquittoSkipReason()}`);

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function until(cond: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function broker(options: Parameters<typeof startMosquitto>[0] = {}) {
  const m = await startMosquitto(options);
  cleanups.push(() => m.stop());
  return m;
}

function connection(url: string, over: Partial<MqttConnectionOptions> = {}) {
  const sink = logSink();
  const conn = new MqttConnection({
    url,
    clientId: `agent-${Math.random().toString(36).slice(2, 8)}`,
    availabilityTopic: AVAIL,
    reconnectPeriodMs: 50,
    maxReconnectPeriodMs: 200,
    connectWaitMs: 3000,
    logger: sink.logger,
    ...over,
  });
  cleanups.push(() => conn.stop());
  return { conn, sink };
}

async function observe(url: string, topics: string[], extra: mqtt.IClientOptions = {}) {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0, ...extra });
  const seen: Array<{ topic: string; payload: string; retain: boolean; packet: mqtt.IPublishPacket }> = [];
  client.on('message', (topic, payload, packet) => {
    seen.push({ topic, payload: payload.toString(), retain: packet.retain, packet });
  });
  if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });
  cleanups.push(() => client.endAsync(true));
  return { client, seen };
}

/** A loopback TCP relay whose connections the test can cut, like a network drop. */
async function relay(targetPort: number) {
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((inbound) => {
    const outbound = connect({ host: '127.0.0.1', port: targetPort });
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.pipe(outbound).pipe(inbound);
    const drop = () => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    inbound.on('error', drop).on('close', drop);
    outbound.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const cut = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  cleanups.push(
    () =>
      new Promise<void>((r) => {
        cut();
        server.close(() => r());
      }),
  );
  return { port: (server.address() as AddressInfo).port, cut };
}

describe.skipIf(skipAll)(`Mosquitto${skipNote}`, () => {
  it('connect/mqtt5-online-and-will: MQTT 5 without fallback, retained online, will on a dropped connection', async () => {
    const m = await broker();
    const r = await relay(m.port);
    const { conn, sink } = connection(`mqtt://127.0.0.1:${r.port}`);
    await conn.start();
    expect(conn.connected).toBe(true);
    expect(conn.protocolVersion).toBe(5);
    expect(sink.text()).toContain('(MQTT 5)');
    expect(sink.text()).not.toContain('does not accept MQTT 5');

    const obs = await observe(m.url, [AVAIL]);
    await until(() => obs.seen.length === 1, 'retained online');
    expect(obs.seen[0]).toMatchObject({ topic: AVAIL, payload: 'online', retain: true });

    // Cut the TCP path without a DISCONNECT: Mosquitto publishes the will, then the agent reconnects.
    r.cut();
    await until(() => obs.seen.length >= 3, 'offline (will) then online');
    expect(obs.seen.slice(0, 3).map((s) => s.payload)).toEqual(['online', 'offline', 'online']);

    await conn.stop();
    await until(() => obs.seen.at(-1)?.payload === 'offline', 'offline on stop');
  });

  it('mqtt5/request-response: responseTopic and correlationData are visible and round-trip', async () => {
    const m = await broker();
    const { conn } = connection(m.url);
    const requests: IncomingMessage[] = [];
    conn.subscribe('dw-test/command/+', (msg) => {
      requests.push(msg);
      if (msg.responseTopic) {
        conn.publish(msg.responseTopic, '{"ok":true}', { correlationData: msg.correlationData });
      }
    });
    await conn.start();
    expect(conn.protocolVersion).toBe(5);

    const obs = await observe(m.url, ['dw-test/reply/#']);
    const correlation = Buffer.from([0x00, 0x01, 0xfe, 0xff, 0x42]);
    await obs.client.publishAsync('dw-test/command/sync', '', {
      qos: 1,
      properties: { responseTopic: 'dw-test/reply/abc', correlationData: correlation },
    });
    await until(() => obs.seen.length === 1, 'the reply');
    expect(requests[0]).toMatchObject({
      topic: 'dw-test/command/sync',
      retain: false,
      responseTopic: 'dw-test/reply/abc',
    });
    expect(requests[0]?.correlationData?.equals(correlation)).toBe(true);
    expect(obs.seen[0]?.topic).toBe('dw-test/reply/abc');
    expect(obs.seen[0]?.payload).toBe('{"ok":true}');
    expect(Buffer.from(obs.seen[0]?.packet.properties?.correlationData ?? []).equals(correlation)).toBe(true);
  });

  it.skipIf(!mosquittoPasswdAvailable())(
    'auth/password: the right login connects; a wrong one is refused with a clear log and no password',
    async () => {
      const m = await broker({ users: { ddns: 'right-pass-4821' } });
      const good = connection(m.url, { username: 'ddns', password: 'right-pass-4821' });
      await good.conn.start();
      expect(good.conn.connected).toBe(true);

      const bad = connection(m.url, { username: 'ddns', password: 'wrong-pass-7734', connectWaitMs: 600 });
      await bad.conn.start();
      expect(bad.conn.connected).toBe(false);
      const warns = bad.sink.lines().filter((l) => l.level === 'warn');
      expect(warns).toHaveLength(1);
      expect(String(warns[0]?.msg)).toMatch(/refused the login .*check mqtt_username and mqtt_password/);
      expect(bad.sink.text()).not.toContain('wrong-pass-7734');
      expect(good.sink.text()).not.toContain('right-pass-4821');
    },
  );

  it.skipIf(!opensslAvailable())(
    `tls/ca-file${opensslAvailable() ? '' : ' (skipped: no openssl CLI to generate the test CA)'}: mqtts:// with mqtt_ca_file connects; without the CA the handshake fails and names mqtt_ca_file`,
    async () => {
      const m = await broker({ tls: true });
      expect(m.url).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
      const good = connection(m.url, { caFile: m.caFile });
      await good.conn.start();
      expect(good.conn.connected).toBe(true);
      expect(good.conn.protocolVersion).toBe(5);

      const obs = await observe(m.url, [AVAIL], { ca: readFileSync(m.caFile ?? '') });
      await until(() => obs.seen.length === 1, 'online over TLS');

      const bad = connection(m.url, { connectWaitMs: 600 });
      await bad.conn.start();
      expect(bad.conn.connected).toBe(false);
      const warns = bad.sink.lines().filter((l) => l.level === 'warn');
      expect(warns).toHaveLength(1);
      expect(String(warns[0]?.msg)).toMatch(/TLS handshake .* check mqtt_ca_file/);
    },
  );

  it('oversize/mqtt-3.1.1: a 250 MB command is skipped unread, answered ok=false, and the session stays up', async () => {
    const m = await broker();
    const world = await makeWorld({ records: ['home.example.com'] });
    cleanups.push(() => world.close());
    // The agent's own bridge on a 3.1.1 connection: MQTT 5's Maximum Packet Size does not apply, so
    // the broker forwards the whole message and only the client's guard stands in the way.
    const { conn, sink } = connection(m.url, { protocolVersion: 4 });
    const bridge = new MqttBridge({
      mqtt: conn,
      discovery: {
        ...discoveryOptionsFromConfig(
          { ...world.config, mqtt_base_topic: 'dw-test' },
          { version: '0.0.0', supportUrl: 'https://example.invalid' },
        ),
        watchdog: false,
        enabled: true,
      },
      events: world.agent.events,
      state: world.agent.state,
      status: () => world.agent.status(),
      commands: world.agent.commands,
      clock: world.clock,
      random: () => 0.5,
      logger: sink.logger,
    });
    bridge.start();
    cleanups.push(() => bridge.stop());
    await conn.start();
    expect(conn.protocolVersion).toBe(4);
    const obs = await observe(m.url, ['dw-test/command/result']);
    const seenByHandlers: IncomingMessage[] = [];
    conn.subscribe('dw-test/command/+', (msg) => seenByHandlers.push(msg));
    const cycles = world.agent.scheduler.cycles;

    const before = process.memoryUsage();
    let peak = 0;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peak = Math.max(peak, now.arrayBuffers - before.arrayBuffers, now.rss - before.rss);
    }, 5);
    cleanups.push(() => clearInterval(sampler));
    const bytes = 250 * 1024 * 1024;
    const big = await rawPublish(m.url, { topic: 'dw-test/command/sync', payloadBytes: bytes });
    cleanups.push(() => big.socket.destroy());
    expect(big.cutOff).toBe(false); // Mosquitto takes it whole (it has no limit here)
    await until(() => obs.seen.length === 1, 'the result of the oversize command', 20_000);
    clearInterval(sampler);

    expect(JSON.parse(obs.seen[0]!.payload)).toEqual({
      command: 'sync',
      ok: false,
      message: `payload is ${bytes} bytes; commands are limited to 4096 bytes`,
    });
    const got = seenByHandlers.find((msg) => msg.topic === 'dw-test/command/sync');
    expect(got?.payload.length).toBe(0);
    expect(got?.oversizeBytes).toBe(bytes);
    expect(world.agent.scheduler.cycles).toBe(cycles); // nothing was acted on
    expect(conn.connected).toBe(true);
    expect(sink.text()).not.toMatch(/Lost the connection/);
    // The 250 MB went through in pieces that were dropped as they came, never held together.
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  });

  it("oversize/broker-maximum: a message over the MQTT 5 broker's own Maximum Packet Size is not sent, and the session stays up", async () => {
    const m = await broker({ config: ['max_packet_size 20000'] });
    const obs = await observe(m.url, ['dw-test/#']);
    const { conn, sink } = connection(m.url);
    await conn.start();
    expect(conn.protocolVersion).toBe(5);
    conn.publish('dw-test/state', 'x'.repeat(30_000), { retain: true });
    conn.publish('dw-test/state', 'x'.repeat(30_000), { retain: true });
    conn.publish('dw-test/event', 'small');
    await until(() => obs.seen.some((s) => s.topic === 'dw-test/event'), 'the small message');
    expect(obs.seen.filter((s) => s.topic === 'dw-test/state')).toEqual([]);
    const warns = sink.lines().filter((l) => l.level === 'warn');
    expect(warns.map((l) => String(l.msg))).toEqual([
      expect.stringMatching(
        /^Did not publish a 300\d\d-byte message to dw-test\/state: the MQTT broker accepts at most 20000 bytes/,
      ),
    ]);
    expect(conn.connected).toBe(true);
  });

  it('websocket/ws-url: connects through a ws:// listener', async () => {
    const m = await broker({ websockets: true });
    expect(m.wsUrl).toBeDefined();
    const { conn } = connection(m.wsUrl ?? '');
    await conn.start();
    expect(conn.connected).toBe(true);
    const obs = await observe(m.url, [AVAIL]);
    await until(() => obs.seen.length === 1, 'online over WebSockets');
  });
});
