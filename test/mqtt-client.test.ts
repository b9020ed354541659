/**
 * MqttConnection and the embedded broker against in-process aedes brokers on 127.0.0.1 (port 0),
 * watched by real mqtt.js observer clients. aedes speaks MQTT 3.1.1 only, so the MQTT 5 features
 * (response topic, correlation data) are tested against Mosquitto in mosquitto.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import ts from 'typescript';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError, ConfigError } from '../src/errors.js';
import { startEmbeddedBroker } from '../src/mqtt/broker.js';
import { type IncomingMessage, MqttConnection, type MqttConnectionOptions } from '../src/mqtt/client.js';
import { MAX_PACKET_BYTES } from '../src/mqtt/packet-guard.js';
import { freePort } from './fakes/mosquitto.js';
import { logSink } from './helpers/log-sink.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const AVAIL = 'dw-test/availability';

// ───────────────────────── helpers ─────────────────────────

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

/** A plain mqtt.js client that records what it receives, in order. */
async function observe(url: string, topics: string[], extra: mqtt.IClientOptions = {}) {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 100, ...extra });
  const seen: Seen[] = [];
  client.on('message', (topic, payload, packet) => {
    seen.push({ topic, payload: payload.toString(), retain: packet.retain });
  });
  if (topics.length > 0) await client.subscribeAsync(topics, { qos: 1 });
  cleanups.push(() => client.endAsync(true));
  return { client, seen };
}

