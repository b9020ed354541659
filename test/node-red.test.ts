/**
 * The Node-RED flow users import (docs/node-red-flow.json), checked twice: statically (one tab, one
 * broker config node, the §6 topics, commands never retained) and for real: an in-process aedes
 * broker on 127.0.0.1, the agent wired to it, and Node-RED 4 (the devDependency) spawned on
 * 127.0.0.1 with the flow, its broker node rewired to the test broker.
 *
 * The flow is observed through the editor's own channel: the `/comms` WebSocket that feeds the
 * Debug sidebar (`debug` messages) and node status (`status/<id>`). The debug nodes stay as
 * shipped (sidebar on), so the test sees exactly what a user sees. The inject button is pressed
 * through the admin API (`POST /inject/<id>`), like the editor does.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mqtt from 'mqtt';
import { WebSocket } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../src/events.js';
import { startEmbeddedBroker } from '../src/mqtt/broker.js';
import type { StatusDocument } from '../src/status.js';
import { logSink } from './helpers/log-sink.js';
import { freePort } from './helpers/net.js';
import { makeWorld } from './helpers/world.js';

const ROOT = resolve(import.meta.dirname, '..');
const FLOW_FILE = join(ROOT, 'docs', 'node-red-flow.json');
const RED_JS = join(ROOT, 'node_modules', 'node-red', 'red.js');
const BASE = 'ddns-watchdog';
const DEFAULT_IP = '81.2.69.160';

interface FlowNode {
  id: string;
  type: string;
  z?: string;
  name?: string;
  wires?: string[][];
  [key: string]: unknown;
}

function loadFlow(): FlowNode[] {
  return JSON.parse(readFileSync(FLOW_FILE, 'utf8')) as FlowNode[];
}

function byName(flow: FlowNode[], type: string, name: string): FlowNode {
  const hits = flow.filter((n) => n.type === type && n.name === name);
  if (hits.length !== 1) throw new Error(`expected one ${type} node named "${name}", found ${hits.length}`);
  return hits[0]!;
}

function byTopic(flow: FlowNode[], type: 'mqtt in' | 'mqtt out', topic: string): FlowNode {
  const hits = flow.filter((n) => n.type === type && n.topic === topic);
  if (hits.length !== 1) throw new Error(`expected one ${type} node on ${topic}, found ${hits.length}`);
  return hits[0]!;
}

/** Ids of the nodes `node` sends to, on any output. */
function targets(node: FlowNode): string[] {
  return (node.wires ?? []).flat();
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function until<T>(
  get: () => T | undefined,
  what: string,
  timeoutMs: number,
  context = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${context()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('docs/node-red-flow.json (static)', () => {
  const flow = loadFlow();

  it('is an importable Node-RED flow: one "DDNS Watchdog" tab, 16-hex unique ids, every wire lands', () => {
    expect(Array.isArray(flow)).toBe(true);
    const tabs = flow.filter((n) => n.type === 'tab');
    expect(tabs).toHaveLength(1);
    expect(tabs[0]!.label).toBe('DDNS Watchdog');
    const ids = flow.map((n) => n.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
    for (const n of flow) {
      if (n.type === 'tab' || n.type === 'mqtt-broker') continue;
      expect(n.z, `${n.type} "${n.name}" is on the tab`).toBe(tabs[0]!.id);
      for (const t of targets(n)) expect(ids, `wire from ${n.type} "${n.name}"`).toContain(t);
    }
  });

  it('one broker config node "Mosquitto" at localhost:1883, used by every MQTT node', () => {
    const brokers = flow.filter((n) => n.type === 'mqtt-broker');
    expect(brokers).toHaveLength(1);
    expect(brokers[0]).toMatchObject({ name: 'Mosquitto', broker: 'localhost', port: '1883' });
    const mqttNodes = flow.filter((n) => n.type === 'mqtt in' || n.type === 'mqtt out');
    expect(mqttNodes.length).toBeGreaterThanOrEqual(4);
    for (const n of mqttNodes) expect(n.broker, `${n.type} ${String(n.topic)}`).toBe(brokers[0]!.id);
  });

  it('uses the §6 topics only; commands go out QoS 1 with retain explicitly off', () => {
    const inTopics = new Set([
      `${BASE}/state`,
      `${BASE}/availability`,
      `${BASE}/event`,
      `${BASE}/command/result`,
    ]);
    const outTopics = new Set(['sync', 'reboot', 'probe', 'recovery'].map((c) => `${BASE}/command/${c}`));
    const ins = flow.filter((n) => n.type === 'mqtt in');
    const outs = flow.filter((n) => n.type === 'mqtt out');
    for (const n of ins) expect(inTopics, `mqtt in ${String(n.topic)}`).toContain(n.topic);
    for (const n of outs) {
      expect(outTopics, `mqtt out ${String(n.topic)}`).toContain(n.topic);
      expect(n.retain, `mqtt out ${String(n.topic)} must never retain`).toBe('false');
      expect(n.qos).toBe('1');
    }
    for (const t of ['state', 'event', 'command/result']) {
      expect(byTopic(flow, 'mqtt in', `${BASE}/${t}`)).toMatchObject({ datatype: 'json', qos: '1' });
    }
    byTopic(flow, 'mqtt out', `${BASE}/command/sync`);
  });

  it('wires state → "DDNS state" + IPv4, events → a switch on payload.type, Sync DNS now → command/sync', () => {
    const state = byTopic(flow, 'mqtt in', `${BASE}/state`);
    const stateDebug = byName(flow, 'debug', 'DDNS state');
    expect(targets(state)).toContain(stateDebug.id);
    const extract = flow.find((n) => n.type === 'change' && targets(state).includes(n.id));
    expect(JSON.stringify(extract?.rules)).toContain('payload.public_ip.ipv4');

    const events = byTopic(flow, 'mqtt in', `${BASE}/event`);
    const sw = byName(flow, 'switch', 'Event type');
    expect(targets(events)).toEqual([sw.id]);
    expect(sw.property).toBe('payload.type');
    const rules = sw.rules as Array<{ t: string; v?: string }>;
    expect(sw.outputs).toBe(rules.length);
    expect(sw.wires).toHaveLength(rules.length);
    const routed = rules.filter((r) => r.t === 'eq').map((r) => r.v);
    expect(routed).toEqual(
      expect.arrayContaining([
        'ip_changed',
        'wan_down',
        'wan_restored',
        'dns_update_failed',
        'power_cycle_started',
      ]),
    );
    for (const v of routed) expect(EVENT_TYPES).toContain(v);
    for (const w of sw.wires!) {
      expect(w).toHaveLength(1);
      expect(flow.find((n) => n.id === w[0])?.type).toBe('debug');
    }
    const comments = flow.filter((n) => n.type === 'comment').map((n) => `${n.name} ${String(n.info)}`);
    expect(comments.join('\n')).toMatch(/notification/i);
    expect(comments.join('\n')).toMatch(/Mosquitto/);

    const inject = byName(flow, 'inject', 'Sync DNS now');
    expect(inject.once).toBe(false);
    expect(inject.repeat).toBe('');
    const build = flow.find((n) => n.id === targets(inject)[0])!;
    expect(targets(build)).toEqual([byTopic(flow, 'mqtt out', `${BASE}/command/sync`).id]);

    const results = byTopic(flow, 'mqtt in', `${BASE}/command/result`);
    expect(targets(results)).toEqual([byName(flow, 'debug', 'Command results').id]);
  });
});

interface DebugMessage {
  id: string;
  name?: string;
  msg: string;
  format?: string;
}

/** The editor's /comms WebSocket: debug sidebar messages and node status, as the editor gets them. */
class Editor {
  readonly debug: DebugMessage[] = [];
  readonly status = new Map<string, { fill?: string; shape?: string; text?: string }>();

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener('message', (ev) => {
      const batch = JSON.parse(String(ev.data)) as Array<{ topic: string; data: unknown }>;
      for (const { topic, data } of batch) {
        if (topic === 'debug') this.debug.push(data as DebugMessage);
        else if (topic.startsWith('status/')) this.status.set(topic.slice('status/'.length), data as never);
      }
    });
  }

  static async connect(port: number): Promise<Editor> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
    await new Promise<void>((ok, fail) => {
      ws.addEventListener('open', () => ok(), { once: true });
      ws.addEventListener('error', () => fail(new Error('cannot open the Node-RED /comms WebSocket')), {
        once: true,
      });
    });
    const editor = new Editor(ws);
    // Subscriptions are handled in order; status/# replays retained node status, so seeing one
    // proves the debug subscription before it is in place too.
    ws.send(JSON.stringify({ subscribe: 'debug' }));
    ws.send(JSON.stringify({ subscribe: 'status/#' }));
    return editor;
  }

  /** Debug sidebar output of one node, decoded (objects arrive JSON-encoded). */
  outputOf(nodeId: string): unknown[] {
    return this.debug
      .filter((d) => d.id === nodeId)
      .map((d) => (d.format === 'Object' ? JSON.parse(d.msg) : d.msg));
  }

  close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((ok) => {
      this.ws.addEventListener('close', () => ok(), { once: true });
      this.ws.close();
      setTimeout(ok, 1000).unref();
    });
  }
}

/** Node-RED 4 on 127.0.0.1 with `flow`, in a temp user dir, never reaching beyond loopback. */
async function startNodeRed(flow: FlowNode[]) {
  const userDir = await mkdtemp(join(tmpdir(), 'ddnsw-node-red-'));
  cleanups.push(() => rm(userDir, { recursive: true, force: true }));
  const uiPort = await freePort();
  const settings = {
    uiHost: '127.0.0.1',
    uiPort,
    userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    logging: { console: { level: 'info', metrics: false, audit: false } },
    // Nothing phones home: no telemetry / update check, no diagnostics endpoint, no palette
    // manager (so no `npm` at start and no catalogue download), no tours, no module installs.
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    externalModules: {
      autoInstall: false,
      palette: { allowInstall: false, allowUpdate: false, allowUpload: false },
      modules: { allowInstall: false },
    },
    editorTheme: { tours: false, palette: { catalogues: [] }, multiplayer: { enabled: false } },
  };
  // settings.js is CommonJS: make sure no package.json above the temp dir says otherwise.
  await writeFile(join(userDir, 'package.json'), '{"type":"commonjs"}\n');
  const settingsFile = join(userDir, 'settings.js');
  await writeFile(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
  await writeFile(join(userDir, 'flows.json'), JSON.stringify(flow, null, 2));

  let output = '';
  const child: ChildProcess = spawn(
    process.execPath,
    [RED_JS, '--settings', settingsFile, '--userDir', userDir, '--no-telemetry'],
    {
      cwd: userDir,
      env: { ...process.env, NODE_RED_DISABLE_TELEMETRY: '1', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d) => {
    output += String(d);
  });
  child.stderr!.on('data', (d) => {
    output += String(d);
  });
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 4000);
    await exited;
    clearTimeout(timer);
  });
  const tail = () => `\n--- Node-RED output ---\n${output.slice(-4000)}`;
  const waitLog = (re: RegExp, what: string, ms = 10_000) =>
    until(
      () => {
        if (child.exitCode !== null) throw new Error(`Node-RED exited (${child.exitCode})${tail()}`);
        return re.test(output) ? true : undefined;
      },
      what,
      ms,
      tail,
    );
  return { uiPort, waitLog, tail, output: () => output };
}

