/**
 * One lane of the crash test: the world around a spawned agent, on 127.0.0.1, that outlives each
 * agent process — a fake Cloudflare (API behind a proxy that holds writes in flight, DoH direct),
 * three IP echo services, a router that answers (a TCP port), a WAN that is down (closed ports),
 * an agent-timed HTTP plug, and a broker for the agent's MQTT face and the test's commands. The
 * state directory is the lane's: every process of the lane starts on what the last one left.
 */
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { systemClock } from '../../src/clock.js';
import { freshState, type PersistedState, persistedStateSchema } from '../../src/state/schema.js';
import { JsonFileStore, type LoadResult } from '../../src/state/store.js';
import { FakeCloudflare } from '../fakes/cloudflare.js';
import { type EchoServer, startEchoServer } from '../fakes/ip-echo.js';
import {
  connectDevice,
  endClient,
  type RecordingBroker,
  startRecordingBroker,
} from '../fakes/plugs/broker.js';
import { type FakeHttpPlug, startFakeHttpPlug } from '../fakes/plugs/http-devices.js';
import { loopbackEnv } from '../helpers/env.js';
import { logSink } from '../helpers/log-sink.js';
import { startWriteDelayProxy, type WriteDelayProxy } from '../helpers/write-delay-proxy.js';

export const CF_TOKEN = 'crash-cf-token-5b0e9d2c7a41f863';
export const RECORDS = ['home.example.com', 'vpn.example.com'];
export const BASE = 'ddns-watchdog';
/** Off time of every power cycle (the shortest allowed, so a cycle fits in a short run). */
export const OFF_SECONDS = 1;

export interface Lane {
  readonly id: number;
  readonly cf: FakeCloudflare;
  readonly proxy: WriteDelayProxy;
  readonly plug: FakeHttpPlug;
  readonly broker: RecordingBroker;
  /** The test's own MQTT client on the lane's broker (commands). */
  readonly commander: MqttClient;
  readonly stateDir: string;
  /** The address every IP source answers. */
  ip: string;
  /** Environment for the lane's agent processes. */
  env(): NodeJS.ProcessEnv;
  close(): Promise<void>;
}

async function listenRouter(): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Two closed loopback ports: the WAN targets refuse, so the WAN is down while the router answers. */
async function closedPorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const { server, port } = await listenRouter();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    ports.push(port);
  }
  return ports;
}

export async function startLane(id: number, firstIp: string): Promise<Lane> {
  const cf = await FakeCloudflare.start({ token: CF_TOKEN });
  cf.addZone('example.com');
  const proxy = await startWriteDelayProxy(cf.apiUrl);
  const ipBox = { ip: firstIp };
  const echo: EchoServer[] = await Promise.all(
    [0, 1, 2].map(() => startEchoServer(() => ({ body: ipBox.ip }))),
  );
  const plug = await startFakeHttpPlug({ clock: systemClock });
  const broker = await startRecordingBroker();
  const commander = await connectDevice(broker.url, `crash-test-${id}`);
  const router = await listenRouter();
  const wan = await closedPorts(2);
  const stateDir = mkdtempSync(join(tmpdir(), `ddnsw-crash-${id}-`));
  const env = loopbackEnv({
    STATE_DIR: stateDir,
    LOG_LEVEL: 'debug',
    CLOUDFLARE_API_TOKEN: CF_TOKEN,
    CLOUDFLARE_API_URL: proxy.apiUrl,
    DOH_URL: cf.dohUrl,
    RECORDS: RECORDS.join(','),
    IP_SOURCES: echo.map((e) => e.url).join(','),
    INTERVAL_SECONDS: '1',
    JITTER_SECONDS: '0',
    MIN_UPDATE_INTERVAL_SECONDS: '0',
    HTTP_TIMEOUT_MS: '3000',
    ROUTER_HOST: '127.0.0.1',
    ROUTER_PROBE: `tcp:${router.port}`,
    WAN_TARGETS: wan.map((p) => `127.0.0.1:${p}`).join(','),
    PROBE_INTERVAL_SECONDS: '1',
    PROBE_TIMEOUT_MS: '300',
    RECOVERY_ENABLED: 'true',
    PLUG_TYPE: 'http',
    PLUG_OFF_URL: `${plug.url}/off`,
    PLUG_ON_URL: `${plug.url}/on`,
    POWER_OFF_SECONDS: String(OFF_SECONDS),
    WAN_DOWN_AFTER_SECONDS: '10',
    BOOT_GRACE_SECONDS: '0',
    MAX_POWER_CYCLES: '100',
    POWER_CYCLE_WINDOW_HOURS: '1',
    MQTT_URL: broker.url,
  });
  const lane: Lane = {
    id,
    cf,
    proxy,
    plug,
    broker,
    commander,
    stateDir,
    get ip() {
      return ipBox.ip;
    },
    set ip(v: string) {
      ipBox.ip = v;
    },
    env: () => ({ ...env }),
    close: async () => {
      await endClient(commander);
      await Promise.all([
        proxy.close(),
        cf.close(),
        plug.close(),
        broker.close(),
        ...echo.map((e) => e.close()),
        new Promise<void>((resolve) => router.server.close(() => resolve())),
      ]);
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
  return lane;
}

/** Temp files a save left behind (`state.json.tmp-*`): the kill landed inside a save. */
export function tempFilesLeft(stateDir: string): number {
  return readdirSync(stateDir).filter((n) => n.startsWith('state.json.tmp-')).length;
}

/**
 * Loads a copy of the lane's state directory the way the agent does at start (JsonFileStore with
 * the real schema), so the check neither moves nor sweeps anything the next agent will read.
 */
export async function loadCopy(stateDir: string): Promise<LoadResult<PersistedState> & { logged: string }> {
  const copy = mkdtempSync(join(tmpdir(), 'ddnsw-crash-copy-'));
  try {
    cpSync(stateDir, copy, { recursive: true });
    const sink = logSink({ level: 'debug' });
    const store = new JsonFileStore<PersistedState>({
      dir: copy,
      schema: persistedStateSchema,
      fresh: freshState,
      logger: sink.logger,
    });
    const loaded = await store.load();
    return { ...loaded, logged: sink.text() };
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

/** Writes the lane's state (between agent processes), atomically as the agent would. */
export async function saveState(stateDir: string, state: PersistedState): Promise<void> {
  const store = new JsonFileStore<PersistedState>({
    dir: stateDir,
    schema: persistedStateSchema,
    fresh: freshState,
  });
  await store.save(state);
}