async function until(cond: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function embedded(options: { username?: string; password?: string; port?: number } = {}) {
  const sink = logSink();
  const broker = await startEmbeddedBroker({
    host: '127.0.0.1',
    port: options.port ?? 0,
    logger: sink.logger,
    ...options,
  });
  cleanups.push(() => broker.close());
  return { broker, sink, port: Number(new URL(broker.url).port) };
}

function connection(url: string, over: Partial<MqttConnectionOptions> = {}) {
  const sink = logSink(); // no scrubbing: tests check that secrets never reach the log at all
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

/** A bare aedes with as many TCP listeners as asked (so an observer can get in before the agent). */
async function rawAedes() {
  const aedes = await Aedes.createBroker();
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const listen = async (port: number): Promise<number> => {
    const server = createServer((s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      aedes.handle(s);
    });
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return (server.address() as AddressInfo).port;
  };
  const close = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all([
      ...servers.map((s) => new Promise<void>((r) => s.close(() => r()))),
      new Promise<void>((r) => aedes.close(() => r())),
    ]);
  };
  cleanups.push(close);
  return { aedes, listen, close };
}

// ───────────────────────── tests ─────────────────────────

// topicMatches and the other pure parts: test/mqtt/*.test.ts

describe('MqttConnection', () => {
  it('connect/online-retained: falls back from MQTT 5 to 3.1.1 on aedes and says so once', async () => {
    const { broker } = await embedded();
    const { conn, sink } = connection(broker.url);
    const connects: number[] = [];
    conn.onConnect(() => connects.push(Date.now()));
    const started = Date.now();
    const starting = conn.start();
    expect(conn.start()).toBe(starting); // one connection however often start() is called
    await starting;
    expect(conn.connected).toBe(true);
    expect(conn.protocolVersion).toBe(4);
    expect(Date.now() - started).toBeLessThan(1000); // the fallback retries at once, not after a backoff
    expect(connects).toHaveLength(1);
    const infos = sink.lines().map((l) => String(l.msg));
    expect(infos.filter((m) => m.includes('does not accept MQTT 5'))).toHaveLength(1);
    expect(infos.some((m) => m.includes('Connected to the MQTT broker') && m.includes('MQTT 3.1.1'))).toBe(
      true,
    );
    expect(sink.lines().filter((l) => l.level === 'warn')).toEqual([]);

    const obs = await observe(broker.url, [AVAIL]);
    await until(() => obs.seen.length > 0, 'retained online');
    expect(obs.seen[0]).toEqual({ topic: AVAIL, payload: 'online', retain: true });
  });

  it('will/process-killed: a SIGKILLed agent leaves a retained offline', async () => {
    const { broker } = await embedded();
    const dir = await transpileClientForChild();
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const child = spawn(process.execPath, [join(dir, 'child.mjs'), broker.url, AVAIL], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    });
    await until(() => out.includes('connected'), `the child to connect (output: ${out})`);
    expect(out).toContain('connected true');

    const obs = await observe(broker.url, [AVAIL]);
    await until(() => obs.seen.some((m) => m.payload === 'online'), 'online from the child');
    child.kill('SIGKILL');
    await exited;
    await until(() => obs.seen.some((m) => m.payload === 'offline'), 'the will');
    expect(obs.seen.at(-1)).toMatchObject({ topic: AVAIL, payload: 'offline' });

    // A late subscriber gets the retained will.
    const late = await observe(broker.url, [AVAIL]);
    await until(() => late.seen.length > 0, 'retained offline');
    expect(late.seen[0]).toEqual({ topic: AVAIL, payload: 'offline', retain: true });
  });

  it('will/connection-dropped: offline by will, then online again after the reconnect', async () => {
    const raw = await rawAedes();
    const port = await raw.listen(0);
    const url = `mqtt://127.0.0.1:${port}`;
    const { conn, sink } = connection(url, { protocolVersion: 4, clientId: 'agent-drop' });
    let agentSocket: { destroy(): void } | undefined;
    raw.aedes.on('clientReady', (c) => {
      if (c.id === 'agent-drop') agentSocket = c.conn;
    });
    let connects = 0;
    conn.onConnect(() => {
      connects++;
    });
    await conn.start();
    const obs = await observe(url, [AVAIL]);
    await until(() => obs.seen.length === 1, 'online');

    // Drop the agent's TCP connection on the broker side, without a DISCONNECT.
    expect(agentSocket).toBeDefined();
    agentSocket?.destroy();
    await until(() => connects === 2, 'the reconnect');
    await until(() => obs.seen.length >= 3, 'offline then online');
    expect(obs.seen.map((m) => m.payload)).toEqual(['online', 'offline', 'online']);
    expect(sink.text()).toContain('Lost the connection to the MQTT broker');
    expect(sink.text()).toContain('again after');
  });

  it('stop/offline: publishes retained offline, is idempotent, and publish is ignored afterwards', async () => {
    const { broker } = await embedded();
    const { conn, sink } = connection(broker.url, { protocolVersion: 4 });
    await conn.start();
    const obs = await observe(broker.url, [AVAIL, 'dw-test/after']);
    await until(() => obs.seen.length === 1, 'online');

    const t0 = Date.now();
    const a = conn.stop();
    const b = conn.stop();
    expect(a).toBe(b);
    await a;
    expect(Date.now() - t0).toBeLessThan(1500);
    expect(conn.connected).toBe(false);
    await until(() => obs.seen.length === 2, 'offline');
    expect(obs.seen[1]).toMatchObject({ topic: AVAIL, payload: 'offline' });

    conn.publish('dw-test/after', 'x'); // must not throw
    expect(sink.text()).toContain('MQTT connection is stopping; message not sent.');
    // A marker through the same broker: had the agent sent anything, it would be here by now.
    await obs.client.publishAsync('dw-test/after', 'marker', { qos: 1 });
    await until(() => obs.seen.some((m) => m.payload === 'marker'), 'the marker');
    expect(obs.seen.map((m) => m.payload)).toEqual(['online', 'offline', 'marker']);

    const late = await observe(broker.url, [AVAIL]);
    await until(() => late.seen.length > 0, 'retained offline');
    expect(late.seen[0]).toEqual({ topic: AVAIL, payload: 'offline', retain: true });
  });

  it('stop/never-connected: returns promptly', async () => {
    const port = await freePort();
    const { conn } = connection(`mqtt://127.0.0.1:${port}`, { connectWaitMs: 100 });
    await conn.start();
    const t0 = Date.now();
    await conn.stop();
    expect(Date.now() - t0).toBeLessThan(1500);
  });

  it('queue/broker-restart: latest retained state and the last 100 events, in order, after the broker returns', async () => {
    const first = await rawAedes();
    const port = await first.listen(0);
    const url = `mqtt://127.0.0.1:${port}`;
    const { conn, sink } = connection(url, { protocolVersion: 4 });
    const commands: IncomingMessage[] = [];
    conn.subscribe('dw-test/command/#', (m) => commands.push(m));
    await conn.start();
    expect(conn.connected).toBe(true);

    await first.close();
    await until(() => !conn.connected, 'the disconnect');

    for (let i = 0; i < 3; i++) conn.publish('dw-test/state', `state-${i}`, { retain: true });
    for (let i = 0; i < 150; i++) conn.publish('dw-test/event', `ev-${i}`);
    expect(conn.droppedWhileOffline).toBe(50);

    // The new broker: the observer gets in through a side port before the agent's port opens.
    const second = await rawAedes();
    const sidePort = await second.listen(0);
    const obs = await observe(`mqtt://127.0.0.1:${sidePort}`, ['dw-test/state', 'dw-test/event', AVAIL]);
    await second.listen(port);

    await until(
      () => obs.seen.filter((m) => m.topic === 'dw-test/event').length === 100,
      '100 events',
      10_000,
    );
    const states = obs.seen.filter((m) => m.topic === 'dw-test/state').map((m) => m.payload);
    const events = obs.seen.filter((m) => m.topic === 'dw-test/event').map((m) => m.payload);
    expect(states).toEqual(['state-2']);
    expect(events).toEqual(Array.from({ length: 100 }, (_, i) => `ev-${i + 50}`));
    // online first, then the retained state, then the events
    const order = obs.seen.map((m) => m.topic);
    expect(order.indexOf(AVAIL)).toBeLessThan(order.indexOf('dw-test/state'));
    expect(order.indexOf('dw-test/state')).toBeLessThan(order.indexOf('dw-test/event'));
    expect(conn.droppedWhileOffline).toBe(50);
    expect(sink.text()).toContain('50 event(s) were dropped while offline');
    expect(sink.lines().filter((l) => String(l.msg).includes('offline queue is full'))).toHaveLength(1);

    // Subscriptions were made again on the new broker.
    await until(() => conn.connected, 'connected');
    await obs.client.publishAsync('dw-test/command/sync', 'PRESS', { qos: 1 });
    await until(() => commands.length === 1, 'the command after the reconnect');
    expect(commands[0]).toMatchObject({ topic: 'dw-test/command/sync', retain: false });
    expect(commands[0]?.payload.toString()).toBe('PRESS');
  });

  it('subscribe/retain-flag-and-handler-isolation: retained replays are marked; a throwing handler hurts nobody', async () => {
    const { broker } = await embedded();
    const obs = await observe(broker.url, []);
    await obs.client.publishAsync('dw-test/command/probe', 'PRESS', { qos: 1, retain: true });
    const { conn, sink } = connection(broker.url, { protocolVersion: 4 });
    const got: IncomingMessage[] = [];
    const other: IncomingMessage[] = [];
    // Two handlers on one filter (one broker subscription); a throwing one does not stop the other.
    conn.subscribe('dw-test/command/+', () => {
      throw new Error('boom');
    });
    conn.subscribe('dw-test/command/+', (m) => got.push(m));
    conn.subscribe('dw-test/other', (m) => other.push(m));
    await conn.start();
    await until(() => got.length === 1, 'the retained replay');
    expect(got[0]).toMatchObject({ topic: 'dw-test/command/probe', retain: true });
    expect(got[0]?.responseTopic).toBeUndefined();
    expect(got[0]?.correlationData).toBeUndefined();

    await obs.client.publishAsync('dw-test/command/sync', 'PRESS', { qos: 1 });
    await until(() => got.length === 2, 'the live message');
    expect(got[1]).toMatchObject({ topic: 'dw-test/command/sync', retain: false });
    expect(other).toEqual([]);
    expect(sink.text()).toContain('The handler for MQTT topic dw-test/command/probe failed: boom');
  });

  it('publish/wildcards-refused: + and # topics are logged, not sent, never thrown', async () => {
    const { broker } = await embedded();
    const obs = await observe(broker.url, ['#']);
    const { conn, sink } = connection(broker.url, { protocolVersion: 4 });
    await conn.start();
    await until(() => obs.seen.length === 1, 'online');
    expect(() => conn.publish('dw-test/+/state', 'x')).not.toThrow();
    expect(() => conn.publish('dw-test/#', 'x', { retain: true })).not.toThrow();
    expect(() => conn.publish('', 'x')).not.toThrow();
    conn.publish('dw-test/ok', 'fine');
    await until(() => obs.seen.some((m) => m.topic === 'dw-test/ok'), 'the good publish');
    expect(obs.seen.map((m) => m.topic)).toEqual([AVAIL, 'dw-test/ok']);
    const refusals = sink
      .lines()
      .filter((l) => l.level === 'warn' && String(l.msg).startsWith('Refused to publish'));
    expect(refusals).toHaveLength(3);
  });

  it('publish/over-the-embedded-broker-cap: a message over maxOutgoingBytes is not sent (one warning per topic), and the session stays up', async () => {
    const { broker } = await embedded();
    const obs = await observe(broker.url, ['dw-test/#']);
    const { conn, sink } = connection(broker.url, { protocolVersion: 4, maxOutgoingBytes: MAX_PACKET_BYTES });
    await conn.start();
    const big = 'x'.repeat(MAX_PACKET_BYTES);
    conn.publish('dw-test/state', big, { retain: true });
    conn.publish('dw-test/state', big, { retain: true });
    conn.publish('dw-test/event', 'small');
    await until(() => obs.seen.some((s) => s.topic === 'dw-test/event'), 'the small message');
    expect(obs.seen.filter((s) => s.topic === 'dw-test/state')).toEqual([]);
    const warns = sink.lines().filter((l) => l.level === 'warn');
    expect(warns.map((l) => String(l.msg))).toEqual([
      expect.stringMatching(
        /^Did not publish a \d+-byte message to dw-test\/state: the MQTT broker accepts at most 262144 bytes/,
      ),
    ]);
    expect(conn.connected).toBe(true);
  });

  it('receive/oversize-from-the-broker: a PUBLISH over the cap reaches the handler flagged, its payload unread', async () => {
    const { broker } = await embedded();
    // 3.1.1, as on the embedded broker: only the client's own guard stands in the way.
    const { conn } = connection(broker.url, { protocolVersion: 4, maxPacketBytes: 4096 });
    const got: IncomingMessage[] = [];
    conn.subscribe('dw-test/command/+', (msg) => got.push(msg));
    await conn.start();
    const obs = await observe(broker.url, []);
    await obs.client.publishAsync('dw-test/command/sync', 'y'.repeat(10_000), { qos: 1 });
    await obs.client.publishAsync('dw-test/command/probe', 'PRESS', { qos: 1 });
    await until(() => got.length === 2, 'both messages');
    expect(got[0]).toMatchObject({ topic: 'dw-test/command/sync', oversizeBytes: 10_000, retain: false });
    expect(got[0]?.payload.length).toBe(0);
    expect(got[1]).toMatchObject({ topic: 'dw-test/command/probe', retain: false });
    expect(got[1]?.payload.toString()).toBe('PRESS');
    expect(conn.connected).toBe(true);
  });

  it('failures/logged-once-per-outage: a closed port gives one warning however many retries', async () => {
    const port = await freePort();
    const { conn, sink } = connection(`mqtt://127.0.0.1:${port}`, { connectWaitMs: 700 });
    const t0 = Date.now();
    await conn.start();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(conn.connected).toBe(false);
    expect(sink.text()).toContain('keeps retrying in the background');
    const retries = () => sink.lines().filter((l) => l.msg === 'MQTT connection attempt failed again.');
    await until(() => retries().length >= 3, 'three more refused attempts');
    const warns = sink.lines().filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(String(warns[0]?.msg)).toMatch(
      /Cannot reach the MQTT broker at mqtt:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); check mqtt_url/,
    );
    expect(retries().every((l) => l.level === 'debug')).toBe(true);
  });

  it('backoff/doubles: attempts thin out from reconnectPeriodMs up to the cap', async () => {
    const attempts: number[] = [];
    const server = createServer((s) => {
      attempts.push(Date.now());
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    const { conn } = connection(`mqtt://127.0.0.1:${port}`, {
      protocolVersion: 4,
      reconnectPeriodMs: 50,
      maxReconnectPeriodMs: 400,
      connectWaitMs: 100,
    });
    await conn.start();
    await until(() => attempts.length >= 7, 'seven attempts');
    // Waits of 50, 100, 200, 400, 400 and 400 ms (at a fixed 50 ms every gap would be about 50 ms).
    const gaps = attempts.slice(1, 7).map((t, i) => t - attempts[i]!);
    const floors = [50, 100, 200, 400, 400, 400];
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual(floors[i]! - 5); // timers may round down by a millisecond
    });
    // The cap holds: without it the last two waits would be 800 and 1,600 ms.
    expect(gaps[4]! + gaps[5]!).toBeLessThan(1600);
  });

  it('config/ca-file-missing: ConfigError naming mqtt_ca_file', async () => {
    const { conn } = connection('mqtts://127.0.0.1:8883', { caFile: '/nonexistent/ca.pem' });
    const err = await conn.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(
      /^mqtt_ca_file \("\/nonexistent\/ca\.pem"\) cannot be read \(ENOENT\)/,
    );
  });

  it('config/bad-scheme: ConfigError naming mqtt_url without credentials', async () => {
    const { conn } = connection('http://user:hunter22@127.0.0.1:1883');
    const err = await conn.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('mqtt_url');
    expect((err as ConfigError).message).not.toContain('hunter22');
  });
});