describe('docs/node-red-flow.json in a real Node-RED 4', () => {
  it('Sync DNS now → the agent runs a cycle; "Command results" and "DDNS state" show it; events are routed', async () => {
    const t0 = Date.now();
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0, logger: logSink().logger });
    cleanups.push(() => broker.close());
    const brokerPort = Number(new URL(broker.url).port);

    const world = await makeWorld({
      records: ['home.example.com'],
      mqtt: { kind: 'url', url: broker.url, source: 'config' },
    });
    cleanups.push(() => world.close());
    await world.agent.start();
    await until(() => world.agent.lastCycle ?? undefined, "the agent's first DNS cycle", 5000);

    // A plain MQTT client watching the command topic (QoS of what Node-RED publishes).
    const watcher = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => watcher.endAsync(true));
    const commands: Array<{ topic: string; payload: string; qos: number }> = [];
    watcher.on('message', (topic, payload, packet) => {
      commands.push({ topic, payload: payload.toString(), qos: packet.qos });
    });
    await watcher.subscribeAsync(`${BASE}/command/+`, { qos: 1 });

    // The flow as shipped; only the broker node is pointed at the test broker.
    const shipped = loadFlow();
    const flow = shipped.map((n) =>
      n.type === 'mqtt-broker' ? { ...n, broker: '127.0.0.1', port: String(brokerPort) } : n,
    );
    const red = await startNodeRed(flow);
    await red.waitLog(/\[info\] Started flows/, 'Started flows');
    await red.waitLog(
      new RegExp(`\\[mqtt-broker:Mosquitto\\] Connected to broker: mqtt://127\\.0\\.0\\.1:${brokerPort}`),
      'the MQTT broker node to connect',
    );
    await red.waitLog(/Server now running at http:\/\/127\.0\.0\.1:/, 'the editor server');
    const tStarted = Date.now();

    const editor = await Editor.connect(red.uiPort);
    cleanups.push(() => editor.close());
    const node = (type: string, name: string) => byName(flow, type, name).id;
    const outId = byTopic(flow, 'mqtt out', `${BASE}/command/sync`).id;
    const resultsIn = byTopic(flow, 'mqtt in', `${BASE}/command/result`).id;
    for (const id of [outId, resultsIn]) {
      await until(
        () => (editor.status.get(id)?.text?.endsWith('.connected') ? true : undefined),
        `status "connected" of node ${id}`,
        5000,
        red.tail,
      );
    }

    const press = async () => {
      const res = await fetch(`http://127.0.0.1:${red.uiPort}/inject/${node('inject', 'Sync DNS now')}`, {
        method: 'POST',
      });
      expect(res.status).toBe(200);
    };
    const resultsOf = () =>
      editor.outputOf(node('debug', 'Command results')) as Array<Record<string, unknown>>;

    // (a) + (b): press "Sync DNS now".
    const cyclesBefore = world.agent.scheduler.cycles;
    await press();
    const result = await until(() => resultsOf()[0], '"Command results" debug output', 8000, red.tail);
    expect(result).toEqual({
      command: 'sync',
      ok: true,
      message: expect.stringMatching(/^DNS sync done/),
      transaction: expect.stringMatching(/^node-red-\d{13}$/),
    });
    expect(world.agent.scheduler.cycles).toBeGreaterThan(cyclesBefore);
    expect(world.sink.lines()).toContainEqual(
      expect.objectContaining({
        command: 'sync',
        ok: true,
        msg: expect.stringMatching(/^sync command done/),
      }),
    );
    // What went over the wire: the JSON command, QoS 1, with the transaction the result echoes.
    const sent = commands.filter((c) => c.topic === `${BASE}/command/sync`);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.qos).toBe(1);
    expect(JSON.parse(sent[0]!.payload)).toEqual({ transaction: result.transaction });

    // (c): the cycle republished the state; the flow shows it, and the extracted IPv4.
    const stateOf = () => editor.outputOf(node('debug', 'DDNS state')) as StatusDocument[];
    const state = await until(() => stateOf().at(-1), '"DDNS state" debug output', 5000, red.tail);
    expect(state.public_ip.ipv4).toBe(DEFAULT_IP);
    expect(state.dns.records['home.example.com']).toMatchObject({ content: DEFAULT_IP, status: 'in_sync' });
    await until(
      () => (editor.outputOf(node('debug', 'Public IPv4')).includes(DEFAULT_IP) ? true : undefined),
      '"Public IPv4" debug output',
      5000,
      red.tail,
    );

    // Events: a new IP, another press → ip_changed lands on "IP changed", dns_updated on "Other events".
    world.setIp('81.2.69.177');
    await press();
    await until(() => (resultsOf().length >= 2 ? true : undefined), 'the second result', 8000, red.tail);
    expect(resultsOf()[1]).toMatchObject({
      command: 'sync',
      ok: true,
      message: 'DNS sync done: 1 change(s) made',
    });
    const changed = await until(
      () => editor.outputOf(node('debug', 'IP changed'))[0] as Record<string, unknown> | undefined,
      '"IP changed" debug output',
      5000,
      red.tail,
    );
    expect(changed).toMatchObject({ type: 'ip_changed', family: 'ipv4', new: '81.2.69.177' });
    const others = await until(
      () => {
        const o = editor.outputOf(node('debug', 'Other events')) as Array<Record<string, unknown>>;
        return o.some((e) => e.type === 'dns_updated') ? o : undefined;
      },
      '"Other events" debug output',
      5000,
      red.tail,
    );
    expect(others.map((e) => e.type)).not.toContain('ip_changed');
    await until(
      () => (stateOf().some((s) => s.public_ip.ipv4 === '81.2.69.177') ? true : undefined),
      'the new IP in "DDNS state"',
      5000,
      red.tail,
    );

    // Nothing the flow published was retained: a fresh subscriber gets no command replayed.
    const late = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
    cleanups.push(() => late.endAsync(true));
    const replayed: string[] = [];
    late.on('message', (topic, _p, packet) => {
      if (packet.retain) replayed.push(topic);
    });
    await late.subscribeAsync(`${BASE}/command/#`, { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    expect(replayed).toEqual([]);
    // No error from any node of the flow.
    expect(red.output()).not.toMatch(/\[error\]/);

    console.info(
      `node-red e2e: setup+start ${tStarted - t0} ms, presses and checks ${Date.now() - tStarted} ms`,
    );
  }, 30_000);
});