describe('startEmbeddedBroker', () => {
  it('auth/required: right login connects, wrong password and anonymous are refused; the password is never logged', async () => {
    const password = 'br0ker-pass-9931';
    const { broker, sink: brokerLog } = await embedded({ username: 'ddns', password });

    const good = connection(broker.url, { username: 'ddns', password, protocolVersion: 4 });
    await good.conn.start();
    expect(good.conn.connected).toBe(true);

    const bad = connection(broker.url, { username: 'ddns', password: 'wrong-pass-1', connectWaitMs: 500 });
    await bad.conn.start();
    expect(bad.conn.connected).toBe(false);
    const warns = bad.sink.lines().filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(String(warns[0]?.msg)).toMatch(/refused the login .*check mqtt_username and mqtt_password/);
    expect(bad.sink.text()).not.toContain('wrong-pass-1');

    const anonymous = await mqtt.connectAsync(broker.url, { protocolVersion: 4, reconnectPeriod: 0 }).then(
      (c) => {
        cleanups.push(() => c.endAsync(true));
        return 'connected';
      },
      (e: Error & { code?: number }) => e.code,
    );
    expect(anonymous).toBe(4);

    expect(brokerLog.text()).toContain('user name and password required');
    expect(brokerLog.text()).toContain('refused a login');
    expect(brokerLog.text()).not.toContain(password);
    expect(good.sink.text()).not.toContain(password);
  });

  it('port-in-use/mqtt: reuses the broker that is already there', async () => {
    const { port } = await embedded();
    const sink = logSink();
    const second = await startEmbeddedBroker({ host: '127.0.0.1', port, logger: sink.logger });
    cleanups.push(() => second.close());
    expect(second).toMatchObject({ reused: true, url: `mqtt://127.0.0.1:${port}` });
    expect(sink.text()).toContain(
      `Port ${port} already has a broker; connecting to it instead of starting the embedded one`,
    );
    const { conn } = connection(second.url, { protocolVersion: 4 });
    await conn.start();
    expect(conn.connected).toBe(true);
  });

  it('port-in-use/not-mqtt: a clear AppError', async () => {
    const server = createServer((s) => {
      s.resume(); // read the client's EOF so the socket closes when the prober hangs up
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const port = (server.address() as AddressInfo).port;
    const err = await startEmbeddedBroker({ host: '127.0.0.1', port, logger: logSink().logger }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('BROKER_PORT_IN_USE');
    expect((err as AppError).message).toMatch(/embedded_broker_port.*mqtt_url/);
  });

  it('close/prompt: closes client sockets and frees the port', async () => {
    const { broker, port } = await embedded();
    const obs = await observe(broker.url, [], { reconnectPeriod: 0 });
    const closed = new Promise<void>((r) => obs.client.once('close', () => r()));
    const t0 = Date.now();
    await broker.close();
    await closed;
    expect(Date.now() - t0).toBeLessThan(1000);
    await broker.close(); // idempotent
    // The port is free again.
    const again = await startEmbeddedBroker({ host: '127.0.0.1', port, logger: logSink().logger });
    cleanups.push(() => again.close());
    expect(again.reused).toBe(false);
  });
});

// ───────────────────────── the child agent for the kill test ─────────────────────────

/**
 * Transpiles src/mqtt/client.ts and every file it imports at run time (followed through their
 * relative imports) into a temp folder inside node_modules/.cache (so `mqtt` and `pino` resolve
 * from the project), plus a tiny agent script. Works without a build.
 */
async function transpileClientForChild(): Promise<string> {
  const cache = join(ROOT, 'node_modules', '.cache');
  await mkdir(cache, { recursive: true });
  const dir = await mkdtemp(join(cache, 'ddns-watchdog-child-'));
  await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
  const pending = ['src/mqtt/client.ts'];
  const done = new Set<string>();
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (done.has(file)) continue;
    done.add(file);
    const source = await readFile(join(ROOT, file), 'utf8');
    const out = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    // Type-only imports are gone from the output: what is left is what runs.
    for (const m of out.outputText.matchAll(/(?:from|import)\s*['"](\.{1,2}\/[^'"]+)\.js['"]/g)) {
      pending.push(join(dirname(file), `${m[1]}.ts`));
    }
    const target = join(dir, file.replace(/\.ts$/, '.js'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, out.outputText);
  }
  await writeFile(
    join(dir, 'child.mjs'),
    `import { pino } from 'pino';
import { MqttConnection } from './src/mqtt/client.js';
const [url, availabilityTopic] = process.argv.slice(2);
const conn = new MqttConnection({
  url, availabilityTopic, clientId: 'child-agent', protocolVersion: 4, logger: pino({ level: 'silent' }),
});
await conn.start();
process.stdout.write('connected ' + conn.connected + '\\n');
setInterval(() => {}, 60_000);
`,
  );
  return dir;
}

describe('two agents with the same client id (a reconnect storm)', () => {
  it('backs off instead of reconnecting every second, and says what is wrong once', async () => {
    const { broker } = await embedded();
    const options = { clientId: 'same-id', reconnectPeriodMs: 100, maxReconnectPeriodMs: 3200 };
    const agents = [connection(broker.url, options), connection(broker.url, options)];
    const connects = agents.map(({ conn }) => {
      const times: number[] = [];
      conn.onConnect(() => times.push(Date.now()));
      return times;
    });
    const hints = (sink: ReturnType<typeof logSink>) =>
      sink
        .lines()
        .filter((l) =>
          String(l.msg).includes('another client probably uses the same mqtt_client_id (same-id)'),
        );
    await Promise.all(agents.map(({ conn }) => conn.start()));
    // Each connect of one agent takes the session from the other: wait for three of each, and the hint.
    await until(
      () => connects.every((t) => t.length >= 3) && agents.some(({ sink }) => hints(sink).length > 0),
      'three connects of each agent and the hint',
      12_000,
    );
    for (const { sink } of agents) expect(hints(sink).length).toBeLessThanOrEqual(1); // once per agent
    // Without the backoff each agent would be back 100 ms after losing the session; with it, the
    // wait before its third connect has grown to at least 4 × reconnectPeriodMs.
    for (const times of connects) {
      const [, second, third] = times as [number, number, number];
      expect(third - second).toBeGreaterThanOrEqual(400);
    }
  }, 15_000);
});
